/** Response headers added to the handshake's 101 response. */
export type HandshakeHeaders = Record<string, string | string[]>;

/** The client asked to open the connection (its upgrade request arrived). */
export interface ConnectMessage {
  type: 'connect';
}

/** One text data message from the client. */
export interface ReceiveTextMessage {
  type: 'receive';
  text: string;
  bytes?: undefined;
}

/** One binary data message from the client. */
export interface ReceiveBytesMessage {
  type: 'receive';
  bytes: Buffer;
  text?: undefined;
}

/** The connection is gone: the client's close code and reason (1006 when it broke). */
export interface DisconnectMessage {
  type: 'disconnect';
  code: number;
  reason: string;
}

/** What `receive()` returns: client → application. */
export type ClientMessage =
  | ConnectMessage
  | ReceiveTextMessage
  | ReceiveBytesMessage
  | DisconnectMessage;

/** Complete the handshake (HTTP 101), optionally choosing a subprotocol and adding headers. */
export interface AcceptMessage {
  type: 'accept';
  subprotocol?: string;
  headers?: HandshakeHeaders;
}

/** One text data message to the client. */
export interface SendTextMessage {
  type: 'send';
  text: string;
  bytes?: undefined;
}

/** One binary data message to the client. */
export interface SendBytesMessage {
  type: 'send';
  bytes: Uint8Array;
  text?: undefined;
}

/** Before accept: refuse the handshake with HTTP 403. After: close with `code` (default 1000). */
export interface CloseMessage {
  type: 'close';
  code?: number;
  reason?: string;
}

/** What `send()` takes: application → client. */
export type AppMessage = AcceptMessage | SendTextMessage | SendBytesMessage | CloseMessage;

/**
 * The connection under a {@link WebSocket}: the adapters build one from an upgrade request and a
 * `ws` connection; tests may build one in memory. The socket never calls `receive()` while an
 * earlier call is pending (its own callers take turns), nor after it returned a `disconnect`;
 * and never `send()` after a `close`.
 */
export interface Transport {
  /** The next client message, in order. */
  receive(): Promise<ClientMessage>;
  /**
   * Carries out one application message. Rejecting means the connection failed (an I/O error);
   * the socket then reports `WebSocketDisconnect` 1006, or the `WebSocketDisconnect` rejected with.
   */
  send(message: AppMessage): Promise<void>;
  /** The topics this connection is on, when the transport supports topics. */
  readonly topics?: ReadonlySet<string>;
  /** Joins a topic; resolves when the subscription is active everywhere. */
  subscribe?(topic: string): Promise<void>;
  /** Leaves a topic. */
  unsubscribe?(topic: string): Promise<void>;
  /** Publishes to every connection on the topic except this one. */
  publish?(topic: string, data: string | Uint8Array): Promise<void>;
  /** Adds or replaces this connection's presence entry on a topic (`meta` is JSON text). */
  track?(topic: string, key: string, meta: string): Promise<void>;
  /** Removes this connection's presence entry on a topic. */
  untrack?(topic: string): Promise<void>;
}

/** The key of {@link DeliveringTransport}'s read. */
export const takeMessage: unique symbol = Symbol('wsgate.takeMessage');

/**
 * A transport that hands its messages to its socket itself instead of resolving a promise per
 * read (wsgate's own, which builds its socket): `[takeMessage]()` returns the next message if
 * one is at hand, else `undefined`. A message that comes later goes to `deliverMessage`
 * (lib/websocket.ts) first, which takes it if a read is waiting and returns whether it did;
 * otherwise the transport keeps it for the next `[takeMessage]()`. Whether a read waits is the
 * socket's to know, not the transport's. A handler idling in a read then waits on the socket's
 * promise alone: a promise from the transport and the `then` on it would be kept for the life of
 * the connection too (~0.25 KB). The same turn rules as {@link Transport}.
 */
export interface DeliveringTransport extends Omit<Transport, 'receive'> {
  [takeMessage](): ClientMessage | undefined;
}

/**
 * What a {@link DeliveringTransport}'s `send()` returns when it has handed the message over at
 * once: the socket passes it on as it is, without a failure handler of its own on it (a `then`, a
 * bound function and a promise job per message otherwise).
 */
export const SENT: Promise<void> = Promise.resolve();
