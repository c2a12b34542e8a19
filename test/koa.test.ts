import { once } from 'node:events';
import Router from '@koa/router';
import { expect } from 'chai';
import Koa from 'koa';
import request from 'superwstest';
import { WebSocket as Client } from 'ws';
import { websocket, withWebSocket } from '../adapters/koa/index.js';
import { type WebSocket, WebSocketDisconnect } from '../lib/index.js';
import { closeAll, type Served, serve } from './koa-support.js';
import { closed, connect, nextMessage, refusal, signal, until } from './support/plain-server.js';

/** A Koa app with the plugin installed (heartbeat off: tests wait on events, not timers). */
function setup(options: Parameters<typeof websocket>[0] = {}) {
  const app = withWebSocket(new Koa());
  const sockets = websocket({ heartbeat: false, ...options });
  app.use(sockets);
  return { app, sockets };
}

async function echoText(socket: WebSocket): Promise<void> {
  await socket.accept();
  for await (const text of socket.iterText()) await socket.sendText(text);
}

describe('wsgate/koa', () => {
  afterEach(closeAll);

  describe('echo', () => {
    for (const how of ['listen', 'createServer'] as const) {
      it(`echoes text and closes 1000 when the client closes (app.${how === 'listen' ? 'listen()' : 'callback()'})`, async () => {
        const { app, sockets } = setup();
        app.websocket('/echo', (socket) => echoText(socket));
        const served = await serve(app, sockets, how);
        await request(served.server)
          .ws('/echo')
          .sendText('hello')
          .expectText('hello')
          .sendText('again')
          .expectText('again')
          .close(1000, 'done')
          .expectClosed(1000, 'done');
      });
    }

    it('echoes binary messages as binary', async () => {
      const { app, sockets } = setup();
      app.websocket('/bytes', async (socket) => {
        await socket.accept();
        for await (const bytes of socket.iterBytes()) await socket.sendBytes(bytes);
      });
      const served = await serve(app, sockets);
      await request(served.server)
        .ws('/bytes')
        .sendBinary([0, 1, 254, 255])
        .expectBinary([0, 1, 254, 255])
        .close(1000)
        .expectClosed(1000);
    });

    it('echoes JSON in text and in binary mode', async () => {
      const { app, sockets } = setup();
      app.websocket('/json/:mode', async (socket, ctx) => {
        const mode = ctx.params.mode === 'binary' ? 'binary' : 'text';
        await socket.accept();
        for await (const value of socket.iterJson({ mode })) {
          await socket.sendJson({ echo: value }, { mode });
        }
      });
      const served = await serve(app, sockets);
      await request(served.server)
        .ws('/json/text')
        .sendJson({ a: [1, 'two'] })
        .expectMessage(
          (message) => ({ isBinary: message.isBinary, value: JSON.parse(message.data.toString()) }),
          { isBinary: false, value: { echo: { a: [1, 'two'] } } },
        )
        .close();
      await request(served.server)
        .ws('/json/binary')
        .sendBinary(Buffer.from('{"b":true}'))
        .expectMessage(
          (message) => ({ isBinary: message.isBinary, value: JSON.parse(message.data.toString()) }),
          { isBinary: true, value: { echo: { b: true } } },
        )
        .close();
    });
  });

  describe('app.websocket routing', () => {
    it('matches @koa/router path syntax and fills ctx.params and socket.params (decoded)', async () => {
      const { app, sockets } = setup();
      app.websocket('/rooms/:room/users/:user', async (socket, ctx) => {
        await socket.accept();
        await socket.sendJson({ ctx: ctx.params, socket: socket.params, url: socket.url.href });
      });
      const served = await serve(app, sockets);
      const port = new URL(served.ws).port;
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
      const served = await serve(app, sockets);
      await request(served.server).ws('/chain').expectText('ada').expectClosed(1000);
      await until(() => seen.length === 4);
      expect(seen).to.deep.equal(['one:CONNECTING', 'two', 'handler', 'one:after']);
    });

    it('lets a plain GET to a websocket path fall through to the next middleware', async () => {
      const { app, sockets } = setup();
      let handlerRan = false;
      app.websocket('/page', () => {
        handlerRan = true;
      });
      app.use((ctx) => {
        ctx.body = { page: ctx.path, websocket: typeof ctx.websocket };
      });
      const served = await serve(app, sockets);
      const response = await fetch(`${served.http}/page`);
      expect(response.status).to.equal(200);
      expect(await response.json()).to.deep.equal({ page: '/page', websocket: 'undefined' });
      expect(handlerRan).to.equal(false);
    });

    it('answers an upgrade no route takes with 404 and closes the connection', async () => {
      const { app, sockets } = setup();
      app.websocket('/known', (socket) => socket.accept());
      const served = await serve(app, sockets);
      const response = await refusal(`${served.ws}/unknown`);
      expect(response.status).to.equal(404);
      expect(response.body).to.equal('Not Found');
      expect(response.headers.connection).to.equal('close');
      expect(sockets.clients.size).to.equal(0);
    });

    it('throws a clear error (500) when an upgrade reaches a route without websocket()', async () => {
      const app = withWebSocket(new Koa());
      const errors: Error[] = [];
      app.on('error', (error: Error) => errors.push(error));
      app.websocket('/x', (socket) => socket.accept());
      const served = await serve(app, undefined);
      const response = await refusal(`${served.ws}/x`);
      expect(response.status).to.equal(500);
      expect(errors).to.have.length(1);
      expect(errors[0]?.message).to.match(/app\.use\(websocket\(\)\)/);
      // Plain requests are not affected by the missing plugin.
      expect((await fetch(`${served.http}/x`)).status).to.equal(404);
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
      const served = await serve(app, sockets);
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
      const served = await serve(app, sockets);
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
      const served = await serve(app, sockets);
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
      const served = await serve(app, sockets);
      const response = await refusal(`${served.ws}/private/9`);
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
      const served = await serve(app, sockets);
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
      const served = await serve(app, sockets);
      const response = await refusal(`${served.ws}/anything`);
      expect(response.status).to.equal(429);
      expect(response.body).to.equal('slow down');
    });
  });

  describe('refusing in middleware', () => {
    it('answers with the status and JSON body a global middleware set', async () => {
      const { app, sockets } = setup();
      app.use(async (ctx, next) => {
        if (ctx.query.token !== 'ok') {
          ctx.status = 401;
          ctx.body = { error: 'unauthorized' };
          return;
        }
        await next();
      });
      app.websocket('/secure', (socket) => echoText(socket));
      const served = await serve(app, sockets);
      const response = await refusal(`${served.ws}/secure`);
      expect(response.status).to.equal(401);
      expect(response.headers['content-type']).to.match(/^application\/json/);
      expect(JSON.parse(response.body)).to.deep.equal({ error: 'unauthorized' });
      await request(served.server)
        .ws('/secure?token=ok')
        .sendText('in')
        .expectText('in')
        .close(1000)
        .expectClosed(1000);
    });

    it('answers ctx.throw(403, message) with that status and message, without logging', async () => {
      const { app, sockets } = setup();
      app.websocket(
        '/admin',
        (ctx) => ctx.throw(403, 'admins only'),
        (socket) => socket.accept(),
      );
      const served = await serve(app, sockets);
      const logged: unknown[] = [];
      const original = console.error;
      console.error = (...args: unknown[]) => logged.push(args);
      try {
        const response = await refusal(`${served.ws}/admin`);
        expect(response.status).to.equal(403);
        expect(response.body).to.equal('admins only');
      } finally {
        console.error = original;
      }
      expect(logged).to.deep.equal([]);
    });
  });

  describe('lifecycle', () => {
    it('refuses with 403 when the handler closes before accept', async () => {
      const { app, sockets } = setup();
      app.websocket('/close-first', (socket) => socket.close());
      const served = await serve(app, sockets);
      const response = await refusal(`${served.ws}/close-first`);
      expect(response.status).to.equal(403);
    });

    it('refuses with 403 when the handler returns without accepting', async () => {
      const { app, sockets } = setup();
      app.websocket('/no-accept', async () => {});
      const served = await serve(app, sockets);
      await request(served.server).ws('/no-accept').expectConnectionError(403);
    });

    it('answers 500 through Koa error handling when the handler throws before accept', async () => {
      const { app, sockets } = setup();
      const errors: Error[] = [];
      app.on('error', (error: Error) => errors.push(error));
      app.websocket('/boom', () => {
        throw new Error('before accept');
      });
      const served = await serve(app, sockets);
      const response = await refusal(`${served.ws}/boom`);
      expect(response.status).to.equal(500);
      expect(response.body).to.equal('Internal Server Error');
      expect(errors.map((error) => error.message)).to.deep.equal(['before accept']);
    });

    it('uses the status of an HttpError thrown before accept', async () => {
      const { app, sockets } = setup();
      app.websocket('/teapot', (_socket, ctx) => ctx.throw(418));
      const served = await serve(app, sockets);
      await request(served.server).ws('/teapot').expectConnectionError(418);
    });

    it('closes 1011 when the handler throws after accept; onError once; others unaffected', async () => {
      const reported: unknown[] = [];
      const { app, sockets } = setup({ onError: (error) => reported.push(error) });
      const koaErrors: Error[] = [];
      app.on('error', (error: Error) => koaErrors.push(error));
      app.websocket('/echo', (socket) => echoText(socket));
      app.websocket('/fail', async (socket) => {
        await socket.accept();
        await socket.receiveText();
        throw new Error('after accept');
      });
      const served = await serve(app, sockets);
      const survivor = await connect(`${served.ws}/echo`);
      const failing = await connect(`${served.ws}/fail`);
      const failure = closed(failing);
      failing.send('go');
      expect((await failure).code).to.equal(1011);
      expect(reported).to.have.length(1);
      expect((reported[0] as Error).message).to.equal('after accept');
      expect(koaErrors).to.deep.equal([]);
      const reply = nextMessage(survivor);
      survivor.send('still here');
      expect((await reply).data.toString()).to.equal('still here');
      survivor.close();
      await once(survivor, 'close');
    });

    it('closes 1000 when the handler returns while connected', async () => {
      const { app, sockets } = setup();
      app.websocket('/short', async (socket) => {
        await socket.accept();
        await socket.sendText('bye');
      });
      const served = await serve(app, sockets);
      await request(served.server).ws('/short').expectText('bye').expectClosed(1000, '');
    });

    it("hands the client's close code and reason to WebSocketDisconnect, without onError", async () => {
      const seen = signal<WebSocketDisconnect>();
      const reported: unknown[] = [];
      const { app, sockets } = setup({ onError: (error) => reported.push(error) });
      app.websocket('/wait', async (socket) => {
        await socket.accept();
        try {
          await socket.receiveText();
        } catch (error) {
          if (error instanceof WebSocketDisconnect) seen.resolve(error);
          throw error;
        }
      });
      const served = await serve(app, sockets);
      await request(served.server).ws('/wait').close(4001, 'see you').expectClosed(4001, 'see you');
      const disconnect = await seen.promise;
      expect([disconnect.code, disconnect.reason]).to.deep.equal([4001, 'see you']);
      await until(() => sockets.clients.size === 0);
      expect(reported).to.deep.equal([]);
    });

    it('reports 1006 when the client drops the connection', async () => {
      const seen = signal<WebSocketDisconnect>();
      const accepted = signal();
      const { app, sockets } = setup();
      app.websocket('/drop', async (socket) => {
        await socket.accept();
        accepted.resolve();
        await socket.receiveBytes().catch((error: WebSocketDisconnect) => seen.resolve(error));
      });
      const served = await serve(app, sockets);
      const client = await connect(`${served.ws}/drop`);
      await accepted.promise;
      client.terminate();
      expect((await seen.promise).code).to.equal(1006);
    });
  });

  describe('handshake options', () => {
    it('negotiates the subprotocol the handler chooses', async () => {
      const { app, sockets } = setup();
      app.websocket('/proto', async (socket) => {
        await socket.accept({ subprotocol: 'v2.chat' });
        await socket.sendJson(socket.subprotocols);
      });
      const served = await serve(app, sockets);
      const ws = await request(served.server)
        .ws('/proto', ['v1.chat', 'v2.chat'])
        .expectJson(['v1.chat', 'v2.chat']);
      expect(ws.protocol).to.equal('v2.chat');
    });

    it('adds the accept headers to the 101 response', async () => {
      const { app, sockets } = setup();
      app.websocket('/headers', (socket) =>
        socket.accept({ headers: { 'X-Served-By': 'koa', 'Set-Cookie': ['a=1', 'b=2'] } }),
      );
      const served = await serve(app, sockets);
      await request(served.server)
        .ws('/headers')
        .expectUpgrade((res) => {
          expect(res.statusCode).to.equal(101);
          expect(res.headers['x-served-by']).to.equal('koa');
          expect(res.headers['set-cookie']).to.deep.equal(['a=1', 'b=2']);
        })
        .expectClosed(1000);
    });

    it('refuses origins that are not allowed with 403 before any middleware runs', async () => {
      const { app, sockets } = setup({ origins: ['https://good.example'] });
      let middlewareRan = 0;
      app.use(async (_ctx, next) => {
        middlewareRan++;
        await next();
      });
      app.websocket('/o', (socket) => socket.accept());
      const served = await serve(app, sockets);
      await request(served.server)
        .ws('/o', { headers: { Origin: 'https://evil.example' } })
        .expectConnectionError(403);
      expect(middlewareRan).to.equal(0);
      await request(served.server)
        .ws('/o', { headers: { Origin: 'https://good.example' } })
        .expectClosed(1000);
      expect(middlewareRan).to.equal(1);
    });

    it('closes with 1009 when a message exceeds maxPayload', async () => {
      const { app, sockets } = setup({ maxPayload: 16 });
      const seen = signal<WebSocketDisconnect>();
      app.websocket('/small', async (socket) => {
        await socket.accept();
        await socket.receiveText().catch((error: WebSocketDisconnect) => seen.resolve(error));
      });
      const served = await serve(app, sockets);
      await request(served.server).ws('/small').sendText('x'.repeat(17)).expectClosed(1009);
      expect((await seen.promise).code).to.equal(1009);
    });
  });

  describe('the plugin', () => {
    it('counts open clients and closes all with 1001 on close(); later upgrades get 503', async () => {
      const { app, sockets } = setup();
      app.websocket('/hold', (socket) => echoText(socket));
      const served = await serve(app, sockets);
      const clients = await Promise.all([
        connect(`${served.ws}/hold`),
        connect(`${served.ws}/hold`),
        connect(`${served.ws}/hold`),
      ]);
      await until(() => sockets.clients.size === 3);
      const codes = Promise.all(clients.map((client) => closed(client)));
      await sockets.close();
      expect(sockets.clients.size).to.equal(0);
      expect((await codes).map((close) => close.code)).to.deep.equal([1001, 1001, 1001]);
      const late = await refusal(`${served.ws}/hold`);
      expect(late.status).to.equal(503);
    });

    it('keeps each plugin instance separate (clients of one app only)', async () => {
      const one = setup();
      const two = setup();
      one.app.websocket('/a', (socket) => echoText(socket));
      two.app.websocket('/b', (socket) => echoText(socket));
      const servedOne = await serve(one.app, one.sockets);
      const servedTwo = await serve(two.app, two.sockets);
      const a = await connect(`${servedOne.ws}/a`);
      await until(() => one.sockets.clients.size === 1);
      expect(two.sockets.clients.size).to.equal(0);
      const b = await connect(`${servedTwo.ws}/b`);
      await until(() => two.sockets.clients.size === 1);
      a.close();
      b.close();
      await Promise.all([once(a, 'close'), once(b, 'close')]);
      await until(() => one.sockets.clients.size === 0 && two.sockets.clients.size === 0);
    });
  });

  describe('another upgrade listener on the same server', () => {
    it('shares the server through sockets.attach(server, { filter })', async () => {
      const { app, sockets } = setup();
      app.websocket('/ours', (socket) => echoText(socket));
      const { WebSocketServer } = await import('ws');
      const theirs = new WebSocketServer({ noServer: true });
      theirs.on('connection', (client) => client.send('theirs'));
      let detach: (() => void) | undefined;
      const served: Served = await serve(app, sockets, 'createServer', (server) => {
        server.on('upgrade', (req, socket, head) => {
          if (!req.url?.startsWith('/theirs')) return;
          theirs.handleUpgrade(req, socket, head, (client) => theirs.emit('connection', client));
        });
        detach = sockets.attach(server, { filter: (req) => !req.url?.startsWith('/theirs') });
      });
      try {
        const other = new Client(`${served.ws}/theirs`);
        const [greeting] = (await once(other, 'message')) as [Buffer];
        expect(greeting.toString()).to.equal('theirs');
        other.close();
        await request(served.server).ws('/ours').sendText('mine').expectText('mine').close();
        const missing = await refusal(`${served.ws}/nowhere`);
        expect(missing.status).to.equal(404);
      } finally {
        detach?.();
        theirs.close();
      }
    });
  });
});
