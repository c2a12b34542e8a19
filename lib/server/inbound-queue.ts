import type { ClientMessage } from '../messages.js';

/**
 * Client messages that arrived before the handler asked for them, with their size, so the
 * transport can stop reading from a client that outpaces its handler (flow control).
 */
export class InboundQueue {
  #bytes = 0;
  #items: ClientMessage[] = [];
  #sizes: number[] = [];
  #head = 0;

  /** Bytes of queued data messages. */
  get bytes(): number {
    return this.#bytes;
  }

  get length(): number {
    return this.#items.length - this.#head;
  }

  push(message: ClientMessage, size: number): void {
    this.#items.push(message);
    this.#sizes.push(size);
    this.#bytes += size;
  }

  /** The oldest message, or undefined when empty. */
  shift(): ClientMessage | undefined {
    const head = this.#head;
    if (head === this.#items.length) return undefined;
    const message = this.#items[head] as ClientMessage;
    this.#bytes -= this.#sizes[head] as number;
    // Advance a head index instead of Array#shift (O(n) on long queues); compact when drained.
    if (head + 1 === this.#items.length) {
      this.#items.length = 0;
      this.#sizes.length = 0;
      this.#head = 0;
    } else {
      this.#items[head] = undefined as unknown as ClientMessage;
      this.#head = head + 1;
    }
    return message;
  }
}
