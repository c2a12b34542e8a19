import { WebSocketDisconnect } from '../errors.js';
import { WebSocketState } from '../state.js';
import type { Upgrade } from './gateway.js';

/**
 * The innermost `runHandler` running on each upgrade: it owns closing the connection (Koa: the
 * plugin runs the middleware chain under one, a route runs its handler under another; the chain
 * settles at the handshake, the handler later). Runs are told apart by number (no `Symbol` made
 * per run).
 */
const owners = new WeakMap<Upgrade, number>();
let runs = 0;

/** A close that fails has nobody left to tell (shared: no function made per connection). */
function ignore(): void {}

/** What to do when a handler settles without accepting or refusing. */
export type Unanswered =
  /** Refuse with HTTP 403 (a route's handler returned without accepting). */
  | 'refuse'
  /** Leave the answer to the framework (Koa hand routing: its 404 or the status middleware set). */
  | 'leave';

/**
 * Runs a route's handler and settles the connection as the contract's lifecycle table says:
 * returning while connected closes with 1000; returning unanswered refuses with 403 (or leaves
 * it to the framework); a `WebSocketDisconnect` escaping is a normal end; any other error after
 * accept closes with 1011 and goes to `onError`.
 *
 * The returned promise is the framework's: it settles as soon as the handshake is answered
 * (the HTTP exchange is over at the 101) or the handler ended before that, and rejects only with
 * an error the handler threw before accepting, for the framework's error handling (HTTP 500).
 * The handler runs on by itself; nothing here keeps the framework's request objects alive.
 */
export function runHandler(
  upgrade: Upgrade,
  handler: () => unknown,
  unanswered: Unanswered = 'refuse',
): Promise<void> {
  const owner = ++runs;
  owners.set(upgrade, owner);
  let result: unknown;
  try {
    result = handler();
  } catch (error) {
    result = Promise.reject(error);
  }
  return new Promise<void>((resolve, reject) => {
    const run = new Run(upgrade, owner, unanswered, resolve, reject);
    // Bound methods rather than arrows: an idle connection keeps these two, and arrows would
    // keep a context for `run` besides.
    upgrade.answered().then(run.answered.bind(run));
    Promise.resolve(result).then(run.returned.bind(run), run.threw.bind(run));
  });
}

/**
 * One run of a handler, waiting for it to return or throw, for as long as the connection lives:
 * so it holds only what settling needs, and lets go of the framework's promise once that has
 * settled (an `async` function awaiting the handler, raced with the handshake, held ~0.4 KB
 * more per idle connection).
 */
class Run {
  readonly #upgrade: Upgrade;
  readonly #owner: number;
  readonly #unanswered: Unanswered;
  #resolve: (() => void) | undefined;
  #reject: ((error: unknown) => void) | undefined;

  constructor(
    upgrade: Upgrade,
    owner: number,
    unanswered: Unanswered,
    resolve: () => void,
    reject: (error: unknown) => void,
  ) {
    this.#upgrade = upgrade;
    this.#owner = owner;
    this.#unanswered = unanswered;
    this.#resolve = resolve;
    this.#reject = reject;
  }

  /** The handshake is over (or the handler settled first): the framework's promise resolves. */
  answered(): void {
    this.#settle(false);
  }

  returned(): void {
    this.#after(afterReturn(this.#upgrade, this.#owner, this.#unanswered));
  }

  threw(error: unknown): void {
    this.#after(afterThrow(this.#upgrade, error));
  }

  /**
   * Rejects the framework's promise only if the handshake is still unanswered by then.
   * `undefined`: there was nothing to wait for.
   */
  #after(done: Promise<void> | undefined): void {
    if (done === undefined) {
      this.#settle(false);
      return;
    }
    done.then(
      () => this.#settle(false),
      (error: unknown) => this.#settle(true, error),
    );
  }

  /** Settles the framework's promise, the first time only: resolved, or rejected with `error`. */
  #settle(failed: boolean, error?: unknown): void {
    const resolve = this.#resolve;
    const reject = this.#reject;
    this.#resolve = undefined;
    this.#reject = undefined;
    if (failed) reject?.(error);
    else resolve?.();
  }
}

/** The handler threw (or its promise rejected). */
async function afterThrow(upgrade: Upgrade, error: unknown): Promise<void> {
  const { socket } = upgrade;
  if (socket.applicationState === WebSocketState.CONNECTING) {
    // The framework answers it (500), unless someone answered the request already. Koa
    // answers nothing for a nullish error (the handshake would hang) and Express takes a
    // falsy one for no error (404): give them an Error.
    if (upgrade.pending) {
      throw error || new Error(`wsgate: the WebSocket handler threw ${String(error)}`);
    }
    upgrade.report(error);
    return;
  }
  // A normal end when it is this socket's connection that is gone (or closing); another
  // socket's disconnect escaping while this one is still open is an error like any other.
  if (
    error instanceof WebSocketDisconnect &&
    (socket.applicationState !== WebSocketState.CONNECTED ||
      socket.clientState !== WebSocketState.CONNECTED ||
      !upgrade.open)
  ) {
    return;
  }
  if (socket.applicationState === WebSocketState.CONNECTED) {
    await socket.close(1011).catch(ignore);
  }
  upgrade.report(error);
}

/**
 * The handler returned: the close to wait for, if any. (Not `async`: most connections end here,
 * and a frame is not needed.)
 */
function afterReturn(
  upgrade: Upgrade,
  owner: number,
  unanswered: Unanswered,
): Promise<void> | undefined {
  // A nested call runs the handler: it closes the socket when the handler returns.
  if (owners.get(upgrade) !== owner) return undefined;
  const { socket } = upgrade;
  if (socket.applicationState === WebSocketState.CONNECTED) {
    return socket.close(1000).catch(ignore);
  }
  if (socket.applicationState === WebSocketState.CONNECTING && unanswered === 'refuse') {
    return socket.close().catch(ignore);
  }
  return undefined;
}
