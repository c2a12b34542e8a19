/** `start()`: the chat on an HTTP server, on Express or Koa. */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { WebSocketPlugin } from 'wsgate';
import { Chat } from './chat.js';
import { expressApp } from './express.js';
import { koaApp } from './koa.js';

export interface StartOptions {
  /** Default 3000; 0 picks a free port. */
  port?: number;
  /** Default: every interface. */
  host?: string;
  /** Koa and @koa/router instead of Express. */
  koa?: boolean;
  /** Share rooms with every process on this Redis. Default: `REDIS_URL`; `''`: in-process. */
  redisUrl?: string | undefined;
}

export interface Demo {
  /** `http://host:port`. */
  url: string;
  port: number;
  server: http.Server;
  sockets: WebSocketPlugin;
  /** Closes every socket with 1001, then the server and the Redis connections. */
  close(): Promise<void>;
}

export async function start(options: StartOptions = {}): Promise<Demo> {
  const chat = new Chat({
    backend: options.koa ? 'koa' : 'express',
    redisUrl: options.redisUrl ?? process.env.REDIS_URL,
  });
  let server: http.Server;
  let sockets: WebSocketPlugin;
  if (options.koa) {
    const koa = koaApp(chat);
    server = http.createServer(koa.app.callback());
    sockets = koa.sockets;
  } else {
    const express = expressApp(chat);
    server = http.createServer(express.app);
    sockets = express.sockets;
  }
  server.listen(options.port ?? 3000, options.host);
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve).once('error', reject);
  });
  const { port } = server.address() as AddressInfo;
  const host = options.host ?? 'localhost';
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    port,
    server,
    sockets,
    async close() {
      const closed = new Promise((resolve) => server.close(resolve));
      await sockets.close(1001, 'Server shutting down');
      server.closeAllConnections();
      await closed;
    },
  };
}
