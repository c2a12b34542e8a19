import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { WebSocket } from '../../lib/index.js';
import type { Upgrade, WebSocketPluginOptions } from '../../lib/server/index.js';
import { Gateway, runHandler } from '../../lib/server/index.js';
import { serve } from './servers.js';

export type PlainHandler = (
  socket: WebSocket,
  req: IncomingMessage,
  res: ServerResponse,
) => unknown;

/** A gateway that remembers the upgrades it took, so tests can look at their buffers. */
export class SpyGateway extends Gateway {
  /** Every upgrade it took, in order, to look at their buffers. */
  readonly transports: Upgrade[] = [];
  override open(req: IncomingMessage, res: ServerResponse, url?: string) {
    const upgrade = super.open(req, res, url);
    if (upgrade) this.transports.push(upgrade);
    return upgrade;
  }
}

export interface PlainServer {
  server: http.Server;
  gateway: SpyGateway;
  /** `ws://127.0.0.1:port` */
  url: string;
  port: number;
  close(): Promise<void>;
}

/**
 * A bare `http` server (no framework) that runs `handler` for every WebSocket upgrade, through
 * the request path (no `upgrade` listener) or the `upgrade` event (`attach`); closed by
 * `cleanup()` or its own `close()`.
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
  const served = await serve(server, { sockets: gateway });
  return { server, gateway, url: served.url, port: served.port, close: served.close };
}
