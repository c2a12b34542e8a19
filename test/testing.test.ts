// wsgate/testing: the in-memory client, against Express, Koa and a bare request listener. Every
// row of the contract, and the promise behind it: no port, and nothing left running.

import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { expect } from 'chai';
import express, { type NextFunction, type Request, type Response } from 'express';
import Koa, { type Context, type Next } from 'koa';
import { WebSocket as WsClient } from 'ws';
import { websocket as expressWebSocket } from '../adapters/express/index.js';
import { websocket as koaWebSocket, withWebSocket } from '../adapters/koa/index.js';
import {
  type WebSocket,
  WebSocketDisconnect,
  type WebSocketPlugin,
  type WebSocketPluginOptions,
} from '../lib/index.js';
import {
  type ConnectOptions,
  connect,
  type TestedApp,
  type TestWebSocket,
  WebSocketRefused,
} from '../lib/testing/index.js';
import { until } from './support/waiting.js';

const run = promisify(execFile);

/** A promise and its resolve function, for handlers that wait for the test. */
function gate(): { promise: Promise<void>; open: () => void } {
  let open = (): void => {};
  const promise = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { promise, open };
}

/** What the handlers of one test app saw. */
interface Seen {
  /** Disconnects the handlers received, in order. */
  disconnects: Array<{ code: number; reason: string }>;
  /** Errors that reached `onError`. */
  errors: unknown[];
  /** Holds `/wait` before it accepts and `/slow` before it reads, until the test opens it. */
  gate: ReturnType<typeof gate>;
}

const SLOW_MESSAGES = 128;
const SLOW_SIZE = 4096;

/** The routes every test app has, whatever the framework: the same handler functions. */
function handlers(seen: Seen): Record<string, (socket: WebSocket) => Promise<void>> {
  const echo = async (socket: WebSocket): Promise<void> => {
    await socket.accept();
    for (;;) {
      const message = await socket.receive();
      if (message.type === 'disconnect') {
        seen.disconnects.push({ code: message.code, reason: message.reason });
        return;
      }
      if (message.type !== 'receive') continue;
      await socket.send(
        message.text === undefined
          ? { type: 'send', bytes: message.bytes }
          : { type: 'send', text: message.text },
      );
    }
  };
  return {
    '/echo': echo,
    '/auth': echo,
    '/whoami': async (socket) => {
      await socket.accept();
      await socket.sendJson({
        url: socket.url.href,
        host: socket.headers.host,
        origin: socket.headers.origin ?? null,
        cookie: socket.headers.cookie ?? null,
        offered: socket.subprotocols,
      });
    },
    '/choose': async (socket) => {
      const subprotocol = socket.subprotocols.includes('chat.v2') ? 'chat.v2' : undefined;
      await socket.accept({ subprotocol, headers: { 'X-Chosen': subprotocol ?? 'none' } });
      await socket.sendText('chosen');
    },
    '/refuse': (socket) => socket.close(),
    '/unanswered': async () => {},
    '/throw-before': async () => {
      throw new Error('thrown before accept');
    },
    '/throw-after': async (socket) => {
      await socket.accept();
      await socket.sendText('about to throw');
      throw new Error('thrown after accept');
    },
    '/bye': async (socket) => {
      await socket.accept();
      await socket.sendText('bye');
    },
    '/server-close': async (socket) => {
      await socket.accept();
      await socket.sendText('closing');
      await socket.close(4001, 'go away');
    },
    '/wait': async (socket) => {
      await seen.gate.promise;
      try {
        await socket.accept();
      } catch (error) {
        if (error instanceof WebSocketDisconnect)
          seen.disconnects.push({ code: error.code, reason: error.reason });
        throw error;
      }
    },
    '/rooms/:room': async (socket) => {
      await socket.accept();
      await socket.subscribe(`room:${socket.params.room}`);
      await socket.sendText('joined');
      await socket.receiveText().catch(() => {});
    },
    '/slow': async (socket) => {
      await socket.accept();
      await seen.gate.promise;
      let inOrder = true;
      for (let i = 0; i < SLOW_MESSAGES; i++) {
        const bytes = await socket.receiveBytes();
        inOrder &&= bytes.length === SLOW_SIZE && bytes[0] === i;
      }
      await socket.sendJson({ received: SLOW_MESSAGES, inOrder });
    },
  };
}

/** Allows clients without an Origin (the default) and one browser origin. */
const origins = (origin: string | undefined): boolean =>
  origin === undefined || origin === 'https://app.test';
