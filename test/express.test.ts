import http from 'node:http';
import { expect } from 'chai';
import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import request from 'superwstest';
import {
  type WebSocket,
  type WebSocketMiddleware,
  type WebSocketPluginOptions,
  websocket,
} from '../adapters/express/index.js';
import { WebSocketDisconnect } from '../lib/index.js';
import { base, closed, deferred, nextMessage, Resources, refusal } from './express-support.js';

describe('wsgate/express', () => {
  const res = new Resources();
  afterEach(() => res.close());

  /** An app with the plugin installed, `routes` added, served by `http.createServer(app)`. */
  async function start(
    routes: (app: Express, sockets: WebSocketMiddleware) => void,
    options?: WebSocketPluginOptions,
  ): Promise<{ app: Express; sockets: WebSocketMiddleware; server: http.Server; url: string }> {
    const app = express();
    // Express's default error handler logs to stderr unless the env is 'test'.
    app.set('env', 'test');
    const sockets = res.plugin(websocket(options));
    app.use(sockets);
    routes(app, sockets);
    const server = await res.listen(http.createServer(app));
    return { app, sockets, server, url: base(server) };
  }

  /** A handler that accepts and echoes text until the client leaves. */
  async function echo(socket: WebSocket): Promise<void> {
    await socket.accept();
    for await (const text of socket.iterText()) await socket.sendText(`echo: ${text}`);
  }

  /** A handler that accepts and reports how the client left. */
  function watchDisconnect() {
    const left = deferred<WebSocketDisconnect>();
    const handler = async (socket: WebSocket): Promise<void> => {
      await socket.accept();
      try {
        await socket.receiveText();
        left.reject(new Error('received a message instead of a disconnect'));
      } catch (error) {
        if (error instanceof WebSocketDisconnect) left.resolve(error);
        else left.reject(error);
        throw error;
      }
    };
    return { handler, left: left.promise };
  }

  describe('messages', () => {
    it('echoes text', async () => {
      const { server } = await start((app) => app.websocket('/echo', echo));
      await request(server)
        .ws('/echo')
        .sendText('hello')
        .expectText('echo: hello')
        .sendText('again')
        .expectText('echo: again')
        .close(1000)
        .expectClosed(1000);
    });

    it('echoes binary', async () => {
      const { server } = await start((app) => {
        app.websocket('/bytes', async (socket) => {
          await socket.accept();
          for await (const bytes of socket.iterBytes()) await socket.sendBytes(bytes.reverse());
        });
      });
      await request(server)
        .ws('/bytes')
        .sendBinary([1, 2, 3, 255])
        .expectBinary([255, 3, 2, 1])
        .close()
        .expectClosed();
    });

    it('echoes JSON in text mode (text frames)', async () => {
      const { server } = await start((app) => {
        app.websocket('/json', async (socket) => {
          await socket.accept();
          const value = await socket.receiveJson<{ n: number }>();
          await socket.sendJson({ doubled: value.n * 2 });
        });
      });
      await request(server)
        .ws('/json')
        .sendJson({ n: 21 })
        .expectText('{"doubled":42}')
        .expectClosed(1000);
    });

    it('echoes JSON in binary mode (binary frames)', async () => {
      const { server } = await start((app) => {
        app.websocket('/json', async (socket) => {
          await socket.accept();
          const value = await socket.receiveJson<{ n: number }>({ mode: 'binary' });
          await socket.sendJson({ doubled: value.n * 2 }, { mode: 'binary' });
        });
      });
      await request(server)
        .ws('/json')
        .sendBinary(Buffer.from(JSON.stringify({ n: 5 })))
        .expectBinary(Buffer.from('{"doubled":10}'))
        .expectClosed(1000);
    });
  });

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

    it('runs global middleware first: its refusal reaches the client with status and body', async () => {
      let handled = false;
      const { url } = await start((app) => {
        app.use((req, res, next) => {
          if (req.headers.authorization === 'Bearer good') next();
          else res.status(401).json({ error: 'login first' });
        });
        app.websocket('/private', (socket) => {
          handled = true;
          return echo(socket);
        });
      });
      const answer = await refusal(`${url.replace('ws', 'http')}/private`);
      expect(answer.status).to.equal(401);
      expect(answer.headers['content-type']).to.match(/^application\/json/);
      expect(JSON.parse(answer.body)).to.deep.equal({ error: 'login first' });
      expect(answer.headers.upgrade).to.equal(undefined);
      expect(handled).to.equal(false);
      const client = await res.connect(`${url}/private`, [], {
        headers: { authorization: 'Bearer good' },
      });
      client.send('in');
      expect((await nextMessage(client)).data.toString()).to.equal('echo: in');
    });

    it('runs per-route middleware in order; a refusal there reaches the client', async () => {
      const order: string[] = [];
      const { url } = await start((app) => {
        app.websocket(
          '/limited/:n',
          (_req, _res, next) => {
            order.push('first');
            next();
          },
          (req, res, next) => {
            order.push('second');
            if (req.params.n === 'ok') next();
            else res.status(429).set('Retry-After', '30').type('text').send('Too many sockets');
          },
          async (socket) => {
            order.push('handler');
            await socket.accept();
          },
        );
      });
      const answer = await refusal(`${url.replace('ws', 'http')}/limited/no`);
      expect(answer.status).to.equal(429);
      expect(answer.headers['retry-after']).to.equal('30');
      expect(answer.body).to.equal('Too many sockets');
      expect(order).to.deep.equal(['first', 'second']);
      const client = await res.connect(`${url}/limited/ok`);
      expect((await closed(client)).code).to.equal(1000);
      expect(order).to.deep.equal(['first', 'second', 'first', 'second', 'handler']);
    });

    it('sends next(err) from middleware through the app error handler', async () => {
      const seen = deferred<string>();
      const { url } = await start((app) => {
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
      const answer = await refusal(`${url.replace('ws', 'http')}/broken`);
      expect(answer.status).to.equal(503);
      expect(answer.body).to.equal('unavailable: no session store');
      expect(await seen.promise).to.equal('no session store');
    });

    it('lets a plain GET fall through to the next route on the same path', async () => {
      const { server, url } = await start((app) => {
        // A plain GET skips the whole websocket route, its middleware included.
        app.websocket(
          '/chat',
          (req, res, next) => {
            if (req.headers.upgrade === undefined) res.status(400).send('not for plain GETs');
            else next();
          },
          echo,
        );
        app.get('/chat', (_req, res) => {
          res.type('html').send('<h1>chat page</h1>');
        });
      });
      const page = await fetch(`${url.replace('ws', 'http')}/chat`);
      expect(page.status).to.equal(200);
      expect(await page.text()).to.equal('<h1>chat page</h1>');
      await request(server).ws('/chat').sendText('x').expectText('echo: x').close().expectClosed();
    });

    it("answers an upgrade that no route takes with the app's 404 and closes it", async () => {
      const { url } = await start((app) => {
        app.websocket('/chat', echo);
      });
      const answer = await refusal(`${url.replace('ws', 'http')}/nowhere`);
      expect(answer.status).to.equal(404);
      expect(answer.body).to.contain('Cannot GET /nowhere');
      expect(answer.headers.connection).to.equal('close');
    });

    it('answers an upgrade to a websocket route without the plugin with a clear error', async () => {
      const app = express();
      const seen = deferred<string>();
      app.websocket('/chat', echo);
      app.use((error: Error, _req: Request, res: Response, _next: NextFunction) => {
        seen.resolve(error.message);
        res.status(500).send('no plugin');
      });
      const server = await res.listen(http.createServer(app));
      const answer = await refusal(`${base(server, 'http')}/chat`);
      expect(answer.status).to.equal(500);
      expect(await seen.promise).to.contain('app.use(websocket())');
      // A plain GET still falls through (to the 404 here).
      expect((await fetch(`${base(server, 'http')}/chat`)).status).to.equal(404);
    });

    it('throws a TypeError when .websocket() gets no handler', () => {
      const app = express();
      const untyped = app as unknown as { websocket(path: string): unknown };
      expect(() => untyped.websocket('/x')).to.throw(TypeError, /handler/);
    });
  });

  describe('lifecycle', () => {
    it('refuses with 403 when the handler closes before accept', async () => {
      const { url } = await start((app) => {
        app.websocket('/nope', (socket) => socket.close());
      });
      const answer = await refusal(`${url.replace('ws', 'http')}/nope`);
      expect(answer.status).to.equal(403);
    });

    it('refuses with 403 when the handler returns without accepting', async () => {
      const { url } = await start((app) => {
        app.websocket('/silent', async () => {});
      });
      const answer = await refusal(`${url.replace('ws', 'http')}/silent`);
      expect(answer.status).to.equal(403);
    });

    it("answers 500 through Express's error handling when the handler throws before accept", async () => {
      const errors: unknown[] = [];
      const { url } = await start(
        (app) => {
          app.websocket('/fail', async () => {
            throw new Error('database down');
          });
        },
        { onError: (error) => errors.push(error) },
      );
      const answer = await refusal(`${url.replace('ws', 'http')}/fail`);
      expect(answer.status).to.equal(500);
      expect(errors).to.deep.equal([]);
    });

    it('closes with 1011 when the handler throws after accept; onError once; others unaffected', async () => {
      const reported = deferred<unknown>();
      const errors: unknown[] = [];
      const boom = new Error('boom');
      const { url } = await start(
        (app) => {
          app.websocket('/echo', echo);
          app.websocket('/boom', async (socket) => {
            await socket.accept();
            await socket.receiveText();
            throw boom;
          });
        },
        {
          onError: (error) => {
            errors.push(error);
            reported.resolve(error);
          },
        },
      );
      const other = await res.connect(`${url}/echo`);
      const failing = await res.connect(`${url}/boom`);
      const failed = closed(failing);
      failing.send('trigger');
      expect((await failed).code).to.equal(1011);
      expect(await reported.promise).to.equal(boom);
      other.send('still here');
      expect((await nextMessage(other)).data.toString()).to.equal('echo: still here');
      expect(errors).to.deep.equal([boom]);
    });

    it('closes with 1000 when the handler returns while connected', async () => {
      const { server } = await start((app) => {
        app.websocket('/hello', async (socket) => {
          await socket.accept();
          await socket.sendText('hi and bye');
        });
      });
      await request(server).ws('/hello').expectText('hi and bye').expectClosed(1000, '');
    });

    it("gives the handler the client's close code and reason as WebSocketDisconnect", async () => {
      const errors: unknown[] = [];
      const { handler, left } = watchDisconnect();
      const { url } = await start((app) => app.websocket('/watch', handler), {
        onError: (error) => errors.push(error),
      });
      const client = await res.connect(`${url}/watch`);
      client.close(4001, 'see you');
      const disconnect = await left;
      expect(disconnect.code).to.equal(4001);
      expect(disconnect.reason).to.equal('see you');
      expect(errors).to.deep.equal([]);
    });

    it('gives the handler 1006 when the client connection breaks', async () => {
      const { handler, left } = watchDisconnect();
      const { url } = await start((app) => app.websocket('/watch', handler));
      const client = await res.connect(`${url}/watch`);
      client.terminate();
      expect((await left).code).to.equal(1006);
    });
  });

  describe('handshake', () => {
    it('negotiates the subprotocol the handler chose', async () => {
      const { server } = await start((app) => {
        app.websocket('/proto', async (socket) => {
          await socket.accept({ subprotocol: 'v2.chat' });
          await socket.sendJson(socket.subprotocols);
        });
      });
      await request(server)
        .ws('/proto', ['v1.chat', 'v2.chat'])
        .expectUpgrade((upgrade) => upgrade.headers['sec-websocket-protocol'] === 'v2.chat')
        .expectJson(['v1.chat', 'v2.chat'])
        .expectClosed(1000);
    });

    it('adds the accept() headers to the 101 response', async () => {
      const { server } = await start((app) => {
        app.websocket('/headers', async (socket) => {
          await socket.accept({ headers: { 'x-session': 'abc', 'set-cookie': ['a=1', 'b=2'] } });
        });
      });
      await request(server)
        .ws('/headers')
        .expectUpgrade((upgrade) => {
          expect(upgrade.statusCode).to.equal(101);
          expect(upgrade.headers['x-session']).to.equal('abc');
          expect(upgrade.headers['set-cookie']).to.deep.equal(['a=1', 'b=2']);
          // No subprotocol unless the handler chose one.
          expect(upgrade.headers['sec-websocket-protocol']).to.equal(undefined);
        })
        .expectClosed(1000);
    });

    it('refuses a disallowed Origin with 403 before any middleware or handler runs', async () => {
      const ran: string[] = [];
      const { url } = await start(
        (app) => {
          app.use((_req, _res, next) => {
            ran.push('middleware');
            next();
          });
          app.websocket('/o', async (socket) => {
            ran.push('handler');
            await socket.accept();
          });
        },
        { origins: ['https://good.example'] },
      );
      const answer = await refusal(`${url.replace('ws', 'http')}/o`, {
        Origin: 'https://evil.example',
      });
      expect(answer.status).to.equal(403);
      expect(ran).to.deep.equal([]);
      const client = await res.connect(`${url}/o`, [], { origin: 'https://good.example' });
      expect((await closed(client)).code).to.equal(1000);
      expect(ran).to.deep.equal(['middleware', 'handler']);
    });

    it('closes with 1009 when a message exceeds maxPayload', async () => {
      const { server } = await start((app) => app.websocket('/small', echo), { maxPayload: 16 });
      await request(server)
        .ws('/small')
        .sendText('0123456789abcdef')
        .expectText('echo: 0123456789abcdef')
        .sendText('0123456789abcdefg')
        .expectClosed(1009);
    });

    it('negotiates permessage-deflate when enabled', async () => {
      const { url } = await start((app) => app.websocket('/z', echo), { perMessageDeflate: true });
      const client = await res.connect(`${url}/z`);
      expect(client.extensions).to.contain('permessage-deflate');
      client.send('squeeze');
      expect((await nextMessage(client)).data.toString()).to.equal('echo: squeeze');
    });

    it('terminates a client that does not answer pings (1006 in the handler)', async () => {
      const { handler, left } = watchDisconnect();
      const { url } = await start((app) => app.websocket('/hb', handler), {
        heartbeat: { interval: 30, timeout: 30 },
      });
      await res.connect(`${url}/hb`, [], { autoPong: false });
      expect((await left).code).to.equal(1006);
    });
  });

  describe('plugin', () => {
    it('close() closes every socket with 1001, resolves, then refuses upgrades with 503', async () => {
      const { sockets, url } = await start((app) => app.websocket('/echo', echo));
      const a = await res.connect(`${url}/echo`);
      const b = await res.connect(`${url}/echo`);
      const aClosed = closed(a);
      const bClosed = closed(b);
      expect(sockets.clients.size).to.equal(2);
      await sockets.close();
      expect(sockets.clients.size).to.equal(0);
      expect((await aClosed).code).to.equal(1001);
      expect((await bClosed).code).to.equal(1001);
      const answer = await refusal(`${url.replace('ws', 'http')}/echo`);
      expect(answer.status).to.equal(503);
    });

    it('close(code, reason) uses that code and reason', async () => {
      const { sockets, url } = await start((app) => app.websocket('/echo', echo));
      const client = await res.connect(`${url}/echo`);
      const done = closed(client);
      await sockets.close(4000, 'restarting');
      expect(await done).to.deep.equal({ code: 4000, reason: 'restarting' });
    });

    it('counts accepted, open sockets in clients', async () => {
      const { handler, left } = watchDisconnect();
      const { sockets, url } = await start((app) => app.websocket('/watch', handler));
      expect(sockets.clients.size).to.equal(0);
      const client = await res.connect(`${url}/watch`);
      expect(sockets.clients.size).to.equal(1);
      const [socket] = sockets.clients;
      expect(socket?.url.pathname).to.equal('/watch');
      client.close();
      await left;
      expect(sockets.clients.size).to.equal(0);
    });

    it('keeps each plugin instance to its own clients', async () => {
      const first = res.plugin(websocket());
      const second = res.plugin(websocket());
      const app = express();
      app.use('/one', first);
      app.use('/two', second);
      app.websocket(['/one/echo', '/two/echo'], echo);
      const server = await res.listen(http.createServer(app));
      await res.connect(`${base(server)}/two/echo`);
      expect(first.clients.size).to.equal(0);
      expect(second.clients.size).to.equal(1);
    });
  });
});
