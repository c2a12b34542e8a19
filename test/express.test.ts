import http from 'node:http';
import { expect } from 'chai';
import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import request from 'superwstest';
import { type WebSocket, type WebSocketMiddleware, websocket } from '../adapters/express/index.js';
import { cleanup } from './support/cleanup.js';
import { connect } from './support/clients.js';
import { refusal } from './support/refusal.js';
import { type Served, serve } from './support/servers.js';
import { deferred } from './support/waiting.js';

/*
 * What is specific to Express: its routers and `req`, its error handling, `app.websocket()`.
 * What both adapters do alike is in test/adapters.test.ts.
 */

describe('wsgate/express', () => {
  afterEach(cleanup);

  /** An app with the plugin installed and `routes` added, served by `http.createServer(app)`. */
  async function start(
    routes: (app: Express, sockets: WebSocketMiddleware) => void,
  ): Promise<Served & { app: Express; sockets: WebSocketMiddleware }> {
    const app = express();
    // Express's default error handler logs to stderr unless the env is 'test'.
    app.set('env', 'test');
    const sockets = websocket();
    app.use(sockets);
    routes(app, sockets);
    return { ...(await serve(http.createServer(app), { sockets })), app, sockets };
  }

  /** A handler that accepts and echoes text until the client leaves. */
  async function echo(socket: WebSocket): Promise<void> {
    await socket.accept();
    for await (const text of socket.iterText()) await socket.sendText(`echo: ${text}`);
  }

  describe('routing', () => {
    it('fills req.params and socket.params from the path, and socket.query', async () => {
      const { server } = await start((app) => {
        app.websocket('/rooms/:room/users/:user', async (socket, req) => {
          await socket.accept();
          await socket.sendJson({
            req: req.params,
            socket: socket.params,
            q: socket.query.get('q'),
          });
        });
      });
      await request(server)
        .ws('/rooms/lobby/users/ann?q=1')
        .expectJson({
          req: { room: 'lobby', user: 'ann' },
          socket: { room: 'lobby', user: 'ann' },
          q: '1',
        })
        .expectClosed(1000);
    });

    it('routes through nested routers under prefixes; socket.url is the full path', async () => {
      const { server } = await start((app) => {
        const outer = express.Router();
        const inner = express.Router();
        inner.websocket('/rooms/:room', async (socket, req) => {
          await socket.accept();
          await socket.sendJson({
            path: socket.url.pathname,
            search: socket.url.search,
            protocol: socket.url.protocol,
            room: req.params.room,
            params: socket.params,
            baseUrl: req.baseUrl,
          });
        });
        outer.use('/v1', inner);
        app.use('/api', outer);
      });
      await request(server)
        .ws('/api/v1/rooms/blue?x=y')
        .expectJson({
          path: '/api/v1/rooms/blue',
          search: '?x=y',
          protocol: 'ws:',
          room: 'blue',
          params: { room: 'blue' },
          baseUrl: '/api/v1',
        })
        .expectClosed(1000);
    });

    it('joins a wildcard parameter with / in socket.params', async () => {
      const { server } = await start((app) => {
        app.websocket('/files/*path', async (socket, req) => {
          await socket.accept();
          await socket.sendJson({ req: req.params.path, socket: socket.params.path });
        });
      });
      await request(server)
        .ws('/files/a/b/c.txt')
        .expectJson({ req: ['a', 'b', 'c.txt'], socket: 'a/b/c.txt' })
        .expectClosed(1000);
    });

    it('sends next(err) from middleware through the app error handler', async () => {
      const seen = deferred<string>();
      const { http: url } = await start((app) => {
        app.websocket(
          '/broken',
          (_req, _res, next) => next(new Error('no session store')),
          (socket) => socket.accept(),
        );
        app.use((error: Error, _req: Request, res: Response, _next: NextFunction) => {
          seen.resolve(error.message);
          res.status(503).send(`unavailable: ${error.message}`);
        });
      });
      const answer = await refusal(`${url}/broken`);
      expect(answer.status).to.equal(503);
      expect(answer.body).to.equal('unavailable: no session store');
      expect(await seen.promise).to.equal('no session store');
    });

    it('throws a TypeError when .websocket() gets no handler', () => {
      const app = express();
      const untyped = app as unknown as { websocket(path: string): unknown };
      expect(() => untyped.websocket('/x')).to.throw(TypeError, /handler/);
    });
  });

  describe('plugin', () => {
    it('keeps each plugin instance mounted on one app to its own clients', async () => {
      const first = websocket();
      const second = websocket();
      const app = express();
      app.use('/one', first);
      app.use('/two', second);
      app.websocket(['/one/echo', '/two/echo'], echo);
      const { url } = await serve(http.createServer(app), { sockets: [first, second] });
      await connect(`${url}/two/echo`);
      expect(first.clients.size).to.equal(0);
      expect(second.clients.size).to.equal(1);
    });
  });
});
