import type { AppMessage, ClientMessage, Transport } from '../../lib/index.js';

/** An in-memory transport: the test plays the client by pushing messages and reading `sent`. */
export class MemoryTransport implements Transport {
  /** What the application sent, in order. */
  readonly sent: AppMessage[] = [];
  /** How many times the core read from the transport. */
  reads = 0;
  /** When set, the next `send` fails like a broken connection. */
  failSends: Error | undefined;
  readonly #inbox: ClientMessage[] = [];
  readonly #waiters: ((message: ClientMessage) => void)[] = [];

  /** Queues client messages (a `connect` is not implied). */
  push(...messages: ClientMessage[]): this {
    for (const message of messages) {
      const waiter = this.#waiters.shift();
      if (waiter) waiter(message);
      else this.#inbox.push(message);
    }
    return this;
  }

  /** Client messages not yet read by the core. */
  get unread(): number {
    return this.#inbox.length;
  }

  receive(): Promise<ClientMessage> {
    this.reads++;
    const message = this.#inbox.shift();
    if (message) return Promise.resolve(message);
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  async send(message: AppMessage): Promise<void> {
    if (this.failSends) throw this.failSends;
    this.sent.push(message);
  }
}