const TOKEN = 'Bearer s3cret';
const UNAUTHORISED = { error: 'Log in first' };

interface Fixture {
  app: TestedApp;
  sockets: WebSocketPlugin;
  seen: Seen;
}

function expressFixture(options: WebSocketPluginOptions = {}): Fixture {
  const seen: Seen = { disconnects: [], errors: [], gate: gate() };
  const sockets = expressWebSocket({ origins, onError: (e) => seen.errors.push(e), ...options });
  const app = express();
  // Express's final handler logs the 500 rows' errors unless it runs in a test environment.
  app.set('env', 'test');
  app.use(sockets);
  const authorise = (req: Request, res: Response, next: NextFunction): void => {
    if (req.headers.authorization === TOKEN) {
      next();
      return;
    }
    res.status(401).set('WWW-Authenticate', 'Bearer').json(UNAUTHORISED);
  };
  for (const [path, handler] of Object.entries(handlers(seen))) {
    if (path === '/auth') app.websocket(path, authorise, handler);
    else app.websocket(path, handler);
  }
  return { app, sockets, seen };
}

function koaFixture(options: WebSocketPluginOptions = {}): Fixture {
  const seen: Seen = { disconnects: [], errors: [], gate: gate() };
  const sockets = koaWebSocket({ origins, onError: (e) => seen.errors.push(e), ...options });
  const app = withWebSocket(new Koa());
  // Koa logs the 500 rows' errors unless silent.
  app.silent = true;
  app.use(sockets);
  const authorise = async (ctx: Context, next: Next): Promise<void> => {
    if (ctx.get('authorization') === TOKEN) return next();
    ctx.status = 401;
    ctx.set('WWW-Authenticate', 'Bearer');
    ctx.body = UNAUTHORISED;
  };
  for (const [path, handler] of Object.entries(handlers(seen))) {
    if (path === '/auth') app.websocket(path, authorise, handler);
    else app.websocket(path, handler);
  }
  return { app, sockets, seen };
}

/** Any `(req, res)` listener: here one in front of an Express app, as a plain http server has. */
function listenerFixture(options: WebSocketPluginOptions = {}): Fixture {
  const fixture = expressFixture(options);
  const inner = fixture.app as (req: IncomingMessage, res: ServerResponse) => void;
  return { ...fixture, app: (req: IncomingMessage, res: ServerResponse) => inner(req, res) };
}

const frameworks = {
  Express: expressFixture,
  Koa: koaFixture,
  'a bare request listener': listenerFixture,
};

/** `process.getActiveResourcesInfo()` as counts: what keeps the process alive. */
function activeResources(): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const type of process.getActiveResourcesInfo()) counts[type] = (counts[type] ?? 0) + 1;
  return counts;
}

/** What `promise` rejected with; fails the test if it resolved. */
const rejection = (promise: Promise<unknown>): Promise<Error> =>
  promise.then(
    () => expect.fail('expected a rejection'),
    (error: unknown) => error as Error,
  );

