import { type IncomingHttpHeaders, validateHeaderName, validateHeaderValue } from 'node:http';
import { assertCloseFrame } from './close-code.js';
import { WebSocketDisconnect, WebSocketStateError } from './errors.js';
import { decodeJson, encodeJsonAs, encodeMeta, type JsonOptions, jsonMode } from './json.js';
import {
  type AcceptMessage,
  type AppMessage,
  type ClientMessage,
  type DeliveringTransport,
  type DisconnectMessage,
  type HandshakeHeaders,
  type ReceiveBytesMessage,
  type ReceiveTextMessage,
  SENT,
  type Transport,
  takeMessage,
} from './messages.js';
import { WebSocketState } from './state.js';
import { assertTopic } from './topic-name.js';
import { decodeText, encodeText } from './utf8.js';

/** What the connection knows of the upgrade request that opened it. */
export interface WebSocketInfo {
  /** The request target as the client sent it (`/path?query`); default `/`. */
  url?: string;
  /** The request headers. */
  headers?: IncomingHttpHeaders;
  /** Route parameters. */
  params?: Record<string, string>;
  /** Whether the connection came over TLS (the URL's scheme is then `wss:`). */
  secure?: boolean;
}

/** Options of {@link WebSocket.accept}. */
export interface AcceptOptions {
  /** The subprotocol to choose; it must be one the client offered. Default: none. */
  subprotocol?: string;
  /** Headers to add to the 101 response. */
  headers?: HandshakeHeaders;
}

type DataMessage = ReceiveTextMessage | ReceiveBytesMessage;
/** What a data reader gets: a data message, or the disconnect that ends the stream. */
type DataOrEnd = DataMessage | DisconnectMessage;

const { CONNECTING, CONNECTED, DISCONNECTED } = WebSocketState;
const NO_TOPICS: ReadonlySet<string> = new Set();
/** A read's outcome: the transport has nothing at hand (the read waits for a delivery). */
const WAIT = Symbol('wait');
/** A read's outcome: the message was a `connect` a data read passes over. */
const SKIP = Symbol('skip');

/** A data message as text (binary is decoded as UTF-8). */
function textOf(message: DataMessage): string {
  return message.text ?? decodeText(message.bytes);
}

/** A data message as bytes (text is encoded as UTF-8). */
function bytesOf(message: DataMessage): Buffer {
  return message.bytes ?? encodeText(message.text);
}

/** Whether `record` has any enumerable key (without making an array of them). */
function hasKeys(record: object): boolean {
  for (const _ in record) return true;
  return false;
}

/** The data, or the client's disconnect thrown as {@link WebSocketDisconnect}. */
function dataOf(message: DataOrEnd): DataMessage {
  if (message.type === 'disconnect') throw new WebSocketDisconnect(message.code, message.reason);
  return message;
}

// Between a socket and its iterators, set in their static blocks: the socket reads for an
// iterator (`readFor`), and turns the message into the iterator's result or ends it.
let readFor: <T>(
  socket: WebSocket,
  iterator: MessageIterator<T>,
) => Promise<IteratorResult<T, void>>;
let iteratorResult: <T>(
  iterator: MessageIterator<T>,
  message: DataOrEnd,
) => IteratorResult<T, void>;
let endIteration: (iterator: MessageIterator<unknown>) => void;

/** Sets a socket's route parameters (inside wsgate: the adapter's router matched). */
export let setParams: (socket: WebSocket, params: Record<string, string>) => void;

/**
 * A {@link DeliveringTransport} offers its socket a message that came: taken (true) when a read
 * is waiting for one, else left to the transport to keep.
 */
export let deliverMessage: (socket: WebSocket, message: ClientMessage) => boolean;

/**
 * One WebSocket connection as the application sees it, modelled on the ASGI/Starlette WebSocket:
 * the handshake completes only when the handler calls {@link accept}, so it can inspect, authorise
 * and refuse first. Everything is built on the low-level {@link receive}/{@link send} pair, whose
 * state machine (client and application side, each CONNECTING → CONNECTED → DISCONNECTED) rejects
 * out-of-order calls with {@link WebSocketStateError} before touching the transport.
 */
