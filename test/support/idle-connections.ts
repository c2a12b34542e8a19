/**
 * For the memory fixtures (standalone processes run with --expose-gc): a listener served on
 * 127.0.0.1 with idle `ws` clients opened one after another, and V8's `gc()`.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocket as Client, type ClientOptions } from 'ws';

/** `gc()`, which the fixtures need: they measure what survives it. */
export function requireGc(): () => void {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('run with --expose-gc');
  return gc;
}

export interface IdleConnections {
  server: http.Server;
  /** `ws://127.0.0.1:port` */
  url: string;
  clients: Client[];
  /** Ends every connection and closes the server. */
  close(): Promise<void>;
}

/** Serves `listener` and opens `count` clients to `path`, each waiting for its 101. */
export async function openIdle(
  listener: http.RequestListener,
  path: string,
  count: number,
  options?: ClientOptions,
): Promise<IdleConnections> {
  const server = http.createServer(listener).listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const clients: Client[] = [];
  for (let i = 0; i < count; i++) {
    const client = new Client(`${url}${path}`, options);
    await new Promise((resolve) => client.once('open', resolve));
    clients.push(client);
  }
  const close = (): Promise<void> =>
    new Promise((resolve) => {
      for (const client of clients) client.terminate();
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return { server, url, clients, close };
}
