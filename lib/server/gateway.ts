import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { type WebSocket as Connection, WebSocketServer } from 'ws';
import { encodeJsonAs, type JsonOptions, jsonMode } from '../json.js';
import type { AcceptMessage } from '../messages.js';
import { assertTopic } from '../topic-name.js';
import { WebSocket } from '../websocket.js';
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
import { Topics, topicMessage } from './topics.js';
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

/** The `upgrade`-event head and accept choices, carried on the request between the stages. */
const kHead = Symbol('wsgate.head');
const kAccept = Symbol('wsgate.accept');
const kUpgrade = Symbol('wsgate.upgrade');

/** An upgrade request a plugin took: its socket, and the plugin that owns it. */
export interface Upgrade {
  readonly socket: WebSocket;
  readonly gateway: Gateway;
  /** Its transport, so an adapter can `release()` a handshake the framework answers itself. */
  readonly transport: WsTransport;
}

interface GatewayRequest extends IncomingMessage {
  [kHead]?: Buffer;
  [kAccept]?: AcceptMessage;
  /** Set by the plugin that took the request; `null` when it refused it. */
  [kUpgrade]?: Upgrade | null;
}

/** The socket a plugin opened for `req` (and that plugin), if it is an upgrade one took. */
export function upgradeOf(req: IncomingMessage): Upgrade | undefined {
  return (req as GatewayRequest)[kUpgrade] ?? undefined;
}

const EMPTY = Buffer.alloc(0);

/**
 * What an adapter's `websocket(options)` is made of, whatever the framework: the options, the
 * `ws` server that completes handshakes, the registry of open sockets with its heartbeat, and
 * shutdown. Adapters call {@link open} for each request and run handlers with `runHandler`.
 */
export class Gateway implements TransportHost {
  readonly options: ResolvedOptions;
  /** Accepted, still-open sockets. */
  readonly clients = new Set<WebSocket>();
  /** Who is on which topic, and the backplane. */
  readonly topics: Topics;
  readonly #live = new Set<WsTransport>();
  readonly #pending: PendingHandshakes<WsTransport>;
  readonly #server: WebSocketServer;
  readonly #heartbeat: Heartbeat | undefined;
  #closing = false;
  #allClosed: (() => void) | undefined;

  constructor(options?: WebSocketPluginOptions) {
    this.options = resolveOptions(options);
    const { heartbeat, maxPayload, perMessageDeflate } = this.options;
    this.#server = new WebSocketServer({
      noServer: true,
      clientTracking: false,
      maxPayload,
      perMessageDeflate,
      // Negotiate only what the handler chose in accept(); ws would echo the client's first offer.
      handleProtocols: (_offered, req: GatewayRequest) => req[kAccept]?.subprotocol ?? false,
    });
    this.#server.on('headers', (lines: string[], req: GatewayRequest) => {
      const extra = req[kAccept]?.headers;
      if (extra === undefined) return;
      for (const [name, value] of Object.entries(extra)) {
        for (const item of Array.isArray(value) ? value : [value]) lines.push(`${name}: ${item}`);
      }
    });
    this.#pending = new PendingHandshakes(this.options.handshakeTimeout);
    this.topics = new Topics(this.options.pubsub, (error) => this.reportError(error));
    this.#heartbeat = heartbeat
      ? new Heartbeat(this.#live, heartbeat.interval, heartbeat.timeout)
      : undefined;
  }

  get closing(): boolean {
    return this.#closing;
  }

  /**
   * Starts handling `req` if it is a WebSocket upgrade: `undefined` when it is not (or another
   * plugin instance took it), `null` when it was refused here (the response is sent), else the
   * upgrade (also recorded on the request, see `upgradeOf`) with its still-connecting socket.
   * `url` is the original request target (before any mount path was stripped).
   */
  open(req: IncomingMessage, res: ServerResponse, url = req.url): Upgrade | null | undefined {
    const request = req as GatewayRequest;
    if (request[kUpgrade] !== undefined || !isWebSocketUpgrade(req)) return undefined;
    request[kUpgrade] = null;
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
      this.reportError(error);
      refuseUntakeable(res);
      return null;
    }
    const transport = new WsTransport(this, req, res, request[kHead] ?? EMPTY, takeover);
    const socket = new WebSocket(transport, {
      url,
      headers: req.headers,
      secure: 'encrypted' in req.socket && req.socket.encrypted === true,
    });
    transport.socket = socket;
    this.#pending.add(transport);
    const upgrade: Upgrade = { socket, gateway: this, transport };
    request[kUpgrade] = upgrade;
    return upgrade;
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
      (req as GatewayRequest)[kHead] = head;
      server.emit('request', req, upgradeResponse(req, socket));
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
    return allClosed.then(() => {
      this.#heartbeat?.stop();
      return this.topics.close();
    });
  }

  /**
   * Sends `data` to every socket on `topic` (in every process sharing the backplane): a string as
   * a text message, bytes as a binary one. Resolves when handed to the backplane.
   */
  async publish(topic: string, data: string | Uint8Array): Promise<void> {
    assertTopic(topic);
    await this.topics.publish(topic, topicMessage(data));
  }

  /** As {@link publish}, with `value` serialised as `sendJson` does. */
  async publishJson(topic: string, value: unknown, options?: JsonOptions): Promise<void> {
    assertTopic(topic);
    await this.publish(topic, encodeJsonAs(value, jsonMode(options)));
  }

  /** Hands an error nobody else can answer (a handler's after accepting, say) to `options.onError`. */
  reportError(error: unknown): void {
    try {
      this.options.onError(error);
    } catch (failure) {
      console.error('wsgate: options.onError threw:', failure);
    }
  }

  handshake(
    req: IncomingMessage,
    socket: Socket,
    head: Buffer,
    accept: AcceptMessage,
    done: (connection: Connection) => void,
  ): void {
    const request = req as GatewayRequest;
    request[kAccept] = accept;
    this.#server.handleUpgrade(req, socket, head, done);
    request[kAccept] = undefined;
  }

  opened(transport: WsTransport): void {
    this.#pending.delete(transport);
    this.#live.add(transport);
    this.clients.add(transport.socket);
    this.#heartbeat?.wake();
  }

  closed(transport: WsTransport): void {
    this.#live.delete(transport);
    this.clients.delete(transport.socket);
    if (this.#live.size === 0) {
      this.#heartbeat?.stop();
      this.#allClosed?.();
      this.#allClosed = undefined;
    }
  }

  /** The transport ended before it was accepted (refused, or the client left). */
  forget(transport: WsTransport): void {
    this.#pending.delete(transport);
  }

  #check(req: IncomingMessage): Refusal | undefined {
    if (this.#closing) return { status: 503, body: 'The server is shutting down' };
    return checkHandshake(req) ?? checkOrigin(req, this.options);
  }
}
