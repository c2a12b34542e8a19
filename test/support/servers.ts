/** Real servers on 127.0.0.1 for tests: started on a free port, tracked, closed by `cleanup()`. */
import { EventEmitter, once } from 'node:events';
import http from 'node:http';
import type { AddressInfo, Server, Socket } from 'node:net';
import { onCleanup } from './cleanup.js';

/** What `close()` of a served server closes with it: a plugin, a gateway, anything with close(). */
export interface Closable {
  close(): unknown;
}

export interface Served<S extends Server = http.Server> {
  server: S;
  port: number;
  /** `ws://127.0.0.1:port` (`wss:` for a TLS server) */
  url: string;
  /** `http://127.0.0.1:port` (`https:` for a TLS server) */
  http: string;
  /** Server-side TCP connections still open (upgraded ones included). */
  readonly connections: ReadonlySet<Socket>;
  /** Emits `connection` (a server-side socket) and `close` (one of them closed). */
  readonly events: EventEmitter;
  /** Ends every connection, closes `sockets` and closes the server (once). */
  close(): Promise<void>;
}

/** `ws://127.0.0.1:port` (or another scheme) of a listening server. */
export function base(server: Server, scheme: 'ws' | 'wss' | 'http' | 'https' = 'ws'): string {
  const { port } = server.address() as AddressInfo;
  return `${scheme}://127.0.0.1:${port}`;
}

/**
 * Serves `server` on 127.0.0.1, a free port (or, `started`, waits for the `app.listen()` call
 * made already), and registers it for `cleanup()`: every connection is ended first, upgraded
 * ones included (they leave the HTTP server's books), then `sockets` (plugins, gateways) are
 * closed, then the server.
 */
export async function serve<S extends Server>(
  server: S,
  options: { sockets?: Closable | Closable[]; started?: boolean } = {},
): Promise<Served<S>> {
  const { sockets = [], started = false } = options;
  const connections = new Set<Socket>();
  const events = new EventEmitter();
  server.on('connection', (socket: Socket) => {
    connections.add(socket);
    events.emit('connection', socket);
    socket.on('close', () => {
      connections.delete(socket);
      events.emit('close', socket);
    });
  });
  // A TLS server reports its TCP connections as `connection` too (the TLS socket comes later).
  const secure = 'addContext' in server;
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      unregister();
      for (const socket of connections) socket.destroy();
      await Promise.all([sockets].flat().map((plugin) => plugin.close()));
      if (server instanceof http.Server) server.closeAllConnections();
      if (server.listening) await new Promise((resolve) => server.close(resolve));
    })();
    return closing;
  };
  const unregister = onCleanup(close);
  if (!server.listening) {
    // `started`: app.listen() has called listen() already.
    if (!started) server.listen(0, '127.0.0.1');
    await once(server, 'listening');
  }
  const { port } = server.address() as AddressInfo;
  return {
    server,
    port,
    url: `${secure ? 'wss' : 'ws'}://127.0.0.1:${port}`,
    http: `${secure ? 'https' : 'http'}://127.0.0.1:${port}`,
    connections,
    events,
    close,
  };
}