export class WebSocket {
  /** The request headers of the upgrade request. */
  readonly headers: IncomingHttpHeaders;

  readonly #transport: Transport | DeliveringTransport;
  #clientState: WebSocketState = CONNECTING;
  #applicationState: WebSocketState = CONNECTING;
  /** Made on first use when there are none (most sockets never have any). */
  #params: Record<string, string> | undefined;
  /** `receive*` calls in flight (at most one reads the transport; the others wait in `#turns`). */
  #readers = 0;
  #turns: Array<() => void> | undefined;
  /** Whether the read holding the turn is a data read (it skips an unread `connect`). */
  #readingData = false;
  /** The iterator whose read holds the turn: the read resolves with its result. */
  #readingFor: MessageIterator<unknown> | undefined;
  /** Settles the read waiting for the transport (its only function: see `#delivered`). */
  #resolveRead: ((outcome: unknown) => void) | undefined;
  readonly #target: string;
  readonly #secure: boolean;
  #url: URL | undefined;
  #subprotocols: string[] | undefined;

  constructor(transport: Transport | DeliveringTransport, info: WebSocketInfo = {}) {
    this.#transport = transport;
    this.#target = info.url ?? '/';
    this.#secure = info.secure ?? false;
    this.headers = info.headers ?? {};
    this.#params = info.params;
  }

  static {
    setParams = (socket, params) => {
      socket.#params = hasKeys(params) ? params : undefined;
    };
    readFor = (socket, iterator) => socket.#next(true, iterator);
    deliverMessage = (socket, message) => {
      if (socket.#resolveRead === undefined) return false;
      socket.#delivered(message);
      return true;
    };
  }

  /** The client side's state, advanced by what {@link receive} returns. */
  get clientState(): WebSocketState {
    return this.#clientState;
  }

  /** The application side's state, advanced by what {@link send} is given. */
  get applicationState(): WebSocketState {
    return this.#applicationState;
  }

  /** Route parameters (`/rooms/:room` → `{ room }`). */
  get params(): Record<string, string> {
    this.#params ??= {};
    return this.#params;
  }

  /** The URL the client requested (full original path), its origin taken from the Host header. */
  get url(): URL {
    // Parsed on first use: most handlers never look, and handshakes are a hot path.
    this.#url ??= new URL(
      this.#target,
      `${this.#secure ? 'wss' : 'ws'}://${this.headers.host || 'localhost'}`,
    );
    return this.#url;
  }

  /** The query string's parameters. */
  get query(): URLSearchParams {
    return this.url.searchParams;
  }

  /** The subprotocols the client offered in `Sec-WebSocket-Protocol`, in its order. */
  get subprotocols(): string[] {
    if (this.#subprotocols === undefined) {
      const offered = this.headers['sec-websocket-protocol'];
      this.#subprotocols = offered
        ? offered
            .split(',')
            .map((name) => name.trim())
            .filter(Boolean)
        : [];
    }
    return this.#subprotocols;
  }

  /**
   * The next message from the client: `connect` first, then `receive` messages, then one
   * `disconnect`. Throws {@link WebSocketStateError} after the `disconnect` (without reading).
   */
  receive(): Promise<ClientMessage> {
    return this.#next(false);
  }

  /**
   * Carries out one application message: `accept` or `close` while connecting; `send` or
   * `close` once connected. A forbidden message throws {@link WebSocketStateError} and sends
   * nothing; a failed connection throws {@link WebSocketDisconnect} (1006).
   */
  send(message: AppMessage): Promise<void> {
    try {
      this.#advanceApplication(message);
    } catch (error) {
      return Promise.reject(error);
    }
    let sent: Promise<void>;
    try {
      sent = this.#transport.send(message);
    } catch (error) {
      sent = Promise.reject(error);
    }
    // Not an `async` function (this runs for every message sent), and no failure handler kept
    // on the socket: a bound one per send that can still fail, for the socket to let go of with
    // the send.
    if (sent === SENT) return sent;
    return sent.then(undefined, this.#sendFailed.bind(this));
  }

  /** What a failed send does to the state, and the error the caller gets. */
  #sendFailed(error: unknown): never {
    this.#applicationState = DISCONNECTED;
    throw error instanceof WebSocketDisconnect
      ? error
      : new WebSocketDisconnect(1006, (error as Error)?.message ?? '');
  }

