import { once } from 'node:events';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { expect } from 'chai';
import express from 'express';
import Koa from 'koa';
import { websocket as expressWebsocket } from '../adapters/express/index.js';
import { websocket as koaWebsocket } from '../adapters/koa/index.js';
import { NodeInternalsError } from '../lib/index.js';
import { ServerTakeover, takeoverOf, upgradeResponse } from '../lib/server/http-takeover.js';
import { handshake, RawClient } from './support/raw-client.js';

/**
 * The request-path takeover reaches into Node's private HTTP server state. This suite runs on
 * every Node line CI tests, so a renamed piece fails here rather than in users' connections.
 */

type Breaker = (req: IncomingMessage, res: ServerResponse) => void;

/** Makes Node look as a future release might: one private piece renamed or gone. */
const breakers: Record<string, { missing: string; apply: Breaker }> = {
  "Node's 'finish' listener on the response is gone": {
    missing: "response 'finish' listener",
    apply: (_req, res) => {
      res.removeAllListeners('finish');
    },
  },
  "Node's 'timeout' listener on the socket has another name": {
    missing: "socket 'timeout' listener",
    apply: (req) => {
      const socket = req.socket;
      for (const listener of socket.listeners('timeout') as Array<(...a: unknown[]) => void>) {
        socket.removeListener('timeout', listener);
        socket.on('timeout', function renamedOnTimeout(this: Socket, ...args: unknown[]) {
          listener.apply(this, args);
        });
      }
    },
  },
};

async function listen(server: http.Server): Promise<number> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return (server.address() as AddressInfo).port;
}

async function closeServer(server: http.Server): Promise<void> {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
}

describe(`Node internals of the request-path takeover (Node.js ${process.version})`, () => {
  it('finds every private piece on the request path, and needs none on the upgrade path', async () => {
    const seen: Array<{ upgrade: unknown; found: unknown }> = [];
    const server = http.createServer((req, res) => {
      try {
        seen.push({ upgrade: (req as { upgrade?: unknown }).upgrade, found: takeoverOf(req, res) });
      } catch (error) {
        seen.push({ upgrade: undefined, found: error });
      }
      res.setHeader('Connection', 'close');
      res.end();
    });
    const port = await listen(server);
    try {
      const first = await RawClient.open(port);
      first.write(handshake());
      await first.responseAndClose();
      // Once an `upgrade` listener exists, Node hands upgrades over itself.
      server.on('upgrade', (req: IncomingMessage, socket: Socket) => {
        server.emit('request', req, upgradeResponse(req, socket));
      });
      const second = await RawClient.open(port);
      second.write(handshake());
      await second.responseAndClose();
    } finally {
      await closeServer(server);
    }
    expect(seen).to.have.length(2);
    const [requestPath, upgradePath] = seen;
    if (requestPath?.found instanceof Error) throw requestPath.found;
    expect(requestPath?.upgrade).to.equal(false);
    expect(requestPath?.found).to.be.instanceOf(ServerTakeover);
    expect(upgradePath?.upgrade).to.equal(true);
    expect(upgradePath?.found).to.equal(undefined);
  });

  const adapters = {
    express: (onError: (error: unknown) => void, breaker: Breaker, handler: () => void) => {
      const app = express();
      app.use((req, res, next) => {
        if (req.headers['x-break']) breaker(req, res);
        next();
      });
      const sockets = expressWebsocket({ onError, heartbeat: false });
      app.use(sockets);
      app.websocket('/', async (socket) => {
        handler();
        await socket.accept();
        await socket.sendText('open');
      });
      return http.createServer(app);
    },
    koa: (onError: (error: unknown) => void, breaker: Breaker, handler: () => void) => {
      const app = new Koa();
      app.use((ctx, next) => {
        if (ctx.get('x-break')) breaker(ctx.req, ctx.res);
        return next();
      });
      const sockets = koaWebsocket({ onError, heartbeat: false });
      app.use(sockets);
      app.use(async (ctx) => {
        if (!ctx.websocket) return;
        handler();
        await ctx.websocket.accept();
        await ctx.websocket.sendText('open');
      });
      return http.createServer(app.callback());
    },
  };

  for (const [adapter, build] of Object.entries(adapters)) {
    for (const [name, breaker] of Object.entries(breakers)) {
      it(`${adapter}: ${name} → 500, onError names it, nothing is half taken over`, async () => {
        const errors: unknown[] = [];
        let handled = 0;
        const server = build(
          (error) => errors.push(error),
          breaker.apply,
          () => handled++,
        );
        const port = await listen(server);
        try {
          const broken = await RawClient.open(port);
          broken.write(handshake({ headers: { 'X-Break': '1' } }));
          const answer = await broken.responseAndClose();
          expect(answer.status).to.equal(500);
          // The client learns nothing of the server's internals; the operator does.
          expect(answer.body).not.to.include('Node');
          expect(broken.serverClosed).to.equal(true);
          expect(handled).to.equal(0);
          expect(errors).to.have.length(1);
          const error = errors[0];
          expect(error).to.be.instanceOf(NodeInternalsError);
          expect((error as Error).message).to.include(process.version);
          expect((error as Error).message).to.include(breaker.missing);
          expect((error as Error).message).to.include('sockets.attach(server)');

          // The server is unharmed: the next connection upgrades as usual.
          const healthy = await RawClient.open(port);
          healthy.write(handshake());
          expect((await healthy.response()).status).to.equal(101);
          await healthy.waitFor((data) => data.includes('open'), "the handler's message");
          healthy.destroy();
          expect(handled).to.equal(1);
          expect(errors).to.have.length(1);
        } finally {
          await closeServer(server);
        }
      });
    }
  }
});
