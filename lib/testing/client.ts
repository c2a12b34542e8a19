import type { IncomingHttpHeaders } from 'node:http';
import { WebSocket as Connection } from 'ws';
import { WebSocketDisconnect } from '../errors.js';
import { decodeJson, encodeJsonAs, type JsonOptions, jsonMode } from '../json.js';
import { decodeText } from '../utf8.js';
import { type CloseInfo, type Frame, Inbox } from './inbox.js';
import type { TestWebSocket } from './test-websocket.js';

/** What connect() learnt from the handshake, and how the client waits. */
export interface ClientSetup {
  /** The request target, for messages. */
  readonly path: string;
  /** The subprotocol the server chose, if any. */
  readonly subprotocol: string | undefined;
  /** The 101's headers. */
  readonly headers: IncomingHttpHeaders;
  /** How long each receive waits, in ms. */
  readonly timeout: number;
  /** Resolves once the server's end of the in-memory connection has closed. */
  readonly serverClosed: Promise<void>;
}

/** The {@link TestWebSocket} over a `ws` client connection. */
export class Client implements TestWebSocket {
  readonly subprotocol: string | undefined;
  readonly headers: IncomingHttpHeaders;
  readonly closed: Promise<CloseInfo>;
  readonly #connection: Connection;
  readonly #inbox = new Inbox();
  readonly #path: string;
  readonly #timeout: number;

  /** Made by `connect()` when the handshake completes, before any message can arrive. */
  constructor(connection: Connection, setup: ClientSetup) {
    this.#connection = connection;
    this.subprotocol = setup.subprotocol;
    this.headers = setup.headers;
    this.#path = setup.path;
    this.#timeout = setup.timeout;
    connection.on('message', (data: Buffer, binary: boolean) => {
      this.#inbox.deliver(binary ? { binary, bytes: data } : { binary, text: decodeText(data) });
    });
    // A protocol error of the server's (bad UTF-8, an oversized frame) closes the connection
    // with its code (1007, 1009, …): receives report that code, the error adds nothing.
    connection.on('error', () => {});
    const clientClosed = new Promise<CloseInfo>((resolve) => {
      connection.once('close', (code: number, reason: Buffer) => {
        const info = { code, reason: reason.toString() };
        this.#inbox.end(info);
        resolve(info);
      });
    });
    this.closed = clientClosed.then(async (info) => {
      await within(setup.serverClosed, setup.timeout);
      return info;
    });
  }

  sendText(text: string): Promise<void> {
    return this.#send(text);
  }

  sendBytes(bytes: Uint8Array): Promise<void> {
    return this.#send(bytes);
  }

  async sendJson(value: unknown, options?: JsonOptions): Promise<void> {
    await this.#send(encodeJsonAs(value, jsonMode(options)));
  }

  async receiveText(): Promise<string> {
    return (await this.#next('receiveText()', false)).text;
  }

  async receiveBytes(): Promise<Buffer> {
    return (await this.#next('receiveBytes()', true)).bytes;
  }

  async receiveJson<T = unknown>(options?: JsonOptions): Promise<T> {
    const text =
      jsonMode(options) === 'binary'
        ? decodeText((await this.#next('receiveJson()', true)).bytes)
        : (await this.#next('receiveJson()', false)).text;
    return decodeJson<T>(text);
  }

  async close(code = 1000, reason = ''): Promise<CloseInfo> {
    if (this.#connection.readyState === Connection.OPEN) this.#connection.close(code, reason);
    return this.closed;
  }

  #send(data: string | Uint8Array): Promise<void> {
    const ended = this.#inbox.ended;
    if (ended !== undefined) {
      return Promise.reject(new WebSocketDisconnect(ended.code, ended.reason));
    }
    return new Promise((resolve, reject) => {
      this.#connection.send(data, (error) => (error ? reject(error) : resolve()));
    });
  }

  /** The next message, which must be of the given kind (else a `TypeError`, consuming it). */
  async #next<B extends boolean>(
    method: string,
    binary: B,
  ): Promise<Extract<Frame, { binary: B }>> {
    const what = `${method} on ${this.#path}`;
    const frame = await this.#inbox.next(what, this.#timeout);
    if (frame.binary !== binary) throw wrongKind(what, frame);
    return frame as Extract<Frame, { binary: B }>;
  }
}

/**
 * Waits for `promise`, at most `ms`. The server's end closes right after the client's, unless
 * it stopped reading (flow control) and so cannot see the end of the stream: then, as over TCP,
 * it stays open until the heartbeat or a shutdown ends it, and the client does not wait for it.
 */
function within(promise: Promise<void>, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    void promise.then(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/** How much of a text message a frame-kind mismatch quotes. */
const TEXT_PREVIEW = 60;

/** A test expecting one frame kind got the other: it should notice, not get a conversion. */
function wrongKind(what: string, frame: Frame): TypeError {
  if (frame.binary) {
    return new TypeError(
      `${what} expected a text message and got a binary message (${frame.bytes.length} bytes)`,
    );
  }
  const quoted = JSON.stringify(frame.text.slice(0, TEXT_PREVIEW));
  const more = frame.text.length > TEXT_PREVIEW ? '…' : '';
  return new TypeError(
    `${what} expected a binary message and got a text message: ${quoted}${more}`,
  );
}
