/**
 * The echo server of the load test, in its own process so its memory can be measured:
 * `node --import tsx/esm test/load/server.ts express|koa`. Prints `{"port":N}` when listening.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import Koa from 'koa';
import type { WebSocket } from 'wsgate';
import { websocket as expressWebSocket } from 'wsgate/express';
import { websocket as koaWebSocket, withWebSocket } from 'wsgate/koa';

async function echo(socket: WebSocket): Promise<void> {
  await socket.accept();
  for await (const text of socket.iterText()) await socket.sendText(text);
}

function expressApp(): http.RequestListener {
  const app = express();
  app.use(expressWebSocket());
  app.websocket('/echo', echo);
  return app;
}

function koaApp(): http.RequestListener {
  const app = withWebSocket(new Koa());
  app.use(koaWebSocket());
  app.websocket('/echo', echo);
  return app.callback();
}

const server = http.createServer(process.argv[2] === 'koa' ? koaApp() : expressApp());
server.listen(0, '127.0.0.1', () => {
  console.log(JSON.stringify({ port: (server.address() as AddressInfo).port }));
});
