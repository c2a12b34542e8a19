import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { WebSocket as Connection } from 'ws';
import { WebSocketDisconnect } from '../errors.js';
import type {
  AcceptMessage,
  AppMessage,
  ClientMessage,
  ConnectMessage,
  Transport,
} from '../messages.js';
import type { WebSocket } from '../websocket.js';
import type { Refusal } from './handshake.js';
import type { HeartbeatMember } from './heartbeat.js';
import { finishUpgradeResponse, respond, type ServerTakeover } from './http-takeover.js';
import { InboundQueue } from './inbound-queue.js';
import type { ResolvedOptions } from './options.js';
import type { PendingHandshake } from './pending-handshakes.js';
import type { TopicMessage } from './pubsub.js';
import { type TopicMember, type Topics, topicMessage } from './topics.js';
import { corkForTurn } from './write-coalescing.js';

/** What a transport needs from the plugin instance that created it. */
export interface TransportHost {
  readonly options: ResolvedOptions;
  /** The plugin's topics. */
  readonly topics: Topics;
  /** True once the plugin is shutting down: handshakes are then refused with 503. */
  readonly closing: boolean;
  /** Completes the handshake with `ws`; calls `done` synchronously unless the socket is gone. */
  handshake(
    req: IncomingMessage,
    socket: Socket,
    head: Buffer,
    accept: AcceptMessage,
    done: (connection: Connection) => void,
  ): void;
  /** The connection is open (accepted). */
  opened(transport: WsTransport): void;
  /** The connection is closed. */
  closed(transport: WsTransport): void;
  /** The handshake ended without a connection (refused, or the client left). */
  forget(transport: WsTransport): void;
}

const CONNECT: ConnectMessage = Object.freeze({ type: 'connect' });
const RESOLVED = Promise.resolve();
const TEXT = { binary: false };
const BINARY = { binary: true };
const kTransport = Symbol('wsgate.transport');

type TaggedConnection = Connection & { [kTransport]: WsTransport };

function gone(reason: string): Promise<never> {
  return Promise.reject(new WebSocketDisconnect(1006, reason));
}

function ignore(): void {}

// Shared listeners (no closure per connection): `this` is the `ws` connection.
function onMessage(this: Connection, data: Buffer, isBinary: boolean): void {
  (this as TaggedConnection)[kTransport].deliver(
    isBinary ? { type: 'receive', bytes: data } : { type: 'receive', text: data.toString() },
    data.length,
  );
}

function onClose(this: Connection, code: number, reason: Buffer): void {
  const transport = (this as TaggedConnection)[kTransport];
  transport.end(code === 1006 ? (transport.violation ?? code) : code, reason.toString());
}

/**
 * The close code `ws` sends when the client breaks the protocol. `ws` then reports 1006 on the
 * server side (it stops reading before the client's reply), so the handler would not learn why.
 */
function protocolCloseCode(error: Error & { code?: string }): number | undefined {
  const code = error.code;
  if (code === undefined || !code.startsWith('WS_ERR_')) return undefined;
  if (code === 'WS_ERR_INVALID_UTF8') return 1007;
  if (
    code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH' ||
    code === 'WS_ERR_UNSUPPORTED_DATA_PAYLOAD_LENGTH'
  ) {
    return 1009;
  }
  return 1002;
}

function onError(this: Connection, error: Error): void {
  const transport = (this as TaggedConnection)[kTransport];
  transport.violation ??= protocolCloseCode(error);
}

function onPong(this: Connection): void {
  (this as TaggedConnection)[kTransport].pingSentAt = 0;
}

const kWatched = Symbol('wsgate.watched');
const kWriteHead = Symbol('wsgate.writeHead');
type WatchedResponse = ServerResponse & {
  [kWatched]?: WsTransport;
  [kWriteHead]?: ServerResponse['writeHead'];
};

/**
 * Whoever starts writing the HTTP response to an upgrade request (middleware refusing it, the
 * framework's 404 or error handler) answers the handshake: the transport lets go of it, so the
 * handshake timeout or a shutdown cannot write a second response over it. `writeHead` is where
 * every response starts (Node calls it for implicit headers too); the hook wraps whatever
 * `writeHead` the response has, as `on-headers` does.
 */
function watchResponse(res: ServerResponse, transport: WsTransport): void {
  const watched = res as WatchedResponse;
  watched[kWatched] = transport;
  watched[kWriteHead] = res.writeHead;
  watched.writeHead = watchedWriteHead as ServerResponse['writeHead'];
}

// Shared by every watched response (no closure per handshake).
function watchedWriteHead(this: WatchedResponse, ...args: unknown[]): ServerResponse {
  this[kWatched]?.release();
  this[kWatched] = undefined;
  return (this[kWriteHead] as (...args: unknown[]) => ServerResponse).apply(this, args);
}

