import { once } from 'node:events';
import http from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import Router from '@koa/router';
import { expect } from 'chai';
import express5 from 'express';
import Koa3 from 'koa';
// Koa 2, installed under an alias next to Koa 3.
import Koa2 from 'koa2';
import { WebSocket as Client } from 'ws';
import { websocket as expressWebsocket, type WebSocketPlugin } from '../adapters/express/index.js';
import { websocket as koaWebsocket, withWebSocket } from '../adapters/koa/index.js';
import { installApplication } from '../adapters/koa/install.js';
import { express4 } from './support/express-majors.js';
import { handshake, RawClient } from './support/raw-client.js';

// What importing `wsgate/koa` does to the Koa it resolves, done to Koa 2 here.
installApplication(Koa2);

/**
 * The same app on every supported major of each framework: a room route under a mounted router
 * (params, echo), a middleware refusing with 401, a route returning without accepting (403), and
 * a path no route takes (404).
 */
type Build = () => { listener: http.RequestListener; sockets: WebSocketPlugin };

function expressApp(framework: typeof express5): Build {
  return () => {
    const app = framework();
    app.set('env', 'test');
    const sockets = expressWebsocket({ heartbeat: false });
    app.use(sockets);
    app.use('/private', (_req, res) => {
      res.status(401).send('login first');
    });
    const router = framework.Router();
    router.websocket('/rooms/:room', async (socket, req) => {
      await socket.accept();
      for await (const text of socket.iterText()) {
        await socket.sendText(`${req.params.room} ${socket.url.pathname}: ${text}`);
      }
    });
    app.use('/api', router);
    app.websocket('/silent', () => {});
    return { listener: app, sockets };
  };
}

function koaApp(Koa: typeof Koa3): Build {
  return () => {
    const app = withWebSocket(new Koa());
    const sockets = koaWebsocket({ heartbeat: false });
    app.use(sockets);
    app.use(async (ctx, next) => {
      if (ctx.path !== '/private') return next();
      ctx.status = 401;
      ctx.body = 'login first';
    });
    const router = withWebSocket(new Router({ prefix: '/api' }));
    router.websocket('/rooms/:room', async (socket, ctx) => {
      await socket.accept();
      for await (const text of socket.iterText()) {
        await socket.sendText(`${ctx.params.room} ${socket.url.pathname}: ${text}`);
      }
    });
    app.use(router.routes());
    app.websocket('/silent', () => {});
    return { listener: app.callback(), sockets };
  };
}

const majors: Array<{ name: string; module: string; major: number; build: Build }> = [
  { name: 'Express 4', module: 'express4', major: 4, build: expressApp(express4) },
  { name: 'Express 5', module: 'express', major: 5, build: expressApp(express5) },
  { name: 'Koa 2', module: 'koa2', major: 2, build: koaApp(Koa2) },
  { name: 'Koa 3', module: 'koa', major: 3, build: koaApp(Koa3) },
];

const require = createRequire(import.meta.url);

async function refusalOf(port: number, path: string) {
  const client = await RawClient.open(port);
  client.write(handshake({ path }));
  return client.responseAndClose();
}

describe('every supported framework major, on the request path and through attach()', () => {
  for (const { name, module, major, build } of majors) {
    describe(name, () => {
      it(`runs against ${name} itself`, () => {
        const { version } = require(`${module}/package.json`) as { version: string };
        expect(version.split('.')[0]).to.equal(String(major));
      });

      for (const path of ['request', 'attach'] as const) {
        it(`${path} path: echoes under a mounted router, refuses 401/403/404`, async () => {
          const { listener, sockets } = build();
          const server = http.createServer(listener);
          if (path === 'attach') sockets.attach(server);
          server.listen(0, '127.0.0.1');
          await once(server, 'listening');
          const { port } = server.address() as AddressInfo;
          try {
            const client = new Client(`ws://127.0.0.1:${port}/api/rooms/red`);
            await once(client, 'open');
            const reply = once(client, 'message');
            client.send('hi');
            expect(String((await reply)[0])).to.equal('red /api/rooms/red: hi');
            const closed = once(client, 'close');
            client.close(1000, 'bye');
            expect(Number((await closed)[0])).to.equal(1000);

            const refused = await refusalOf(port, '/private');
            expect([refused.status, refused.body]).to.deep.equal([401, 'login first']);
            expect((await refusalOf(port, '/silent')).status).to.equal(403);
            expect((await refusalOf(port, '/nowhere')).status).to.equal(404);
            expect(sockets.clients.size).to.equal(0);
          } finally {
            await sockets.close();
            server.closeAllConnections();
            await new Promise((resolve) => server.close(resolve));
          }
        });
      }
    });
  }
});
