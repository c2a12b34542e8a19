import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { protocolCloseCode } from '../close-code.js';
import { WebSocketDisconnect } from '../errors.js';
import {
  type AcceptMessage,
  type AppMessage,
  type ClientMessage,
  type ConnectMessage,
  type DeliveringTransport,
  SENT,
  takeMessage,
} from '../messages.js';
import { decodeText, encodeText } from '../utf8.js';
import { deliverMessage, setParams, WebSocket } from '../websocket.js';
import { Connection, type ConnectionEvents } from './connection.js';
import type { Upgrade } from './gateway.js';
import type { Refusal } from './handshake.js';
import type { HeartbeatMember } from './heartbeat.js';
import type { ServerTakeover } from './http-takeover.js';
import { InboundQueue } from './inbound-queue.js';
import type { ResolvedOptions } from './options.js';
import type { PendingHandshake } from './pending-handshakes.js';
import type { Presence, PresenceMember } from './presence.js';
import type { TopicMessage } from './pubsub.js';
import { sharedTarget, shareRepeatedHeaders } from './shared-request-strings.js';
import { type TopicMember, type Topics, topicMessage } from './topics.js';
import {
  type CompleteHandshake,
  UpgradeRequest,
  type UpgradeRequestOwner,
} from './upgrade-request.js';
import { corkForTurn, flushCorked } from './write-coalescing.js';

/** What a transport needs from the plugin instance that created it (not the plugin's API). */
export interface TransportHost {
  readonly options: ResolvedOptions;
  readonly topics: Topics;
  readonly presence: Presence;
  /** True once the plugin is shutting down: handshakes are then refused with 503. */
  readonly closing: boolean;
  readonly complete: CompleteHandshake;
  /** The connection is open (accepted). */
  opened(transport: WsTransport): void;
  /** The connection is closed. */
  closed(transport: WsTransport): void;
  /** The handshake ended without a connection (refused, released, or the client left). */
  forget(transport: WsTransport): void;
  /** Hands an error nobody else can answer to `options.onError`. */
  report(error: unknown): void;
}

/** What the transport knows of the upgrade request besides the request itself. */
export interface TransportRequest {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly head: Buffer;
  readonly takeover: ServerTakeover | undefined;
  /** The original request target (before a mount path was stripped). */
  readonly url: string | undefined;
}

const CONNECT: ConnectMessage = Object.freeze({ type: 'connect' });
const RESOLVED = Promise.resolve();
const TEXT = { binary: false };
const BINARY = { binary: true };
function gone(reason: string): Promise<never> {
  return Promise.reject(new WebSocketDisconnect(1006, reason));
}

/**
 * The transport between a {@link WebSocket} and a `ws` connection. Its {@link UpgradeRequest}
 * holds the HTTP phase until `accept`; then it is the connection: it queues inbound messages
 * (pausing the client above `receiveBuffer`), hands outbound ones to `ws` (waiting for a drain
 * above `sendBuffer`), delivers published messages and answers the heartbeat. To the adapters it
 * is an {@link Upgrade}; nothing else of it is theirs.
 */
