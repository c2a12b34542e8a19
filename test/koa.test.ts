import http from 'node:http';
import Router from '@koa/router';
import { expect } from 'chai';
import Koa from 'koa';
import request from 'superwstest';
import { websocket, withWebSocket } from '../adapters/koa/index.js';
import type { WebSocket } from '../lib/index.js';
import { cleanup } from './support/cleanup.js';
import { captureOutput } from './support/output.js';
import { refusal } from './support/refusal.js';
import { type Served, serve } from './support/servers.js';
import { until } from './support/waiting.js';

/*
 * What is specific to Koa: `app.listen()`, `app.websocket()` and @koa/router routes, `ctx`
 * (`ctx.websocket`, `ctx.params`, `ctx.state`, `ctx.throw`). What both adapters do alike is in
 * test/adapters.test.ts.
 */

/** A Koa app with the plugin installed (heartbeat off: tests wait on events, not timers). */
function setup(options: Parameters<typeof websocket>[0] = {}) {
  const app = withWebSocket(new Koa());
  const sockets = websocket({ heartbeat: false, ...options });
  app.use(sockets);
  return { app, sockets };
}

/** Serves `app` through `http.createServer(app.callback())` (closed by `cleanup()`). */
function start(app: Koa, sockets: ReturnType<typeof websocket>): Promise<Served> {
  return serve(http.createServer(app.callback()), { sockets });
}

async function echoText(socket: WebSocket): Promise<void> {
  await socket.accept();
  for await (const text of socket.iterText()) await socket.sendText(text);
}

