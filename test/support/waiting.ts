/** Waiting in tests: for a condition, for a value handed in from elsewhere, for recorded items. */
import { EventEmitter, once } from 'node:events';

/**
 * Resolves once `done()` holds, checked now and then after each `event` of `emitter` when one is
 * given (bounded by the test's timeout), else every few milliseconds until `ms` have passed.
 */
export async function until(
  done: () => boolean,
  options: { emitter?: EventEmitter; event?: string; ms?: number } = {},
): Promise<void> {
  const { emitter, event, ms = 5000 } = options;
  if (emitter !== undefined && event !== undefined) {
    while (!done()) await once(emitter, event);
    return;
  }
  const deadline = Date.now() + ms;
  while (!done()) {
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** A promise settled from outside: for handing signals into and out of handlers. */
export interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
  reject(error: unknown): void;
}

export function deferred<T = void>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Things a handler reports, in order, with a way to wait for them. */
export class Recorder<T = unknown> {
  readonly list: T[] = [];
  readonly #events = new EventEmitter();

  add(item: T): void {
    this.list.push(item);
    this.#events.emit('add');
  }

  /** Resolves once at least `count` items were recorded. */
  async atLeast(count: number): Promise<T[]> {
    while (this.list.length < count) await once(this.#events, 'add');
    return this.list;
  }

  /** The first item (waits for it). */
  async first(): Promise<T> {
    await this.atLeast(1);
    return this.list[0] as T;
  }
}

/** One turn of the event loop. */
export function tick(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