export class WsTransport
  implements
    DeliveringTransport,
    ConnectionEvents,
    Upgrade,
    HeartbeatMember,
    TopicMember,
    PresenceMember,
    PendingHandshake
{
  /** The application's side of this connection. */
  readonly socket: WebSocket;
  readonly #host: TransportHost;
  /** The HTTP phase, until the handshake is accepted or otherwise over. */
  #request: UpgradeRequest | undefined;
  readonly #raw: Socket;
  #connection: Connection | undefined;
  /** Messages the handler has not read yet; made on the first one (an idle socket has none). */
  #queue: InboundQueue | undefined;
  #connectPending = true;
  #ended = false;
  #paused = false;
  #drain: Promise<void> | undefined;
  #topics: Set<string> | undefined;
  #memberId: string | undefined;
  #pingRound = 0;
  /** The close code `ws` sent for a protocol violation by the client, if any. */
  #violation: number | undefined;

  constructor(host: TransportHost, request: TransportRequest) {
    const { req } = request;
    this.#host = host;
    this.#raw = req.socket;
    const owner: UpgradeRequestOwner = {
      handshakeOver: () => {
        this.#request = undefined;
        this.#host.forget(this);
      },
      clientLeft: () => this.#end(1006, ''),
    };
    this.#request = new UpgradeRequest(owner, req, request.res, request.head, request.takeover);
    this.socket = new WebSocket(this, {
      url: sharedTarget(request.url),
      headers: req.headers,
      secure: 'encrypted' in req.socket && req.socket.encrypted === true,
    });
  }

  // The Upgrade the adapters see.

  get pending(): boolean {
    return this.#request?.pending ?? false;
  }

  get open(): boolean {
    return this.#connection !== undefined && !this.#ended;
  }

  answered(): Promise<void> {
    return this.#request?.answered() ?? RESOLVED;
  }

  release(): boolean {
    return this.#request?.release() ?? false;
  }

  setParams(params: Record<string, string>): void {
    setParams(this.socket, params);
  }

  report(error: unknown): void {
    this.#host.report(error);
  }

  /** Bytes of received messages the handler has not read yet. */
  get queuedBytes(): number {
    return this.#queue?.bytes ?? 0;
  }

  /** Bytes handed to `ws` and not yet written to the network. */
  get bufferedAmount(): number {
    return this.#connection?.bufferedAmount ?? 0;
  }

  // The pending handshake the gateway times out and refuses on shutdown.

  get openedAt(): number {
    return this.#request?.openedAt ?? 0;
  }

  refuse(refusal: Refusal): void {
    this.#request?.refuse(refusal);
  }

  // The transport the socket reads and writes (it never reads twice at once).

  [takeMessage](): ClientMessage | undefined {
    if (this.#connectPending) {
      this.#connectPending = false;
      return CONNECT;
    }
    const queue = this.#queue;
    const queued = queue?.shift();
    if (queue === undefined || queued === undefined) {
      // The handler is about to wait for the client: what it sent goes out first.
      if (this.#connection) flushCorked(this.#raw);
      return undefined;
    }
    if (this.#paused && queue.bytes <= this.#host.options.receiveBuffer) {
      this.#paused = false;
      this.#connection?.resume();
    }
    return queued;
  }

  send(message: AppMessage): Promise<void> {
    switch (message.type) {
      case 'send': {
        const connection = this.#connection;
        if (connection === undefined || connection.readyState !== Connection.OPEN) {
          return gone('The connection is closed');
        }
        corkForTurn(this.#raw);
        // `ws` passes a string on to the socket as it is, and a string among the chunks of a
        // corked socket sends Node's `writev` down its slow path (each string's encoding parsed,
        // the text copied into a buffer of its own). Encoded here, every chunk is a Buffer.
        if (message.text !== undefined) connection.send(encodeText(message.text), TEXT);
        else connection.send(message.bytes, BINARY);
        // A send smaller than the socket's high-water mark gets no 'drain': only wait when the
        // socket itself asked for one.
        if (
          connection.bufferedAmount > this.#host.options.sendBuffer &&
          this.#raw.writableNeedDrain
        ) {
          return this.#drained();
        }
        return SENT;
      }
      case 'accept':
        return this.#accept(message);
      case 'close':
        this.#leaveTopics();
        if (this.#connection) this.#connection.close(message.code ?? 1000, message.reason ?? '');
        else this.refuse({ status: 403, body: 'WebSocket connection refused' });
        return SENT;
    }
  }

  // Topic membership.

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

  // Presence.

  track(topic: string, key: string, meta: string): Promise<void> {
    if (this.#ended) return gone('The connection is closed');
    return this.#host.presence.track(this, topic, key, meta);
  }

  untrack(topic: string): Promise<void> {
    return this.#host.presence.untrack(this, topic);
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

  // What the connection tells it.

  received(data: Buffer, isBinary: boolean): void {
    this.#deliver(
      isBinary ? { type: 'receive', bytes: data } : { type: 'receive', text: decodeText(data) },
      data.length,
    );
  }

  closed(code: number, reason: Buffer): void {
    this.#end(code === 1006 ? (this.#violation ?? code) : code, reason.toString());
  }

  failed(error: Error): void {
    this.#violation ??= protocolCloseCode(error);
  }

  ponged(): void {
    this.#pingRound = 0;
  }

  // The plugin's side: heartbeat and shutdown, below the application's state machine.

  get pingRound(): number {
    return this.#pingRound;
  }

  ping(round: number): void {
    this.#pingRound = round;
    this.#connection?.ping();
  }

  terminate(): void {
    this.#connection?.terminate();
  }

  shutdown(code: number, reason: string): void {
    this.#connection?.close(code, reason);
  }

  #accept(message: AcceptMessage): Promise<void> {
    const request = this.#request;
    if (request === undefined || !request.pending || this.#ended) {
      return gone('The handshake was already answered or the client left');
    }
    if (this.#host.closing) {
      request.refuse({ status: 503, body: 'The server is shutting down' });
      return Promise.reject(new WebSocketDisconnect(1001, 'The server is shutting down'));
    }
    this.#request = undefined;
    const taken = request.accept(message, this.#host.complete, (connection) =>
      this.#open(connection),
    );
    if (taken === undefined) {
      // Nothing was changed: the handshake is as it was.
      this.#request = request;
      return gone('The handshake was already answered or the client left');
    }
    if (this.#connection) return SENT;
    // `ws` found the socket gone and destroyed it.
    this.#host.forget(this);
    this.#end(1006, '');
    return gone('The client left during the handshake');
  }

  #open(connection: Connection): void {
    shareRepeatedHeaders(this.socket.headers);
    connection.events = this;
    this.#connection = connection;
    this.#host.opened(this);
  }

  /** A message from the client: to the socket's waiting read, else to the queue. */
  #deliver(message: ClientMessage, size: number): void {
    if (deliverMessage(this.socket, message)) return;
    this.#queue ??= new InboundQueue();
    const queue = this.#queue;
    queue.push(message, size);
    if (!this.#paused && queue.bytes > this.#host.options.receiveBuffer) {
      this.#paused = true;
      this.#connection?.pause();
    }
  }

  /** The connection is gone: queue the `disconnect` after what is still unread. */
  #end(code: number, reason: string): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#leaveTopics();
    this.#host.presence.leaveAll(this);
    if (this.#connection) this.#host.closed(this);
    this.#deliver({ type: 'disconnect', code, reason }, 0);
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
