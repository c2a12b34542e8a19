import { once } from 'node:events';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocket as Client, type ClientOptions } from 'ws';
import type { WebSocket } from '../../lib/index.js';
import type { WebSocketPluginOptions } from '../../lib/server/index.js';
import { Gateway, runHandler } from '../../lib/server/index.js';
import type { WsTransport } from '../../lib/server/ws-transport.js';

export type PlainHandler = (
  socket: WebSocket,
  req: IncomingMessage,
  res: ServerResponse,
) => unknown;

/** A gateway that remembers the transports it opened, so tests can look at their buffers. */
export class SpyGateway extends Gateway {
  readonly transports: WsTransport[] = [];
  override opened(transport: WsTransport): void {
    super.opened(transport);
    this.transports.push(transport);
  }
}

export interface PlainServer {
  server: http.Server;
  gateway: SpyGateway;
  url: string;
  close(): Promise<void>;
}

/**
 * A bare `http` server (no framework) that runs `handler` for every WebSocket upgrade, through
 * the request path (no `upgrade` listener) or the `upgrade` event (`attach`).
 */
export async function plainServer(
  handler: PlainHandler,
  options: WebSocketPluginOptions & {
    path?: 'request' | 'upgrade';
    server?: http.ServerOptions;
  } = {},
): Promise<PlainServer> {
  const { path = 'request', server: serverOptions = {}, ...pluginOptions } = options;
  const gateway = new SpyGateway({ heartbeat: false, ...pluginOptions });
  const server = http.createServer(serverOptions, (req, res) => {
    const upgrade = gateway.open(req, res);
    if (upgrade === undefined) {
      res.end('plain http');
      return;
    }
    if (upgrade === null) return;
    const { socket } = upgrade;
    runHandler(upgrade, () => handler(socket, req, res)).catch((error: Error) => {
      res.statusCode = 500;
      res.end(`handler failed: ${error.message}`);
    });
  });
  if (path === 'upgrade') gateway.attach(server);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    server,
    gateway,
    url: `ws://127.0.0.1:${port}`,
    async close() {
      await gateway.close();
      server.closeAllConnections();
      server.close();
    },
  };
}

/** Opens a `ws` client and waits for the handshake. */
export async function connect(
  url: string,
  protocols?: string | string[],
  options?: ClientOptions,
): Promise<Client> {
  const client = new Client(url, protocols, options);
  await once(client, 'open');
  return client;
}

/** Waits for a client's close event: code and reason. */
export async function closed(client: Client): Promise<{ code: number; reason: string }> {
  if (client.readyState === Client.CLOSED) throw new Error('already closed');
  const [code, reason] = (await once(client, 'close')) as [number, Buffer];
  return { code, reason: reason.toString() };
}

/** The next message a client receives. */
export async function nextMessage(client: Client): Promise<{ data: Buffer; isBinary: boolean }> {
  const [data, isBinary] = (await once(client, 'message')) as [Buffer, boolean];
  return { data, isBinary };
}

/** The HTTP response to a handshake the server refused. */
export async function refusal(
  url: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  const client = new Client(url, { headers });
  client.on('error', () => {});
  const [, res] = (await once(client, 'unexpected-response')) as [unknown, IncomingMessage];
  let body = '';
  for await (const chunk of res) body += chunk;
  return { status: res.statusCode ?? 0, headers: res.headers, body };
}

/** Resolves when `predicate` holds, checking on every tick (bounded by the test's timeout). */
export async function until(predicate: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** A promise with its resolve function, for handing signals into handlers. */
export function signal<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}
