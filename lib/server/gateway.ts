import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { WebSocketServer, type Server as WsServer } from 'ws';
import { encodeJsonAs, type JsonOptions, jsonMode } from '../json.js';
import type { AcceptMessage } from '../messages.js';
import { assertTopic } from '../topic-name.js';
import type { WebSocket } from '../websocket.js';
import { Connection } from './connection.js';
import { checkHandshake, checkOrigin, isWebSocketUpgrade, type Refusal } from './handshake.js';
import { Heartbeat } from './heartbeat.js';
import {
  refuseUntakeable,
  respond,
  type ServerTakeover,
  takeoverOf,
  upgradeResponse,
} from './http-takeover.js';
import { type ResolvedOptions, resolveOptions, type WebSocketPluginOptions } from './options.js';
import { PendingHandshakes } from './pending-handshakes.js';
import { Presence, type PresenceListener } from './presence.js';
import { type PrepareRequest, prepareUpgradesAhead } from './request-preparation.js';
import { Topics, topicMessage } from './topics.js';
import type { CompleteHandshake } from './upgrade-request.js';
import { type TransportHost, WsTransport } from './ws-transport.js';

/** Options of `sockets.attach(server, options)`. */
export interface AttachOptions {
  /**
   * Which upgrade requests this plugin takes (default: all). When another library also listens
   * for `upgrade` on the server, leave its requests to it, e.g.
   * `filter: (req) => !req.url?.startsWith('/socket.io/')`.
   */
  filter?: (req: IncomingMessage) => boolean;
}

/** An upgrade request a plugin took, as the adapters see it. */
export interface Upgrade {
  /** The socket, connecting until the handler accepts. */
  readonly socket: WebSocket;
  /** Whether the handshake is still open: neither accepted, answered nor released. */
  readonly pending: boolean;
  /** Whether the connection was accepted and is still open. */
  readonly open: boolean;
  /** Resolves once the handshake is over: accepted, answered, released, or the client left. */
  answered(): Promise<void>;
  /**
   * Gives up the handshake without answering it, for a framework that answers the request
   * itself (a later `accept()` rejects; shutdown and the handshake timeout leave it alone).
   * Returns whether it was still pending.
   */
  release(): boolean;
  /** Sets `socket.params` once the framework's router has matched. */
  setParams(params: Record<string, string>): void;
  /** Hands an error nobody else can answer (a handler's, after accepting) to `onError`. */
  report(error: unknown): void;
  /** Bytes of received messages the handler has not read yet (flow control). */
  readonly queuedBytes: number;
  /** Bytes handed to `ws` and not yet written to the network (flow control). */
  readonly bufferedAmount: number;
}

// What the stages of one request share is kept beside the request rather than on it: Express
// gives every request object a hidden class of its own, so each property added to one allocates
// a new map and descriptor array (measured: ~7 KB and several µs per handshake).

/** The `upgrade`-event head (attach path only). */
const heads = new WeakMap<IncomingMessage, Buffer>();
/** The upgrade the plugin that took the request made; `null` when it refused it. */
const upgrades = new WeakMap<IncomingMessage, Upgrade | null>();

/** The upgrade a plugin took for `req` (with its socket), if it is one. */
export function upgradeOf(req: IncomingMessage): Upgrade | undefined {
  return upgrades.get(req) ?? undefined;
}

const EMPTY = Buffer.alloc(0);

/**
 * What an adapter's `websocket(options)` is made of, whatever the framework: the options, the
 * `ws` server that completes handshakes, the registry of open sockets with its heartbeat, and
 * shutdown. Adapters call {@link open} for each request and run handlers with `runHandler`.
 */
