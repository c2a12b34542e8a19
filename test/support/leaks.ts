/**
 * Leak checks for fault tests: ref'd handles (`process.getActiveResourcesInfo()`), timers created
 * while watching that are still scheduled (unref'd ones included, which the first check cannot
 * see), and the listeners on long-lived emitters (the HTTP server, `process`).
 */

import type { EventEmitter } from 'node:events';
import { promisify } from 'node:util';

type TimerFunction = typeof setTimeout | typeof setInterval;

/** Counts of `process.getActiveResourcesInfo()` by type. */
export function activeResources(): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const type of process.getActiveResourcesInfo()) counts[type] = (counts[type] ?? 0) + 1;
  return counts;
}

/** Listener counts of `emitter`, by event. */
export function listenerCounts(emitter: EventEmitter): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const event of emitter.eventNames()) {
    counts[String(event)] = emitter.listenerCount(event);
  }
  return counts;
}

/** Whether a timer was cleared or has fired for good (Node marks both `_destroyed`). */
function isDone(timer: NodeJS.Timeout): boolean {
  return (timer as unknown as { _destroyed: boolean })._destroyed;
}

interface Watched {
  timer: NodeJS.Timeout;
  kind: string;
  stack: string;
}

/**
 * Records every `setTimeout`/`setInterval` made while it runs (through the globals, which wsgate
 * and `ws` use), so a test can list those still scheduled afterwards, unref'd or not.
 */
export class TimerWatch {
  readonly #timers: Watched[] = [];
  #restore: (() => void) | undefined;

  start(): void {
    const timers = this.#timers;
    const wrap = <F extends TimerFunction>(original: F, kind: string): F => {
      const wrapped = function (this: unknown, ...args: unknown[]) {
        const timer = (original as (...a: unknown[]) => NodeJS.Timeout).apply(this, args);
        timers.push({ timer, kind, stack: new Error().stack ?? '' });
        // Keep only live ones, so watching a long scenario holds no memory of its own.
        if (timers.length >= 256) {
          const live = timers.filter((watched) => !isDone(watched.timer));
          timers.splice(0, timers.length, ...live);
        }
        return timer;
      };
      const custom = (original as { [promisify.custom]?: unknown })[promisify.custom];
      if (custom !== undefined) Object.assign(wrapped, { [promisify.custom]: custom });
      return wrapped as unknown as F;
    };
    const { setTimeout: originalTimeout, setInterval: originalInterval } = globalThis;
    globalThis.setTimeout = wrap(originalTimeout, 'setTimeout');
    globalThis.setInterval = wrap(originalInterval, 'setInterval');
    this.#restore = () => {
      globalThis.setTimeout = originalTimeout;
      globalThis.setInterval = originalInterval;
    };
  }

  stop(): void {
    this.#restore?.();
    this.#restore = undefined;
  }

  /** Timers made while watching that are still scheduled, with where they were made. */
  pending(): string[] {
    return this.#timers
      .filter(({ timer }) => !isDone(timer))
      .map(({ kind, stack }) => `${kind} ${stack.split('\n').slice(2, 6).join(' | ')}`);
  }
}

/** What {@link leakCheck} compares. */
export interface LeakReport {
  resources: Record<string, number>;
  listeners: Record<string, Record<string, number>>;
  pendingTimers: string[];
}

/**
 * Takes a baseline now and starts watching timers; `finish()` stops watching and returns the
 * baseline and the state now, for a deep-equal assertion.
 */
export function leakCheck(emitters: Record<string, EventEmitter>): {
  finish(): { before: LeakReport; after: LeakReport };
} {
  const snapshot = (pendingTimers: string[]): LeakReport => ({
    resources: activeResources(),
    listeners: Object.fromEntries(
      Object.entries(emitters).map(([name, emitter]) => [name, listenerCounts(emitter)]),
    ),
    pendingTimers,
  });
  const before = snapshot([]);
  const watch = new TimerWatch();
  watch.start();
  return {
    finish() {
      watch.stop();
      return { before, after: snapshot(watch.pending()) };
    },
  };
}
