import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { AcceptMessage } from '../messages.js';
import type { Connection } from './connection.js';
import type { Refusal } from './handshake.js';
import {
  finishUpgradeResponse,
  respond,
  type ServerTakeover,
  unwatchResponse,
  watchResponse,
} from './http-takeover.js';
import type { PendingHandshake } from './pending-handshakes.js';

/** Completes a handshake with `ws`; calls `done` synchronously unless the socket is gone. */
export type CompleteHandshake = (
  req: IncomingMessage,
  socket: Socket,
  head: Buffer,
  accept: AcceptMessage,
  done: (connection: Connection) => void,
) => void;

/** Who is told how the HTTP phase ends. */
export interface UpgradeRequestOwner {
  /** The handshake is over without a connection: refused, released, or the client left. */
  handshakeOver(): void;
  /** The client's socket closed before `ws` took it. */
  clientLeft(): void;
}

function ignore(): void {}

/**
 * The HTTP phase of an upgrade request: until it is accepted it holds the request and response,
 * so it can still be refused with any HTTP response, released to the framework, or timed out.
 * `accept` takes the socket from the HTTP server and lets `ws` complete the handshake; after
 * that (or any other answer) it holds nothing.
 */
export class UpgradeRequest implements PendingHandshake {
  /** When the upgrade request arrived (`performance.now()`), for the handshake timeout. */
  readonly openedAt = performance.now();
  readonly #owner: UpgradeRequestOwner;
  #req: IncomingMessage | undefined;
  #res: ServerResponse | undefined;
  readonly #head: Buffer;
  /** What the HTTP server still holds of the socket (request path only; holds req and res). */
  #takeover: ServerTakeover | undefined;
  #answered: Promise<void> | undefined;
  #onAnswered: (() => void) | undefined;
  readonly #onClose = (): void => {
    this.#over();
    this.#owner.clientLeft();
  };

  constructor(
    owner: UpgradeRequestOwner,
    req: IncomingMessage,
    res: ServerResponse,
    head: Buffer,
    takeover: ServerTakeover | undefined,
  ) {
    this.#owner = owner;
    this.#req = req;
    this.#res = res;
    this.#head = head;
    this.#takeover = takeover;
    // Until `ws` owns the socket: notice a client that leaves, and never let a reset crash us
    // (on the `upgrade` path Node has removed its own error listener).
    req.socket.on('close', this.#onClose);
    req.socket.on('error', ignore);
    watchResponse(res, this);
  }

  /** Whether the handshake is still open: neither accepted, answered nor released. */
  get pending(): boolean {
    return this.#res !== undefined;
  }

  /** Resolves once the handshake is over: accepted, answered, released, or the client left. */
  answered(): Promise<void> {
    if (this.#res === undefined) return Promise.resolve();
    // One promise for every caller (Koa awaits it for the chain and for the route).
    this.#answered ??= new Promise((resolve) => {
      this.#onAnswered = resolve;
    });
    return this.#answered;
  }

  /** Answers with an HTTP response instead of upgrading. */
  refuse(refusal: Refusal): void {
    const res = this.#res;
    if (res === undefined) return;
    this.#over();
    respond(res, refusal);
  }

  /**
   * Gives up the handshake without answering it: someone else (the framework) answers the HTTP
   * request. Returns whether it was still pending.
   */
  release(): boolean {
    if (this.#res === undefined) return false;
    this.#over();
    return true;
  }

  /**
   * Takes the socket and completes the handshake with `complete`, which hands `done` the `ws`
   * connection. Returns the socket, or `undefined` when the handshake was already answered or
   * the client left (nothing is then changed).
   */
  accept(
    message: AcceptMessage,
    complete: CompleteHandshake,
    done: (connection: Connection) => void,
  ): Socket | undefined {
    const req = this.#req;
    const res = this.#res;
    if (req === undefined || res === undefined || res.headersSent) return undefined;
    const socket = req.socket;
    if (socket.destroyed || !socket.readable || !socket.writable) return undefined;
    const takeover = this.#takeover;
    this.#drop();
    socket.removeListener('close', this.#onClose);
    socket.removeListener('error', ignore);
    unwatchResponse(res);
    takeover?.detach();
    complete(req, socket, this.#head, message, done);
    finishUpgradeResponse(res, socket, takeover);
    return socket;
  }

  /**
   * The handshake ended without a connection. The `close` listener stays: a handler still
   * reading (it may, after a refusal) learns when the client is gone.
   */
  #over(): void {
    if (this.#req === undefined) return;
    this.#drop();
    this.#owner.handshakeOver();
  }

  /** Drops the HTTP request and response (they can be large) and wakes `answered()`. */
  #drop(): void {
    this.#req = undefined;
    this.#res = undefined;
    this.#takeover = undefined;
    const wake = this.#onAnswered;
    this.#onAnswered = undefined;
    this.#answered = undefined;
    wake?.();
  }
}
