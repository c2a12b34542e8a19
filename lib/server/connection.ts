import { WebSocket } from 'ws';

/** What a connection tells the transport it belongs to. */
export interface ConnectionEvents {
  /** A message from the client. */
  received(data: Buffer, isBinary: boolean): void;
  /** The connection closed (`ws` reports 1006 for an abrupt end or a protocol violation). */
  closed(code: number, reason: Buffer): void;
  /** A protocol violation, an oversized message or a reset: `closed` follows. */
  failed(error: Error): void;
  /** The client answered a ping. */
  ponged(): void;
}

/**
 * The `ws` connection under a wsgate socket: `ws` makes it (it is the server's `WebSocket`
 * option) and it hands the events wsgate reads straight to its transport. Listeners instead would
 * add a listener table to every connection and a property to find the transport by, and cost four
 * `on()` calls per handshake. Other events (`open`, `ping`) go to listeners as usual.
 */
export class Connection extends WebSocket {
  /** Set when the handshake completes, before any event. */
  events: ConnectionEvents | undefined = undefined;

  // `ws` emits these with at most two arguments.
  override emit(event: string | symbol, a?: unknown, b?: unknown): boolean {
    const events = this.events;
    if (events === undefined) return super.emit(event, a, b);
    switch (event) {
      case 'message':
        events.received(a as Buffer, b as boolean);
        return true;
      case 'close':
        events.closed(a as number, b as Buffer);
        return true;
      case 'error':
        events.failed(a as Error);
        return true;
      case 'pong':
        events.ponged();
        return true;
      default:
        return super.emit(event, a, b);
    }
  }
}