export class Gateway {
  /** Accepted, still-open sockets. */
  readonly clients = new Set<WebSocket>();
  readonly #options: ResolvedOptions;
  /** Who is on which topic, and the backplane. */
  readonly #topics: Topics;
  readonly #presence: Presence;
  /** What its transports may call: not part of the plugin's API. */
  readonly #host: TransportHost;
  readonly #live = new Set<WsTransport>();
  readonly #pending: PendingHandshakes<WsTransport>;
  readonly #server: WsServer<typeof Connection>;
  readonly #heartbeat: Heartbeat | undefined;
  #closing = false;
  #allClosed: (() => void) | undefined;
  /** What the handler chose in accept(), while `ws` completes that handshake (synchronously). */
  #accepting: AcceptMessage | undefined;
  readonly #prepare: PrepareRequest | undefined;

  /**
   * `prepare` runs on upgrade requests before the app sees them: on each one `attach` hands to
   * the app, and on the request path from the second on (`prepareUpgradesAhead`).
   */
  constructor(options?: WebSocketPluginOptions, prepare?: PrepareRequest) {
    this.#prepare = prepare;
    const resolved = resolveOptions(options);
    this.#options = resolved;
    const { heartbeat, maxPayload, perMessageDeflate } = resolved;
    this.#server = new WebSocketServer({
      noServer: true,
      clientTracking: false,
      WebSocket: Connection,
      maxPayload,
      perMessageDeflate,
      // Negotiate only what the handler chose in accept(); ws would echo the client's first offer.
      handleProtocols: () => this.#accepting?.subprotocol ?? false,
    });
    this.#server.on('headers', (lines: string[]) => {
      const extra = this.#accepting?.headers;
      if (extra === undefined) return;
      for (const [name, value] of Object.entries(extra)) {
        for (const item of Array.isArray(value) ? value : [value]) lines.push(`${name}: ${item}`);
      }
    });
    this.#pending = new PendingHandshakes(resolved.handshakeTimeout);
    this.#topics = new Topics(
      resolved.pubsub,
      (error) => this.#report(error),
      (topic) => this.#presence.subscriptionChanged(topic),
    );
    const timeout = resolved.presenceTimeout;
    this.#presence = new Presence(
      (host) => this.#topics.presenceStore(host, { timeout }),
      this.#topics,
      (error) => this.#report(error),
    );
    this.#heartbeat = heartbeat
      ? new Heartbeat(this.#live, heartbeat.interval, heartbeat.timeout)
      : undefined;
    const complete: CompleteHandshake = (req, socket, head, accept, done) => {
      this.#accepting = accept;
      try {
        this.#server.handleUpgrade(req, socket, head, done);
      } finally {
        this.#accepting = undefined;
      }
    };
    const gateway = this;
    this.#host = {
      options: resolved,
      topics: this.#topics,
      presence: this.#presence,
      get closing() {
        return gateway.#closing;
      },
      complete,
      opened: (transport) => this.#opened(transport),
      closed: (transport) => this.#closed(transport),
      forget: (transport) => this.#pending.delete(transport),
      report: (error) => this.#report(error),
    };
  }

  /**
   * Starts handling `req` if it is a WebSocket upgrade: `undefined` when it is not (or another
   * plugin instance took it), `null` when it was refused here (the response is sent), else the
   * upgrade (also recorded on the request, see `upgradeOf`) with its still-connecting socket.
   * `url` is the original request target (before any mount path was stripped).
   */
  open(req: IncomingMessage, res: ServerResponse, url = req.url): Upgrade | null | undefined {
    if (upgrades.has(req) || !isWebSocketUpgrade(req)) return undefined;
    upgrades.set(req, null);
    // Whatever happens, this connection will not carry another HTTP request.
    res.shouldKeepAlive = false;
    const refusal = this.#check(req);
    if (refusal) {
      respond(res, refusal);
      return null;
    }
    let takeover: ServerTakeover | undefined;
    try {
      takeover = takeoverOf(req, res);
    } catch (error) {
      // Node is not as the request path needs it: refuse before any middleware runs, loudly.
      this.#report(error);
      refuseUntakeable(res);
      return null;
    }
    if (takeover !== undefined && this.#prepare !== undefined) {
      prepareUpgradesAhead(req, this.#prepare);
    }
    const head = heads.get(req) ?? EMPTY;
    const transport = new WsTransport(this.#host, { req, res, head, takeover, url });
    this.#pending.add(transport);
    upgrades.set(req, transport);
    return transport;
  }

  /**
   * Listens for `upgrade` on `server` and sends those requests through the server's own request
   * handler (the app), for servers where something else already listens for `upgrade` (once any
   * listener exists, Node stops giving upgrades to the request handler). Returns a detach function.
   */
  attach(server: Server, options: AttachOptions = {}): () => void {
    const { filter } = options;
    const listener = (req: IncomingMessage, socket: Socket, head: Buffer): void => {
      if (filter && !filter(req)) return;
      heads.set(req, head);
      const res = upgradeResponse(req, socket);
      this.#prepare?.(req, res);
      server.emit('request', req, res);
    };
    server.on('upgrade', listener);
    return () => {
      server.removeListener('upgrade', listener);
    };
  }

  /**
   * Closes every open socket with `code` (default 1001, going away) and resolves when all are
   * gone. Handshakes still pending or arriving later are refused with HTTP 503.
   */
  close(code = 1001, reason = ''): Promise<void> {
    this.#closing = true;
    this.#pending.refuseAll({ status: 503, body: 'The server is shutting down' });
    for (const transport of this.#live) transport.shutdown(code, reason);
    const allClosed = new Promise<void>((resolve) => {
      if (this.#live.size === 0) resolve();
      else this.#allClosed = resolve;
    });
    return allClosed.then(async () => {
      this.#heartbeat?.stop();
      // Entries leave (the other processes see it) before the backplane goes.
      await this.#presence.close();
      await this.#topics.close();
    });
  }

  /** Every key on `topic`, in every process, with the metas of its entries in join order. */
  presence(topic: string): Promise<Record<string, unknown[]>> {
    assertTopic(topic);
    return this.#presence.list(topic);
  }

  /**
   * Calls `listener({ topic, joins, leaves })` once per presence change on a topic this process
   * has subscribers or entries on; returns the function that removes it.
   */
  onPresence(listener: PresenceListener): () => void {
    return this.#presence.listen(listener);
  }

  /** This process's sockets subscribed to `topic`. */
  subscribers(topic: string): ReadonlySet<WebSocket> {
    assertTopic(topic);
    return this.#topics.subscribers(topic);
  }

  /**
   * Sends `data` to every socket on `topic` (in every process sharing the backplane): a string as
   * a text message, bytes as a binary one. Resolves when handed to the backplane.
   */
  async publish(topic: string, data: string | Uint8Array): Promise<void> {
    assertTopic(topic);
    await this.#topics.publish(topic, topicMessage(data));
  }

  /** As {@link publish}, with `value` serialised as `sendJson` does. */
  async publishJson(topic: string, value: unknown, options?: JsonOptions): Promise<void> {
    assertTopic(topic);
    await this.publish(topic, encodeJsonAs(value, jsonMode(options)));
  }

  /** Hands an error nobody else can answer to `options.onError`. */
  #report(error: unknown): void {
    try {
      this.#options.onError(error);
    } catch (failure) {
      console.error('wsgate: options.onError threw:', failure);
    }
  }

  #opened(transport: WsTransport): void {
    this.#pending.delete(transport);
    this.#live.add(transport);
    this.clients.add(transport.socket);
    this.#heartbeat?.wake();
  }

  #closed(transport: WsTransport): void {
    this.#live.delete(transport);
    this.clients.delete(transport.socket);
    if (this.#live.size === 0) {
      this.#heartbeat?.stop();
      this.#allClosed?.();
      this.#allClosed = undefined;
    }
  }

  #check(req: IncomingMessage): Refusal | undefined {
    if (this.#closing) return { status: 503, body: 'The server is shutting down' };
    return checkHandshake(req) ?? checkOrigin(req, this.#options);
  }
}
