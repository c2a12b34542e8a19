/** Helpers for the Express adapter's tests: real servers on 127.0.0.1, real clients, cleanup. */
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import http, { type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import type { AddressInfo, Server } from 'node:net';
import request from 'superwstest';
import { type ClientOptions, WebSocket as WsClient } from 'ws';
import type { WebSocketPlugin } from '../adapters/express/index.js';

/** What a client saw instead of a 101. */
export interface HttpAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** A settable promise. */
export interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
  reject(error: unknown): void;
}

export function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/**
 * Owns what a test opens (servers, plugins, clients) and closes all of it in `afterEach`, so
 * mocha exits by itself.
 */
export class Resources {
  readonly #servers = new Set<Server>();
  readonly #plugins = new Set<WebSocketPlugin>();
  readonly #clients = new Set<WsClient>();
  readonly #cleanups: Array<() => unknown> = [];

  /** Starts `server` on 127.0.0.1, a free port. */
  async listen<S extends Server>(server: S): Promise<S> {
    this.#servers.add(server);
    if (!server.listening) {
      server.listen(0, '127.0.0.1');
      await once(server, 'listening');
    }
    return server;
  }

  /** Registers a server that is already listening (app.listen()). */
  async listening<S extends Server>(server: S): Promise<S> {
    this.#servers.add(server);
    if (!server.listening) await once(server, 'listening');
    return server;
  }

  plugin<P extends WebSocketPlugin>(plugin: P): P {
    this.#plugins.add(plugin);
    return plugin;
  }

  client(client: WsClient): WsClient {
    this.#clients.add(client);
    return record(client);
  }

  onCleanup(fn: () => unknown): void {
    this.#cleanups.push(fn);
  }

  /** Opens a `ws` client and waits for the 101. */
  async connect(url: string, protocols?: string[], options?: ClientOptions): Promise<WsClient> {
    const client = this.client(new WsClient(url, protocols, options));
    await new Promise<void>((resolve, reject) => {
      client.once('open', resolve);
      client.once('error', reject);
      client.once('unexpected-response', (_req, res: IncomingMessage) => {
        reject(new Error(`Unexpected server response: ${res.statusCode}`));
        res.resume();
      });
    });
    client.on('error', () => {});
    return client;
  }

  async close(): Promise<void> {
    for (const client of this.#clients) client.terminate();
    this.#clients.clear();
    request.closeAll();
    for (const fn of this.#cleanups.splice(0)) await fn();
    await Promise.all([...this.#plugins].map((plugin) => plugin.close()));
    this.#plugins.clear();
    await Promise.all(
      [...this.#servers].map((server) => {
        if (!server.listening) return undefined;
        if (server instanceof http.Server) server.closeAllConnections();
        return new Promise((resolve) => server.close(resolve));
      }),
    );
    this.#servers.clear();
  }
}

/** `ws://127.0.0.1:port` (or `wss://`) of a listening server. */
export function base(server: Server, scheme: 'ws' | 'wss' | 'http' | 'https' = 'ws'): string {
  const { port } = server.address() as AddressInfo;
  return `${scheme}://127.0.0.1:${port}`;
}

/** The headers of a valid WebSocket handshake. */
export function handshakeHeaders(): Record<string, string> {
  return {
    Connection: 'Upgrade',
    Upgrade: 'websocket',
    'Sec-WebSocket-Key': randomBytes(16).toString('base64'),
    'Sec-WebSocket-Version': '13',
  };
}

/**
 * Sends a WebSocket handshake and resolves with the HTTP answer when the server refuses it
 * (rejects if it upgrades). Also waits for the server to close the connection, so a refusal that
 * leaves the socket hanging fails the test by timeout.
 */
export function refusal(
  url: string,
  headers: Record<string, string> = {},
  options: http.RequestOptions = {},
): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, {
      ...options,
      headers: { ...handshakeHeaders(), ...headers },
      agent: false,
    });
    req.on('upgrade', (_res, socket) => {
      socket.destroy();
      reject(new Error('The server upgraded the connection'));
    });
    req.on('response', (res) => {
      const { socket } = res;
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', reject);
      res.on('end', () => {
        const answer = {
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: Buffer.concat(chunks).toString(),
        };
        // The connection must not stay open after a refusal.
        if (socket.destroyed) resolve(answer);
        else socket.once('close', () => resolve(answer));
      });
    });
    req.on('error', reject);
    req.end();
  });
}

/** A message as a `ws` client received it. */
export interface ClientMessage {
  data: Buffer;
  isBinary: boolean;
}

/**
 * What a client received, recorded from the moment it was created: a message can arrive in the
 * same packet as the 101, before the code awaiting the connection could add a listener.
 */
class Inbox {
  readonly messages: ClientMessage[] = [];
  readonly waiters: Array<Deferred<ClientMessage>> = [];
  readonly closed = deferred<{ code: number; reason: string }>();

  constructor(client: WsClient) {
    client.on('message', (data: Buffer, isBinary: boolean) => {
      const waiter = this.waiters.shift();
      if (waiter) waiter.resolve({ data, isBinary });
      else this.messages.push({ data, isBinary });
    });
    client.on('close', (code: number, reason: Buffer) => {
      for (const waiter of this.waiters.splice(0)) waiter.reject(new Error(`closed with ${code}`));
      this.closed.resolve({ code, reason: reason.toString() });
    });
  }
}

const inboxes = new WeakMap<WsClient, Inbox>();

/** Starts recording what `client` receives (done by `Resources.client()`). */
export function record(client: WsClient): WsClient {
  if (!inboxes.has(client)) inboxes.set(client, new Inbox(client));
  return client;
}

function inbox(client: WsClient): Inbox {
  const found = inboxes.get(client);
  if (found === undefined) throw new Error('the client was not created through Resources');
  return found;
}

/** Resolves with the next message a client received (rejects if it closes first). */
export function nextMessage(client: WsClient): Promise<ClientMessage> {
  const box = inbox(client);
  const queued = box.messages.shift();
  if (queued) return Promise.resolve(queued);
  const waiter = deferred<ClientMessage>();
  box.waiters.push(waiter);
  return waiter.promise;
}

/** Resolves with the close code and reason once the client is closed. */
export function closed(client: WsClient): Promise<{ code: number; reason: string }> {
  return inbox(client).closed.promise;
}