  /** Applies an application message to the application state (the `send()` table). */
  #advanceApplication(message: AppMessage): void {
    const state = this.applicationState;
    if (state === DISCONNECTED) {
      throw new WebSocketStateError(`Cannot send '${message.type}': the socket is closed`);
    }
    switch (message.type) {
      case 'accept':
        if (state !== CONNECTING) throw new WebSocketStateError('The socket is already accepted');
        this.#assertOffered(message.subprotocol);
        if (message.headers) assertHeaders(message.headers);
        this.#applicationState = CONNECTED;
        break;
      case 'send':
        if (state !== CONNECTED) {
          throw new WebSocketStateError("Cannot send data before accept(): call 'accept' first");
        }
        if (typeof message.text !== 'string' && !(message.bytes instanceof Uint8Array)) {
          throw new TypeError("A 'send' message needs `text` (string) or `bytes` (Uint8Array)");
        }
        break;
      case 'close':
        assertCloseFrame(message.code ?? 1000, message.reason ?? '');
        this.#applicationState = DISCONNECTED;
        break;
      default:
        throw new WebSocketStateError(
          `Unknown message type '${(message as { type: unknown }).type}'`,
        );
    }
  }

  /**
   * Completes the handshake (HTTP 101). Receives the `connect` message first if nobody did.
   * A `subprotocol` the client did not offer throws `TypeError` and sends nothing.
   */
  async accept(options: AcceptOptions = {}): Promise<void> {
    if (this.applicationState !== CONNECTING) {
      throw new WebSocketStateError('accept() needs a connecting socket');
    }
    this.#assertOffered(options.subprotocol);
    if (options.headers) assertHeaders(options.headers);
    if (this.clientState === CONNECTING) await this.receive();
    const message: AcceptMessage = { type: 'accept' };
    if (options.subprotocol !== undefined) message.subprotocol = options.subprotocol;
    if (options.headers !== undefined) message.headers = options.headers;
    await this.send(message);
  }

  /**
   * Closes the connection with `code` and `reason`; before `accept()` this refuses the handshake
   * with HTTP 403. An invalid code or a reason over 123 UTF-8 bytes throws `RangeError`.
   */
  async close(code = 1000, reason = ''): Promise<void> {
    assertCloseFrame(code, reason);
    await this.send({ type: 'close', code, reason });
  }

  /** The next message as text (a binary message is decoded as UTF-8). */
  async receiveText(): Promise<string> {
    return textOf(dataOf(await this.#next(true)));
  }

  /** The next message as bytes (a text message is encoded as UTF-8). */
  async receiveBytes(): Promise<Buffer> {
    return bytesOf(dataOf(await this.#next(true)));
  }

  /**
   * The next message parsed as JSON. Invalid JSON rejects with a `SyntaxError`; the message is
   * consumed and the connection stays open.
   */
  async receiveJson<T = unknown>(options?: JsonOptions): Promise<T> {
    jsonMode(options);
    return decodeJson<T>(textOf(dataOf(await this.#next(true))));
  }

  /** Sends one text message. */
  sendText(data: string): Promise<void> {
    return this.send({ type: 'send', text: data });
  }

  /** Sends one binary message. */
  sendBytes(data: Uint8Array): Promise<void> {
    return this.send({ type: 'send', bytes: data });
  }

  /**
   * Sends `data` as JSON in a text frame (default) or, with `mode: 'binary'`, as UTF-8 bytes in a
   * binary frame. A value JSON cannot represent throws `TypeError` and sends nothing.
   */
  async sendJson(data: unknown, options?: JsonOptions): Promise<void> {
    const encoded = encodeJsonAs(data, jsonMode(options));
    await this.send(
      typeof encoded === 'string'
        ? { type: 'send', text: encoded }
        : { type: 'send', bytes: encoded },
    );
  }

  /** Text messages until the client disconnects (then the loop ends without throwing). */
  iterText(): AsyncGenerator<string, void, undefined> {
    return this.#iterate(textOf);
  }

  /** Binary messages until the client disconnects. */
  iterBytes(): AsyncGenerator<Buffer, void, undefined> {
    return this.#iterate(bytesOf);
  }

  /** JSON messages until the client disconnects; invalid JSON throws out of the loop. */
  iterJson<T = unknown>(options?: JsonOptions): AsyncGenerator<T, void, undefined> {
    jsonMode(options);
    return this.#iterate((message) => decodeJson<T>(textOf(message)));
  }

  /** The topics this socket is on; emptied as soon as it is disconnected. */
  get topics(): ReadonlySet<string> {
    return this.#transport.topics ?? NO_TOPICS;
  }

  /**
   * Joins `topic` (harmless if already on it); resolves when the subscription is active in the
   * backplane, so a publish from another process after that arrives. Needs an accepted socket.
   */
  async subscribe(topic: string): Promise<void> {
    const transport = this.#topicTransport();
    assertTopic(topic);
    if (this.applicationState !== CONNECTED) {
      throw new WebSocketStateError('Cannot subscribe before accept() or after close()');
    }
    await transport.subscribe(topic);
  }

  /** Leaves `topic`. */
  async unsubscribe(topic: string): Promise<void> {
    const transport = this.#topicTransport();
    assertTopic(topic);
    await transport.unsubscribe(topic);
  }

  /**
   * Sends `data` to every socket on `topic`, in every process sharing the backplane, except this
   * one: a string as a text message, bytes as a binary message.
   */
  async publish(topic: string, data: string | Uint8Array): Promise<void> {
    const transport = this.#topicTransport();
    assertTopic(topic);
    await transport.publish(topic, data);
  }

  /** As {@link publish}, with `value` serialised as {@link sendJson} does. */
  async publishJson(topic: string, value: unknown, options?: JsonOptions): Promise<void> {
    const transport = this.#topicTransport();
    assertTopic(topic);
    await transport.publish(topic, encodeJsonAs(value, jsonMode(options)));
  }

  /**
   * Adds this socket's presence entry on `topic`: `key` (usually a user id; one user with three
   * tabs is one key with three entries) and `meta` (stored as JSON). Tracking the topic again
   * replaces the entry. Resolves when `sockets.presence(topic)` shows it in every process; the
   * entry leaves when the socket disconnects. Needs an accepted socket; an empty key or a meta
   * JSON cannot represent throws `TypeError`, a client that left `WebSocketDisconnect`.
   */
  async track(topic: string, key: string, meta: unknown = null): Promise<void> {
    const transport = this.#presenceTransport();
    assertTopic(topic);
    if (typeof key !== 'string' || key.length === 0) {
      throw new TypeError('A presence key must be a non-empty string');
    }
    const json = encodeMeta(meta);
    if (this.#applicationState !== CONNECTED) {
      throw new WebSocketStateError('Cannot track before accept() or after close()');
    }
    if (this.#clientState === DISCONNECTED) {
      throw new WebSocketDisconnect(1006, 'The client has disconnected');
    }
    await transport.track(topic, key, json);
  }

  /** Removes this socket's presence entry on `topic` (harmless if there is none). */
  async untrack(topic: string): Promise<void> {
    const transport = this.#presenceTransport();
    assertTopic(topic);
    await transport.untrack(topic);
  }

  #presenceTransport(): Required<Pick<Transport, 'track' | 'untrack'>> {
    const { track, untrack } = this.#transport;
    if (!track || !untrack) {
      throw new TypeError('This connection has no presence (its transport has no track/untrack)');
    }
    return this.#transport as Required<Pick<Transport, 'track' | 'untrack'>>;
  }

  #topicTransport(): Required<Transport> {
    const transport = this.#transport;
    if (!transport.subscribe || !transport.unsubscribe || !transport.publish) {
      throw new TypeError('This connection has no topic backplane (its transport has no topics)');
    }
    return transport as Required<Transport>;
  }

  /** Data messages until the disconnect, which ends the loop. */
  #iterate<T>(convert: (message: DataMessage) => T): AsyncGenerator<T, void, undefined> {
    return new MessageIterator(this, convert);
  }

  /**
   * The one path from the transport to the application: the next client message, applied to the
   * client state. Calls take turns in call order, so the transport never has two reads at once
   * and each caller gets the next message. `data` readers need an accepted socket (checked on
   * their turn, before reading) and skip the `connect` a low-level `send({ type: 'accept' })`
   * left unread. An iterator's read resolves with its result, made from the message here rather
   * than in a `then` of its own (one promise less under an idle `for await`).
   */
  #next(data: true): Promise<DataOrEnd>;
  #next(data: false): Promise<ClientMessage>;
  #next<T>(data: true, iterator: MessageIterator<T>): Promise<IteratorResult<T, void>>;
  #next(data: boolean, iterator?: MessageIterator<unknown>): Promise<unknown> {
    // A read nobody waits behind goes straight to the transport: a handler idles in it for the
    // life of its connection, and an async frame here would be kept all that time.
    if (this.#readers > 0) return this.#nextInTurn(data, iterator);
    this.#readers = 1;
    return this.#read(data, iterator);
  }

  /** A read behind others: it waits for its turn, handed over by the read before it. */
  async #nextInTurn(
    data: boolean,
    iterator: MessageIterator<unknown> | undefined,
  ): Promise<unknown> {
    this.#readers++;
    await this.#turn();
    return this.#read(data, iterator);
  }

  /** Holding the turn: checks (before reading anything), then reads. */
  #read(data: boolean, iterator: MessageIterator<unknown> | undefined): Promise<unknown> {
    try {
      if (data) this.#assertReadable();
      else if (this.#clientState === DISCONNECTED) {
        throw new WebSocketStateError('Cannot receive: the client has disconnected');
      }
    } catch (error) {
      this.#readFailed(iterator);
      return Promise.reject(error);
    }
    this.#readingData = data;
    this.#readingFor = iterator;
    let outcome: unknown;
    try {
      outcome = this.#pull();
    } catch (error) {
      return Promise.reject(error);
    }
    if (outcome !== WAIT) return Promise.resolve(outcome);
    return new Promise((resolve) => {
      this.#resolveRead = resolve;
    });
  }

  /**
   * Applies the messages the transport has at hand to the read holding the turn: the read's
   * outcome, or WAIT until the transport delivers one (a promise-based transport always waits).
   */
  #pull(): unknown {
    const transport = this.#transport;
    if (!(takeMessage in transport)) {
      let received: Promise<ClientMessage>;
      try {
        received = transport.receive();
      } catch (error) {
        received = Promise.reject(error);
      }
      received.then(
        (message) => this.#delivered(message),
        (error: unknown) => this.#deliveryFailed(error),
      );
      return WAIT;
    }
    let message = transport[takeMessage]();
    while (message !== undefined) {
      const outcome = this.#outcome(message);
      if (outcome !== SKIP) return outcome;
      message = transport[takeMessage]();
    }
    return WAIT;
  }

  /**
   * A message applied to the client state, as the outcome of the read holding the turn: its
   * result (an iterator's is made here), or SKIP. A message out of order ends the read and throws.
   */
  #outcome(message: ClientMessage): unknown {
    let advanced: ClientMessage;
    try {
      advanced = this.#advance(message);
    } catch (error) {
      this.#readFailed(this.#readingFor);
      throw error;
    }
    if (this.#readingData && advanced.type === 'connect') return SKIP;
    const iterator = this.#readingFor;
    this.#readingFor = undefined;
    this.#release();
    return iterator ? iteratorResult(iterator, advanced as DataOrEnd) : advanced;
  }

  /** The message the waiting read gets from the transport. */
  #delivered(message: ClientMessage): void {
    let outcome: unknown;
    try {
      outcome = this.#outcome(message);
      if (outcome === SKIP) outcome = this.#pull();
    } catch (error) {
      outcome = Promise.reject(error);
    }
    if (outcome !== WAIT) this.#settleRead(outcome);
  }

  /** A promise-based transport's read failed. */
  #deliveryFailed(error: unknown): void {
    this.#readFailed(this.#readingFor);
    this.#settleRead(Promise.reject(error));
  }

  /**
   * Settles the waiting read: a rejected promise rejects it, so the socket keeps no `reject`
   * beside `resolve` while a handler idles (a failure is rare; it costs two ticks).
   */
  #settleRead(outcome: unknown): void {
    const resolve = this.#resolveRead;
    this.#resolveRead = undefined;
    resolve?.(outcome);
  }

  /** The read holding the turn failed: an iterator reading ends, as a generator would. */
  #readFailed(iterator: MessageIterator<unknown> | undefined): void {
    this.#readingFor = undefined;
    if (iterator) endIteration(iterator);
    this.#release();
  }

  /** The read is over: the next one waiting (if any) takes the turn. */
  #release(): void {
    this.#readers--;
    this.#turns?.shift()?.();
  }

  /** Resolves when the reads before this one are done (each hands over in `#release`). */
  #turn(): Promise<void> {
    this.#turns ??= [];
    const turns = this.#turns;
    return new Promise((resolve) => {
      turns.push(resolve);
    });
  }

  /** Applies a client message to the client state (the `receive()` table) and returns it. */
  #advance(message: ClientMessage): ClientMessage {
    if (this.clientState === CONNECTING) {
      if (message.type !== 'connect') {
        throw new WebSocketStateError(`Expected a 'connect' message, got '${message.type}'`);
      }
      this.#clientState = CONNECTED;
    } else if (message.type === 'disconnect') {
      this.#clientState = DISCONNECTED;
    } else if (message.type !== 'receive') {
      throw new WebSocketStateError(`Expected 'receive' or 'disconnect', got '${message.type}'`);
    }
    return message;
  }

  /** Throws unless a data message can be received now (before anything is read). */
  #assertReadable(): void {
    if (this.applicationState !== CONNECTED) {
      throw new WebSocketStateError(
        this.applicationState === CONNECTING
          ? 'Cannot receive data before accept(): call accept() first'
          : 'Cannot receive data: the socket is closed',
      );
    }
    if (this.clientState === DISCONNECTED) {
      throw new WebSocketStateError('Cannot receive: the client has disconnected');
    }
  }

  #assertOffered(subprotocol: string | undefined): void {
    if (subprotocol !== undefined && !this.subprotocols.includes(subprotocol)) {
      throw new TypeError(
        `The client did not offer the subprotocol ${JSON.stringify(subprotocol)}`,
      );
    }
  }
}

