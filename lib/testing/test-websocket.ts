import type { IncomingHttpHeaders } from 'node:http';
import type { JsonOptions } from '../json.js';
import type { CloseInfo } from './inbox.js';

/**
 * The client side of a WebSocket connection to an app, from `connect()` in `wsgate/testing`:
 * the handshake was accepted. Sends resolve once the frame is written to the connection; every
 * receive waits at most the `timeout` given to `connect()`.
 */
export interface TestWebSocket {
  /** The subprotocol the server chose, or `undefined` when it chose none. */
  readonly subprotocol: string | undefined;
  /** The headers of the server's 101 response (a plain object, lower-case names). */
  readonly headers: IncomingHttpHeaders;
  /**
   * Resolves with the close code and reason the server sent (1006 if the connection broke),
   * however the connection ends, once both of its ends have closed: the server's within
   * `timeout` ms, as a server that stopped reading (flow control) cannot see the end and, as
   * over TCP, stays open until its heartbeat or a shutdown ends it.
   */
  readonly closed: Promise<CloseInfo>;

  /** Sends one text message; resolves once it is written to the connection. */
  sendText(text: string): Promise<void>;

  /** Sends one binary message; resolves once it is written to the connection. */
  sendBytes(bytes: Uint8Array): Promise<void>;

  /**
   * Sends `value` as JSON: in a text frame (`mode: 'text'`, the default) or as UTF-8 bytes in a
   * binary frame (`'binary'`). A value JSON cannot represent rejects with `TypeError`, unsent.
   */
  sendJson(value: unknown, options?: JsonOptions): Promise<void>;

  /**
   * The next message, which must be a text one: a binary message rejects with a `TypeError`
   * (and is consumed). Waits at most `timeout` ms, then rejects with an error saying so; a
   * message arriving later is kept for the next receive. Rejects with `WebSocketDisconnect`
   * once the connection is closed and every message sent before the close was received.
   */
  receiveText(): Promise<string>;

  /** As {@link receiveText}, for a binary message. */
  receiveBytes(): Promise<Buffer>;

  /**
   * The next message parsed as JSON, from a text frame (`mode: 'text'`, the default) or a binary
   * one (`'binary'`); the other kind rejects with a `TypeError`, invalid JSON with a
   * `SyntaxError`, both consuming the message. An invalid `mode` rejects before receiving.
   * Waits and ends as {@link receiveText}.
   */
  receiveJson<T = unknown>(options?: JsonOptions): Promise<T>;

  /**
   * Closes the connection with `code` and `reason` (an invalid code, or a reason over 123
   * bytes, rejects and sends nothing) and resolves with the server's answer when the closing
   * handshake is done, as {@link closed}. A server that does not answer within `timeout` ms is
   * disconnected (1006). Once the connection is closing or closed, it resolves as
   * {@link closed} does.
   */
  close(code?: number, reason?: string): Promise<CloseInfo>;
}
