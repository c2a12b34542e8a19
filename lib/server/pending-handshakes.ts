import type { Refusal } from './handshake.js';

/** A handshake waiting for its handler to accept or refuse. */
export interface PendingHandshake {
  /** When it started (`performance.now()`). */
  readonly openedAt: number;
  refuse(refusal: Refusal): void;
}

const TIMED_OUT: Refusal = { status: 503, body: 'The WebSocket handshake timed out' };

/**
 * Handshakes not yet answered, so shutdown can refuse them and none can stay open forever: a
 * handler (or middleware) that neither accepts nor refuses within `timeout` ms is answered with
 * HTTP 503. One sweeping timer, running only while handshakes are pending.
 */
export class PendingHandshakes<T extends PendingHandshake> {
  readonly #items = new Set<T>();
  readonly #timeout: number | false;
  #sweeper: NodeJS.Timeout | undefined;

  constructor(timeout: number | false) {
    this.#timeout = timeout;
  }

  add(handshake: T): void {
    this.#items.add(handshake);
    const timeout = this.#timeout;
    if (timeout !== false && this.#sweeper === undefined) {
      this.#sweeper = setInterval(() => this.#sweep(timeout), Math.min(timeout / 4, 1000));
      this.#sweeper.unref();
    }
  }

  delete(handshake: T): void {
    this.#items.delete(handshake);
    // No timer outlives the last pending handshake.
    if (this.#items.size === 0 && this.#sweeper !== undefined) {
      clearInterval(this.#sweeper);
      this.#sweeper = undefined;
    }
  }

  /** Answers every pending handshake with `refusal`. */
  refuseAll(refusal: Refusal): void {
    for (const handshake of this.#items) handshake.refuse(refusal);
  }

  #sweep(timeout: number): void {
    const deadline = performance.now() - timeout;
    for (const handshake of this.#items) {
      if (handshake.openedAt <= deadline) handshake.refuse(TIMED_OUT);
    }
    if (this.#items.size === 0) {
      clearInterval(this.#sweeper);
      this.#sweeper = undefined;
    }
  }
}