const DONE: IteratorReturnResult<void> = Object.freeze({ done: true, value: undefined });

/**
 * What `iterText()` and its twins return: an async generator's interface over the socket's
 * reads, written by hand because a handler idles inside one for the life of its connection, and
 * an `async function*` keeps its suspended frame and generator object (~0.45 KB) meanwhile; this
 * keeps one small object, and no closure of its own. Ends at the disconnect; an error (a closed
 * socket, invalid JSON) ends it too, as it would end a generator.
 */
class MessageIterator<T> implements AsyncGenerator<T, void, undefined> {
  readonly #socket: WebSocket;
  readonly #convert: (message: DataMessage) => T;
  #done = false;

  constructor(socket: WebSocket, convert: (message: DataMessage) => T) {
    this.#socket = socket;
    this.#convert = convert;
  }

  static {
    iteratorResult = <U>(iterator: MessageIterator<U>, message: DataOrEnd) => {
      if (message.type === 'disconnect') {
        iterator.#done = true;
        return DONE;
      }
      try {
        return { done: false, value: iterator.#convert(message) };
      } catch (error) {
        iterator.#done = true;
        throw error;
      }
    };
    endIteration = (iterator) => {
      iterator.#done = true;
    };
  }

  next(): Promise<IteratorResult<T, void>> {
    if (this.#done) return Promise.resolve(DONE);
    return readFor(this.#socket, this);
  }

  return(): Promise<IteratorResult<T, void>> {
    this.#done = true;
    return Promise.resolve(DONE);
  }

  throw(error: unknown): Promise<IteratorResult<T, void>> {
    this.#done = true;
    return Promise.reject(error);
  }

  [Symbol.asyncIterator](): this {
    return this;
  }
}

function assertHeaders(headers: HandshakeHeaders): void {
  for (const [name, value] of Object.entries(headers)) {
    validateHeaderName(name);
    for (const item of Array.isArray(value) ? value : [value]) validateHeaderValue(name, item);
  }
}