/**
 * The transport between a {@link WebSocket} and a `ws` connection, made from an upgrade request.
 * Until `accept` it holds the HTTP request and response (to refuse with any HTTP response); on
 * `accept` it takes the socket from the HTTP server and lets `ws` complete the handshake; then it
 * queues inbound messages (pausing the client above `receiveBuffer`) and hands outbound ones to
 * `ws` (waiting for a drain above `sendBuffer`).
 */
export class WsTransport implements Transport, HeartbeatMember, TopicMember, PendingHandshake {
  /** The application's side of this connection (set by whoever creates the pair). */
  socket!: WebSocket;
  pingSentAt = 0;
  /** When the upgrade request arrived (`performance.now()`), for the handshake timeout. */
  readonly openedAt = performance.now();
  /** The innermost `runHandler` running on this connection: it owns closing it. */
  owner: symbol | undefined;
  /** The close code sent for a protocol violation by the client, if any. */
  violation: number | undefined;

  readonly #host: TransportHost;
  #req: IncomingMessage | undefined;
  #res: ServerResponse | undefined;
  readonly #head: Buffer;
  #raw: Socket;
  /** What the HTTP server still holds of the socket (request path only; holds req and res). */
  #takeover: ServerTakeover | undefined;
  #connection: Connection | undefined;
  readonly #queue = new InboundQueue();
  #waiter: ((message: ClientMessage) => void) | undefined;
  #connectPending = true;
  #ended = false;
  #paused = false;
  #drain: Promise<void> | undefined;
  #topics: Set<string> | undefined;
  #answered: Promise<void> | undefined;
  #onAnswered: (() => void) | undefined;
  #memberId: string | undefined;
  readonly #onRawClose = (): void => this.end(1006, '');

  constructor(
    host: TransportHost,
    req: IncomingMessage,
    res: ServerResponse,
    head: Buffer,
    takeover: ServerTakeover | undefined,
  ) {
    this.#host = host;
    this.#req = req;
    this.#res = res;
    this.#head = head;
    this.#takeover = takeover;
    this.#raw = req.socket;
    // Until `ws` owns the socket: notice a client that leaves, and never let a reset crash us
    // (on the `upgrade` path Node has removed its own error listener).
    this.#raw.on('close', this.#onRawClose);
    this.#raw.on('error', ignore);
    watchResponse(res, this);
  }

  /** Bytes of received messages the handler has not read yet. */
  get queuedBytes(): number {
    return this.#queue.bytes;
  }

  /** Bytes handed to `ws` and not yet written to the network. */
  get bufferedAmount(): number {
    return this.#connection?.bufferedAmount ?? 0;
  }

  receive(): Promise<ClientMessage> {
    if (this.#connectPending) {
      this.#connectPending = false;
      return Promise.resolve(CONNECT);
    }
    const queued = this.#queue.shift();
    if (queued === undefined) {
      return new Promise((resolve) => {
        this.#waiter = resolve;
      });
    }
    if (this.#paused && this.#queue.bytes <= this.#host.options.receiveBuffer) {
      this.#paused = false;
      this.#connection?.resume();
    }
    return Promise.resolve(queued);
  }