/** Lets the event loop turn once. */
const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('wsgate/testing', () => {
  // No test here may open a port: every listen() call is counted.
  const realListen = net.Server.prototype.listen;
  let listens = 0;
  before(() => {
    net.Server.prototype.listen = function (this: net.Server, ...args: unknown[]) {
      listens++;
      return (realListen as (...a: unknown[]) => net.Server).apply(this, args);
    } as typeof realListen;
  });
  after(() => {
    net.Server.prototype.listen = realListen;
  });

  // Each test starts from what the previous one left: the same active resources, or a leak.
  let baseline: Record<string, number>;
  let fixture: Fixture | undefined;
  const clients: TestWebSocket[] = [];
  /** connect() to the test's app, closing the client after the test. */
  const open = async (path: string, options?: ConnectOptions): Promise<TestWebSocket> => {
    const ws = await connect((fixture as Fixture).app, path, options);
    clients.push(ws);
    return ws;
  };

  // Both hooks count after an await, so each sees its own mocha timer, and nothing else of
  // mocha's.
  beforeEach(async () => {
    await turn();
    listens = 0;
    baseline = activeResources();
  });

  afterEach(async () => {
    await Promise.all(clients.splice(0).map((ws) => ws.close()));
    fixture?.seen.gate.open();
    await fixture?.sockets.close();
    fixture = undefined;
    // Node frees an HTTP parser in the turn after a takeover.
    await turn();
    expect(listens, 'listen() calls').to.equal(0);
    expect(activeResources(), 'active resources').to.deep.equal(baseline);
  });

  for (const [name, make] of Object.entries(frameworks)) {
    describe(`on ${name}`, () => {
      const use = (options?: WebSocketPluginOptions): Fixture => {
        fixture = make(options);
        return fixture;
      };

      it('runs the handshake in memory: Host localhost, no Origin, no port, no TCP handle', async () => {
        use();
        const ws = await open('/whoami?x=1', { headers: { Cookie: 'session=abc' } });
        expect(await ws.receiveJson()).to.deep.equal({
          url: 'ws://localhost/whoami?x=1',
          host: 'localhost',
          origin: null,
          cookie: 'session=abc',
          offered: [],
        });
        const during = process.getActiveResourcesInfo();
        expect(during).to.not.include('TCPWrap');
        expect(during).to.not.include('TCPServerWrap');
        expect(ws.subprotocol).to.equal(undefined);
        expect(ws.headers.upgrade).to.equal('websocket');
        expect(Object.getPrototypeOf(ws.headers)).to.equal(Object.prototype);
      });

      it('sends and receives text, bytes and JSON in both modes, in order', async () => {
        use();
        const ws = await open('/echo');
        await ws.sendText('hello');
        await ws.sendBytes(new Uint8Array([1, 2, 3]));
        await ws.sendJson({ n: 1 });
        await ws.sendJson([true], { mode: 'binary' });
        expect(await ws.receiveText()).to.equal('hello');
        expect(await ws.receiveBytes()).to.deep.equal(Buffer.from([1, 2, 3]));
        expect(await ws.receiveJson()).to.deep.equal({ n: 1 });
        expect(await ws.receiveJson({ mode: 'binary' })).to.deep.equal([true]);
      });

      it('passes headers and a Host or Origin the test chooses', async () => {
        use();
        const ws = await open('/whoami', {
          headers: { Host: 'example.test:8080', Origin: 'https://app.test' },
        });
        expect(await ws.receiveJson()).to.deep.include({
          url: 'ws://example.test:8080/whoami',
          host: 'example.test:8080',
          origin: 'https://app.test',
        });
      });

      it('offers subprotocols; gives the chosen one and the 101 headers (lower-case)', async () => {
        use();
        const ws = await open('/choose', { subprotocols: ['chat.v1', 'chat.v2'] });
        expect(ws.subprotocol).to.equal('chat.v2');
        expect(ws.headers['sec-websocket-protocol']).to.equal('chat.v2');
        expect(ws.headers['x-chosen']).to.equal('chat.v2');
        expect(await ws.receiveText()).to.equal('chosen');
      });

      it('accepts a server that chooses none of the offered subprotocols, like a browser', async () => {
        use();
        const ws = await open('/choose', { subprotocols: ['chat.v1'] });
        expect(ws.subprotocol).to.equal(undefined);
        expect(ws.headers['x-chosen']).to.equal('none');
      });

      it("refuses with a middleware's 401, its headers and body", async () => {
        use();
        const refused = await rejection(connect((fixture as Fixture).app, '/auth'));
        expect(refused).to.be.instanceOf(WebSocketRefused).and.instanceOf(Error);
        const { status, headers, body } = refused as WebSocketRefused;
        expect(status).to.equal(401);
        expect(headers['www-authenticate']).to.equal('Bearer');
        expect(JSON.parse(body)).to.deep.equal(UNAUTHORISED);
        expect(refused.message).to.include('401');
        const ws = await open('/auth', { headers: { Authorization: TOKEN } });
        await ws.sendText('in');
        expect(await ws.receiveText()).to.equal('in');
      });

      for (const [path, status] of [
        ['/refuse', 403],
        ['/unanswered', 403],
        ['/nowhere', 404],
        ['/throw-before', 500],
      ] as const) {
        it(`refuses ${path} with ${status}`, async () => {
          use();
          const refused = await rejection(connect((fixture as Fixture).app, path));
          expect(refused).to.be.instanceOf(WebSocketRefused);
          expect((refused as WebSocketRefused).status).to.equal(status);
          expect((refused as WebSocketRefused).body).to.be.a('string');
        });
      }

      it('refuses a foreign Origin with 403 before any middleware runs', async () => {
        use();
        const refused = await rejection(
          connect((fixture as Fixture).app, '/auth', {
            headers: { Origin: 'https://evil.test', Authorization: TOKEN },
          }),
        );
        expect((refused as WebSocketRefused).status).to.equal(403);
      });

      it('1000 when the handler returns: messages first, then WebSocketDisconnect, closed', async () => {
        use();
        const ws = await open('/bye');
        expect(await ws.receiveText()).to.equal('bye');
        const gone = await rejection(ws.receiveText());
        expect(gone).to.be.instanceOf(WebSocketDisconnect);
        expect((gone as WebSocketDisconnect).code).to.equal(1000);
        expect(await ws.closed).to.deep.equal({ code: 1000, reason: '' });
        // Still closed, for any later receive or send.
        expect(await rejection(ws.receiveBytes())).to.be.instanceOf(WebSocketDisconnect);
        expect(await rejection(ws.sendText('late'))).to.be.instanceOf(WebSocketDisconnect);
      });

      it('1011 when the handler throws after accepting; the error goes to onError', async () => {
        const { seen } = use();
        const ws = await open('/throw-after');
        expect(await ws.receiveText()).to.equal('about to throw');
        expect(await ws.closed).to.deep.equal({ code: 1011, reason: '' });
        expect(await rejection(ws.receiveText())).to.have.property('code', 1011);
        expect(seen.errors.map((e) => (e as Error).message)).to.deep.equal(['thrown after accept']);
      });

      it("a receive pending when the server closes rejects at once with the server's code", async () => {
        use();
        const ws = await open('/server-close');
        expect(await ws.receiveText()).to.equal('closing');
        const started = performance.now();
        const gone = await rejection(ws.receiveText());
        expect(performance.now() - started).to.be.below(500);
        expect(gone).to.be.instanceOf(WebSocketDisconnect);
        expect(gone).to.include({ code: 4001, reason: 'go away' });
        expect(await ws.close()).to.deep.equal({ code: 4001, reason: 'go away' });
      });

      it("close(code, reason): the handler sees them, close() resolves with the server's answer", async () => {
        const { sockets, seen } = use();
        const ws = await open('/echo');
        expect(sockets.clients.size).to.equal(1);
        expect(await ws.close(4000, 'done here')).to.deep.equal({
          code: 4000,
          reason: 'done here',
        });
        await until(() => seen.disconnects.length > 0);
        expect(seen.disconnects).to.deep.equal([{ code: 4000, reason: 'done here' }]);
        expect(sockets.clients.size).to.equal(0);
        expect(await ws.closed).to.deep.equal({ code: 4000, reason: 'done here' });
        expect(await ws.close()).to.deep.equal({ code: 4000, reason: 'done here' });
      });

      it('sockets.close(): the client hears 1001', async () => {
        const { sockets } = use();
        const ws = await open('/echo');
        await sockets.close();
        expect(await ws.closed).to.deep.include({ code: 1001 });
        expect(await rejection(ws.receiveText())).to.have.property('code', 1001);
      });

      it('a receive waits at most `timeout`, says for what and how long; a late message waits', async () => {
        use();
        const ws = await open('/echo', { timeout: 100 });
        const started = performance.now();
        const timedOut = await rejection(ws.receiveText());
        expect(performance.now() - started).to.be.within(90, 1000);
        expect(timedOut.name).to.equal('TimeoutError');
        expect(timedOut.message).to.include('receiveText() on /echo').and.include('100 ms');
        await ws.sendText('late');
        expect(await ws.receiveText()).to.equal('late');
      });

      it('a message of the wrong frame kind rejects with a TypeError naming both, and is consumed', async () => {
        use();
        const ws = await open('/echo');
        await ws.sendBytes(Buffer.from('raw'));
        await ws.sendText('words');
        await ws.sendText('{"a":1}');
        await ws.sendJson({ b: 2 });
        const binary = await rejection(ws.receiveText());
        expect(binary).to.be.instanceOf(TypeError);
        expect(binary.message).to.match(/expected a text message and got a binary message/);
        const text = await rejection(ws.receiveBytes());
        expect(text).to.be.instanceOf(TypeError);
        expect(text.message).to.match(/expected a binary message and got a text message/);
        expect(text.message).to.include('"words"');
        expect(await rejection(ws.receiveJson({ mode: 'binary' }))).to.be.instanceOf(TypeError);
        expect(await ws.receiveJson()).to.deep.equal({ b: 2 });
      });

      it('invalid JSON is a SyntaxError that names JSON; an invalid mode consumes nothing', async () => {
        use();
        const ws = await open('/echo');
        await ws.sendText('not json');
        const invalid = await rejection(ws.receiveJson());
        expect(invalid).to.be.instanceOf(SyntaxError);
        expect(invalid.message).to.include('JSON');
        await ws.sendText('"next"');
        const mode = { mode: 'xml' } as unknown as { mode: 'text' };
        expect(await rejection(ws.receiveJson(mode))).to.be.instanceOf(TypeError);
        expect(await ws.receiveJson()).to.equal('next');
        expect(await rejection(ws.sendJson(1n))).to.be.instanceOf(TypeError);
      });

      it('a message over maxPayload closes the connection with 1009', async () => {
        use({ maxPayload: 1024 });
        const ws = await open('/echo');
        await ws.sendBytes(Buffer.alloc(1025));
        expect(await ws.closed).to.deep.include({ code: 1009 });
        expect(await rejection(ws.receiveBytes())).to.have.property('code', 1009);
      });

      it('flow control: a client flooding a handler that does not read is held back, nothing lost', async () => {
        const { seen } = use({ receiveBuffer: SLOW_SIZE * 2 });
        const ws = await open('/slow');
        let written = 0;
        const sends = Array.from({ length: SLOW_MESSAGES }, (_, i) =>
          ws.sendBytes(Buffer.alloc(SLOW_SIZE, i)).then(() => written++),
        );
        await sleep(50);
        // Paused above receiveBuffer: the rest waits in the client, as it would in TCP buffers.
        expect(written).to.be.below(SLOW_MESSAGES);
        seen.gate.open();
        await Promise.all(sends);
        expect(await ws.receiveJson()).to.deep.equal({ received: SLOW_MESSAGES, inOrder: true });
      });

      it('close() to a server that stopped reading gives up after `timeout` with 1006', async () => {
        use({ receiveBuffer: SLOW_SIZE });
        const ws = await open('/slow', { timeout: 100 });
        const sends = Array.from({ length: SLOW_MESSAGES }, (_, i) =>
          ws.sendBytes(Buffer.alloc(SLOW_SIZE, i)),
        );
        const started = performance.now();
        expect(await ws.close()).to.deep.equal({ code: 1006, reason: '' });
        expect(performance.now() - started).to.be.below(1_000);
        // None of the sends waiting for the server to read is left pending.
        await Promise.allSettled(sends);
      });

      it('heartbeat: pings are answered, the connection stays up', async () => {
        const { sockets } = use({ heartbeat: { interval: 20, timeout: 500 } });
        const pong = WsClient.prototype.pong;
        let pongs = 0;
        WsClient.prototype.pong = function (this: WsClient, ...args: Parameters<typeof pong>) {
          pongs++;
          return pong.apply(this, args);
        };
        try {
          const ws = await open('/echo');
          await sleep(150);
          expect(pongs).to.be.at.least(2);
          expect(sockets.clients.size).to.equal(1);
          await ws.sendText('still here');
          expect(await ws.receiveText()).to.equal('still here');
        } finally {
          WsClient.prototype.pong = pong;
        }
      });

      it('many clients at once: topics reach each of them, sockets.clients counts them', async () => {
        const { sockets } = use();
        const room = (i: number): string => (i % 2 === 0 ? 'even' : 'odd');
        const all = await Promise.all(
          Array.from({ length: 20 }, (_, i) => open(`/rooms/${room(i)}`)),
        );
        for (const ws of all) expect(await ws.receiveText()).to.equal('joined');
        expect(sockets.clients.size).to.equal(20);
        await sockets.publish('room:even', 'to the evens');
        await sockets.publishJson('room:odd', { to: 'odds' });
        for (const [i, ws] of all.entries()) {
          if (room(i) === 'even') expect(await ws.receiveText()).to.equal('to the evens');
          else expect(await ws.receiveJson()).to.deep.equal({ to: 'odds' });
        }
      });

      it('connect() gives up after `timeout`; the handler then finds the client gone', async () => {
        const { seen } = use();
        const started = performance.now();
        const timedOut = await rejection(
          connect((fixture as Fixture).app, '/wait', { timeout: 100 }),
        );
        expect(performance.now() - started).to.be.within(90, 1000);
        expect(timedOut.name).to.equal('TimeoutError');
        expect(timedOut.message).to.include('/wait').and.include('100 ms');
        seen.gate.open();
        await until(() => seen.disconnects.length > 0);
        expect(seen.disconnects[0]).to.include({ code: 1006 });
      });
    });
  }

  describe('anywhere', () => {
    it('a receive waits 2 000 ms by default', async function () {
      this.timeout(5_000);
      fixture = koaFixture();
      const ws = await open('/echo');
      const started = performance.now();
      const timedOut = await rejection(ws.receiveBytes());
      expect(performance.now() - started).to.be.within(1_950, 3_000);
      expect(timedOut.message).to.equal(
        'receiveBytes() on /echo waited 2000 ms for a message, and none came',
      );
    });

    it('receives waiting at once are served in call order', async () => {
      fixture = expressFixture();
      const ws = await open('/echo');
      const received = [ws.receiveText(), ws.receiveText(), ws.receiveText()];
      for (const text of ['a', 'b', 'c']) await ws.sendText(text);
      expect(await Promise.all(received)).to.deep.equal(['a', 'b', 'c']);
    });

    it('a process that connected, was refused, timed out and closed exits by itself', async function () {
      this.timeout(20_000);
      // No sockets.close(), no process.exit(): only what the client leaves behind could hold it.
      const script = `
        import express from 'express';
        import { websocket } from './adapters/express/index.ts';
        import { connect } from './lib/testing/index.ts';
        const app = express();
        app.use(websocket());
        app.websocket('/echo', async (socket) => {
          await socket.accept();
          for await (const text of socket.iterText()) await socket.sendText(text);
        });
        const refused = await connect(app, '/nowhere').catch((error) => error.status);
        const ws = await connect(app, '/echo', { timeout: 50 });
        const timedOut = await ws.receiveText().catch((error) => error.name);
        await ws.sendText('hi');
        const echoed = await ws.receiveText();
        console.log(JSON.stringify([refused, timedOut, echoed, await ws.close()]));`;
      const { stdout } = await run(
        process.execPath,
        ['--import', 'tsx/esm', '--input-type=module', '-e', script],
        { cwd: fileURLToPath(new URL('..', import.meta.url)), timeout: 15_000 },
      );
      expect(JSON.parse(stdout)).to.deep.equal([
        404,
        'TimeoutError',
        'hi',
        { code: 1000, reason: '' },
      ]);
    });

    it('rejects invalid arguments before connecting', async () => {
      fixture = expressFixture();
      const { app } = fixture;
      expect(await rejection(connect(app, 'echo'))).to.be.instanceOf(TypeError);
      expect(await rejection(connect(app, '/echo', { timeout: 0 }))).to.be.instanceOf(RangeError);
      const repeated = connect(app, '/echo', { subprotocols: ['a', 'a'] });
      expect(await rejection(repeated)).to.be.instanceOf(TypeError);
      const invalid = connect(app, '/echo', { subprotocols: ['with space'] });
      expect(await rejection(invalid)).to.be.instanceOf(TypeError);
    });

    it('an invalid close code rejects and sends nothing', async () => {
      fixture = expressFixture();
      const ws = await open('/echo');
      expect(await rejection(ws.close(1005))).to.be.instanceOf(TypeError);
      await ws.sendText('open');
      expect(await ws.receiveText()).to.equal('open');
    });

    it('rejects a 101 that chooses a subprotocol the client did not offer', async () => {
      // A hand-written 101, as no wsgate app can send one.
      const listener = (req: IncomingMessage): void => {
        const accept = createHash('sha1')
          .update(`${req.headers['sec-websocket-key']}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`)
          .digest('base64');
        req.socket.write(
          'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
            `Sec-WebSocket-Accept: ${accept}\r\nSec-WebSocket-Protocol: other\r\n\r\n`,
        );
      };
      const error = await rejection(connect(listener, '/', { subprotocols: ['mine'] }));
      expect(error.message).to.include('"other", which was not offered');
    });

    it('the Koa app object and its callback() are the same app', async () => {
      const koa = koaFixture();
      fixture = koa;
      const app = koa.app as Koa;
      for (const target of [app, app.callback()]) {
        const ws = await connect(target, '/bye');
        expect(await ws.receiveText()).to.equal('bye');
        expect(await ws.closed).to.deep.equal({ code: 1000, reason: '' });
      }
    });

    it('a client that connects after a refusal and a timeout still gets through', async () => {
      fixture = expressFixture();
      const { app } = fixture;
      await rejection(connect(app, '/nowhere'));
      await rejection(connect(app, '/wait', { timeout: 50 }));
      const ws = await connect(app, '/bye');
      expect(await ws.receiveText()).to.equal('bye');
      await ws.closed;
    });
  });
});