describe('wsgate/koa', () => {
  afterEach(cleanup);

  it('serves through app.listen(): echoes text and closes 1000 when the client closes', async () => {
    const { app, sockets } = setup();
    app.websocket('/echo', (socket) => echoText(socket));
    const served = await serve(app.listen(0, '127.0.0.1'), { sockets, started: true });
    await request(served.server)
      .ws('/echo')
      .sendText('hello')
      .expectText('hello')
      .sendText('again')
      .expectText('again')
      .close(1000, 'done')
      .expectClosed(1000, 'done');
  });

  describe('app.websocket routing', () => {
    it('matches @koa/router path syntax and fills ctx.params and socket.params (decoded)', async () => {
      const { app, sockets } = setup();
      app.websocket('/rooms/:room/users/:user', async (socket, ctx) => {
        await socket.accept();
        await socket.sendJson({ ctx: ctx.params, socket: socket.params, url: socket.url.href });
      });
      const served = await start(app, sockets);
      const port = new URL(served.url).port;
      await request(served.server)
        .ws('/rooms/caf%C3%A9/users/7/?x=1')
        .expectJson({
          ctx: { room: 'café', user: '7' },
          socket: { room: 'café', user: '7' },
          url: `ws://127.0.0.1:${port}/rooms/caf%C3%A9/users/7/?x=1`,
        })
        .expectClosed(1000);
    });

    it('runs route middleware in order before the handler, with ctx.websocket set', async () => {
      const { app, sockets } = setup();
      const seen: string[] = [];
      app.websocket(
        '/chain',
        async (ctx, next) => {
          seen.push(`one:${ctx.websocket.applicationState}`);
          ctx.state.user = 'ada';
          await next();
          seen.push('one:after');
        },
        (_ctx, next) => {
          seen.push('two');
          return next();
        },
        async (socket, ctx) => {
          seen.push('handler');
          await socket.accept();
          await socket.sendText(String(ctx.state.user));
        },
      );
      const served = await start(app, sockets);
      await request(served.server).ws('/chain').expectText('ada').expectClosed(1000);
      await until(() => seen.length === 4);
      expect(seen).to.deep.equal(['one:CONNECTING', 'two', 'handler', 'one:after']);
    });

    it('lets a plain GET to a websocket path fall through to the next middleware, without ctx.websocket', async () => {
      const { app, sockets } = setup();
      let handlerRan = false;
      app.websocket('/page', () => {
        handlerRan = true;
      });
      app.use((ctx) => {
        ctx.body = { page: ctx.path, websocket: typeof ctx.websocket };
      });
      const served = await start(app, sockets);
      const response = await fetch(`${served.http}/page`);
      expect(response.status).to.equal(200);
      expect(await response.json()).to.deep.equal({ page: '/page', websocket: 'undefined' });
      expect(handlerRan).to.equal(false);
    });

    it('rejects a route without a handler when it is added', () => {
      const app = new Koa() as unknown as { websocket(...args: unknown[]): unknown };
      expect(() => app.websocket('/x')).to.throw(TypeError, /handler/);
      expect(() => app.websocket('/x', 'nope', () => {})).to.throw(TypeError, /middleware/);
    });
  });

  describe('router.websocket (@koa/router)', () => {
    it('routes with params and a prefix; socket.url is the full original path', async () => {
      const { app, sockets } = setup();
      const router = withWebSocket(new Router({ prefix: '/api' }));
      router.websocket('/rooms/:room', async (socket, ctx) => {
        await socket.accept();
        await socket.sendJson({
          param: ctx.params.room,
          socketParam: socket.params.room,
          path: socket.url.pathname,
          query: socket.query.get('q'),
        });
      });
      app.use(router.routes());
      const served = await start(app, sockets);
      await request(served.server)
        .ws('/api/rooms/lobby?q=1')
        .expectJson({ param: 'lobby', socketParam: 'lobby', path: '/api/rooms/lobby', query: '1' })
        .expectClosed(1000);
    });

    it('works in nested routers, with the parent params', async () => {
      const { app, sockets } = setup();
      const child = withWebSocket(new Router());
      child.websocket('/feed/:feed', async (socket, ctx) => {
        await socket.accept();
        await socket.sendJson({
          params: ctx.params,
          socket: socket.params,
          path: socket.url.pathname,
        });
      });
      const parent = new Router();
      parent.use('/orgs/:org', child.routes());
      const root = new Router({ prefix: '/v1' });
      root.use(parent.routes());
      app.use(root.routes());
      const served = await start(app, sockets);
      await request(served.server)
        .ws('/v1/orgs/acme/feed/news')
        .expectJson({
          params: { org: 'acme', feed: 'news' },
          socket: { org: 'acme', feed: 'news' },
          path: '/v1/orgs/acme/feed/news',
        })
        .expectClosed(1000);
    });

    it('lets a plain GET fall through to the next matching route, and the same path serve both', async () => {
      const { app, sockets } = setup();
      const router = withWebSocket(new Router());
      router.websocket('/live', async (socket) => {
        await socket.accept();
        await socket.sendText('socket');
      });
      router.get('/live', (ctx) => {
        ctx.body = 'page';
      });
      app.use(router.routes());
      const served = await start(app, sockets);
      const response = await fetch(`${served.http}/live`);
      expect(await response.text()).to.equal('page');
      await request(served.server).ws('/live').expectText('socket').expectClosed(1000);
    });

    it('runs per-route middleware that refuses with ctx.status and ctx.body', async () => {
      const { app, sockets } = setup();
      const router = withWebSocket(new Router());
      let handlerRan = false;
      router.websocket(
        '/private/:id',
        (ctx, next) => {
          if (ctx.get('authorization') !== 'Bearer good') {
            ctx.status = 401;
            ctx.set('WWW-Authenticate', 'Bearer');
            ctx.body = { error: 'no token', id: ctx.params.id };
            return;
          }
          return next();
        },
        async (socket) => {
          handlerRan = true;
          await socket.accept();
          await socket.sendText('welcome');
        },
      );
      app.use(router.routes());
      const served = await start(app, sockets);
      const response = await refusal(`${served.url}/private/9`);
      expect(response.status).to.equal(401);
      expect(response.headers['www-authenticate']).to.equal('Bearer');
      expect(JSON.parse(response.body)).to.deep.equal({ error: 'no token', id: '9' });
      expect(handlerRan).to.equal(false);
      await request(served.server)
        .ws('/private/9')
        .set('Authorization', 'Bearer good')
        .expectText('welcome')
        .expectClosed(1000);
    });
  });

  describe('ctx.websocket (routing by hand)', () => {
    it('is the socket on upgrades and undefined on plain requests', async () => {
      const { app, sockets } = setup();
      const kinds: string[] = [];
      app.use(async (ctx, next) => {
        kinds.push(ctx.websocket === undefined ? 'none' : ctx.websocket.applicationState);
        if (ctx.websocket && ctx.path === '/by-hand') {
          await ctx.websocket.accept();
          await ctx.websocket.sendText(`hi ${ctx.websocket.query.get('name')}`);
          await ctx.websocket.receiveText();
          return;
        }
        await next();
      });
      app.use((ctx) => {
        ctx.body = 'plain';
      });
      const served = await start(app, sockets);
      expect(await (await fetch(`${served.http}/by-hand`)).text()).to.equal('plain');
      // The middleware returned while connected: closed 1000 when the chain settles.
      await request(served.server)
        .ws('/by-hand?name=ada')
        .expectText('hi ada')
        .sendText('bye')
        .expectClosed(1000);
      expect(kinds).to.deep.equal(['none', 'CONNECTING']);
    });

    it('leaves an upgrade nobody answered to Koa: the status and body middleware set', async () => {
      const { app, sockets } = setup();
      app.use((ctx) => {
        if (ctx.websocket) {
          ctx.status = 429;
          ctx.body = 'slow down';
        }
      });
      const served = await start(app, sockets);
      const response = await refusal(`${served.url}/anything`);
      expect(response.status).to.equal(429);
      expect(response.body).to.equal('slow down');
    });
  });

  describe('ctx.throw and HttpError', () => {
    it('answers ctx.throw(403, message) with that status and message, without logging', async () => {
      const { app, sockets } = setup();
      app.websocket(
        '/admin',
        (ctx) => ctx.throw(403, 'admins only'),
        (socket) => socket.accept(),
      );
      const served = await start(app, sockets);
      const logged = await captureOutput(async () => {
        const response = await refusal(`${served.url}/admin`);
        expect(response.status).to.equal(403);
        expect(response.body).to.equal('admins only');
      });
      expect(logged).to.deep.equal([]);
    });

    it('uses the status of an HttpError thrown before accept', async () => {
      const { app, sockets } = setup();
      app.websocket('/teapot', (_socket, ctx) => ctx.throw(418));
      const served = await start(app, sockets);
      await request(served.server).ws('/teapot').expectConnectionError(418);
    });
  });
});