  send(message: AppMessage): Promise<void> {
    switch (message.type) {
      case 'send': {
        const connection = this.#connection;
        if (connection === undefined || connection.readyState !== Connection.OPEN) {
          return gone('The connection is closed');
        }
        corkForTurn(this.#raw);
        connection.send(message.text ?? message.bytes);
        // A send smaller than the socket's high-water mark gets no 'drain': only wait when the
        // socket itself asked for one.
        if (
          connection.bufferedAmount > this.#host.options.sendBuffer &&
          this.#raw.writableNeedDrain
        ) {
          return this.#drained();
        }
        return RESOLVED;
      }
      case 'accept':
        return this.#accept(message);
      case 'close':
        this.#leaveTopics();
        if (this.#connection) this.#connection.close(message.code ?? 1000, message.reason ?? '');
        else this.refuse({ status: 403, body: 'WebSocket connection refused' });
        return RESOLVED;
    }
  }

  /** The topics this connection is on (allocated on first use: most connections have none). */
  get topics(): Set<string> {
    this.#topics ??= new Set();
    return this.#topics;
  }

  get memberId(): string {
    this.#memberId ??= this.#host.topics.newMemberId();
    return this.#memberId;
  }

  subscribe(topic: string): Promise<void> {
    if (this.#ended) return gone('The connection is closed');
    return this.#host.topics.subscribe(this, topic);
  }

  unsubscribe(topic: string): Promise<void> {
    return this.#host.topics.unsubscribe(this, topic);
  }

  publish(topic: string, data: string | Uint8Array): Promise<void> {
    return this.#host.topics.publish(topic, topicMessage(data, this.memberId));
  }

  deliverPublished(message: TopicMessage): void {
    const connection = this.#connection;
    if (connection === undefined || connection.readyState !== Connection.OPEN) return;
    corkForTurn(this.#raw);
    connection.send(message.data, message.binary ? BINARY : TEXT);
    if (connection.bufferedAmount > this.#host.options.publishBuffer) {
      connection.close(1013, 'Subscriber too slow');
      this.#leaveTopics();
    }
  }

  /** Answers the pending handshake with an HTTP response instead of upgrading. */
  refuse(refusal: Refusal): void {
    const res = this.#res;
    if (this.release()) respond(res as ServerResponse, refusal);
  }

  /**
   * Gives up the handshake without answering it: someone else (the framework) answers the HTTP
   * request. A later `accept()` rejects; shutdown and the handshake timeout leave it alone.
   * Returns whether it was still pending.
   */
  release(): boolean {
    if (this.#res === undefined) return false;
    this.#handshakeOver();
    this.#host.forget(this);
    return true;
  }

  /** Whether the handshake is still open: neither accepted, answered nor released. */
  get pending(): boolean {
    return this.#res !== undefined;
  }

  /** Resolves once the handshake is over: accepted, answered, released, or the client left. */
  answered(): Promise<void> {
    if (this.#res === undefined) return RESOLVED;
    // One promise for every caller (Koa awaits it for the chain and for the route).
    this.#answered ??= new Promise((resolve) => {
      this.#onAnswered = resolve;
    });
    return this.#answered;
  }

  /** Closes an open connection from the server side, below the application's state machine. */
  shutdown(code: number, reason: string): void {
    this.#connection?.close(code, reason);
  }

  ping(): void {
    this.#connection?.ping();
  }

  terminate(): void {
    this.#connection?.terminate();
  }

  /** @internal A message from the client. */
  deliver(message: ClientMessage, size: number): void {
    const waiter = this.#waiter;
    if (waiter !== undefined) {
      this.#waiter = undefined;
      waiter(message);
      return;
    }
    this.#queue.push(message, size);
    if (!this.#paused && this.#queue.bytes > this.#host.options.receiveBuffer) {
      this.#paused = true;
      this.#connection?.pause();
    }
  }

  /** @internal The connection is gone: queue the `disconnect` after what is still unread. */
  end(code: number, reason: string): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#handshakeOver();
    this.#raw.removeListener('close', this.#onRawClose);
    this.#leaveTopics();
    if (this.#connection) this.#host.closed(this);
    else this.#host.forget(this);
    this.deliver({ type: 'disconnect', code, reason }, 0);
  }

  #accept(message: AcceptMessage): Promise<void> {
    const req = this.#req;
    const res = this.#res;
    if (req === undefined || res === undefined || res.headersSent || this.#ended) {
      return gone('The handshake was already answered or the client left');
    }
    if (this.#host.closing) {
      this.refuse({ status: 503, body: 'The server is shutting down' });
      return Promise.reject(new WebSocketDisconnect(1001, 'The server is shutting down'));
    }
    const raw = this.#raw;
    if (raw.destroyed || !raw.readable || !raw.writable) return gone('The client left');
    const takeover = this.#takeover;
    this.#handshakeOver();
    raw.removeListener('close', this.#onRawClose);
    raw.removeListener('error', ignore);
    takeover?.detach();
    (res as WatchedResponse)[kWatched] = undefined;
    this.#host.handshake(req, raw, this.#head, message, (connection) => this.#open(connection));
    finishUpgradeResponse(res, raw, takeover);
    return this.#connection ? RESOLVED : gone('The client left during the handshake');
  }

  #open(connection: Connection): void {
    const tagged = connection as TaggedConnection;
    tagged[kTransport] = this;
    this.#connection = connection;
    connection.on('message', onMessage);
    connection.on('close', onClose);
    // Errors (protocol violations, oversized messages, resets) are followed by 'close'.
    connection.on('error', onError);
    if (this.#host.options.heartbeat) connection.on('pong', onPong);
    this.#host.opened(this);
  }

  /** Drops the HTTP request and response (they can be large) and wakes `answered()`. */
  #handshakeOver(): void {
    this.#req = undefined;
    this.#res = undefined;
    this.#takeover = undefined;
    const wake = this.#onAnswered;
    this.#onAnswered = undefined;
    this.#answered = undefined;
    wake?.();
  }

  #leaveTopics(): void {
    if (this.#topics?.size) this.#host.topics.leaveAll(this);
  }

  #drained(): Promise<void> {
    this.#drain ??= new Promise<void>((resolve) => {
      const raw = this.#raw;
      const done = (): void => {
        raw.removeListener('drain', done);
        raw.removeListener('close', done);
        this.#drain = undefined;
        resolve();
      };
      raw.on('drain', done);
      raw.on('close', done);
    });
    return this.#drain;
  }
}
