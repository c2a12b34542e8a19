import { once } from 'node:events';
import { expect } from 'chai';
import { type WebSocket, WebSocketDisconnect, WebSocketStateError } from '../lib/index.js';
import type { WebSocketPluginOptions } from '../lib/server/index.js';
import { cleanup } from './support/cleanup.js';
import { closed, connect, received } from './support/clients.js';
import {
  type App,
  type Framework,
  frameworks,
  type Gate,
  type Handler,
} from './support/frameworks.js';
import { disconnectCode, echo, stillServes } from './support/handlers.js';
import { leakCheck } from './support/leaks.js';
import { captureNoise, captureOutput, printedNothingInTheEnd } from './support/output.js';
import { closeBody, frame, handshake, OPCODE, RawClient } from './support/raw-client.js';
import { refusal } from './support/refusal.js';
import { deferred, Recorder, tick, until } from './support/waiting.js';

/*
 * Faults through real Express and Koa apps: clients that vanish at every stage, half-open
 * connections, handler exceptions, abuse that must stay quiet, and application-level misuse of
 * the socket API. Every case runs against both adapters; the whole file runs with stderr and the
 * console captured (see the last test).
 */

const text = (payload: Buffer | string) => frame({ opcode: OPCODE.text, payload });

/** Waits until every server-side TCP connection of `app` has closed. */
function allConnectionsClosed(app: App): Promise<void> {
  return until(() => app.connections.size === 0, { emitter: app.events, event: 'close' });
}

const LONG_HEARTBEAT: WebSocketPluginOptions = { heartbeat: { interval: 60_000, timeout: 60_000 } };

// ---------------------------------------------------------------------------------------------
// 1. Clients that vanish

function vanishingClients(framework: Framework): void {
  describe('clients that vanish', () => {
    /** Serves, then checks for leaks around `scenario` (which must leave no client behind). */
    async function withoutLeaks(
      options: WebSocketPluginOptions,
      routes: Parameters<Framework['serve']>[1],
      scenario: (app: App) => Promise<void>,
    ): Promise<App> {
      const app = await framework.serve(options, routes);
      // The first upgrade on a server shows it to the Express plugin, which puts one listener in
      // front of the app for the server's life (lib/server/request-preparation.ts): one per
      // server by design, not per connection. The check starts after one.
      expect((await refusal(`${app.url}/no-route`)).status).to.equal(404);
      await allConnectionsClosed(app);
      const check = leakCheck({ server: app.server, process });
      await scenario(app);
      expect(app.sockets.clients.size, 'sockets.clients').to.equal(0);
      await allConnectionsClosed(app);
      const { before, after } = check.finish();
      expect(after, 'handles, listeners and timers after the client vanished').to.deep.equal(
        before,
      );
      expect(app.onErrors, 'onError').to.deep.equal([]);
      expect(app.frameworkErrors, 'framework errors').to.deep.equal([]);
      return app;
    }

    for (const how of ['destroy', 'reset'] as const) {
      const cut = (raw: RawClient) =>
        how === 'destroy' ? raw.socket.destroy() : raw.socket.resetAndDestroy();

      it(`TCP ${how} mid-message (half a frame written) → 1006, nothing leaks`, async () => {
        const ends = new Recorder();
        await withoutLeaks(
          LONG_HEARTBEAT,
          [{ path: '/echo', handler: echo(ends) }],
          async (app) => {
            const raw = await RawClient.upgraded(app.port, '/echo');
            expect(app.sockets.clients.size).to.equal(1);
            raw.write(text('whole'));
            await raw.waitFor((data) => data.includes('whole'), 'the echo');
            const half = text('x'.repeat(1000));
            raw.write(half.subarray(0, Math.floor(half.length / 2)));
            cut(raw);
            expect(disconnectCode(await ends.first())).to.equal(1006);
          },
        );
      });

      for (const where of ['an async middleware', 'the handler'] as const) {
        it(`TCP ${how} mid-handshake, while ${where} is pending → accept() throws 1006, nothing leaks`, async () => {
          const ends = new Recorder();
          const arrived = deferred();
          const release = deferred();
          let handlerRan = false;
          const wait: Gate = async () => {
            arrived.resolve();
            await release.promise;
            return undefined;
          };
          const handler: Handler = async (socket) => {
            handlerRan = true;
            if (where === 'the handler') {
              arrived.resolve();
              await release.promise;
            }
            try {
              await socket.accept();
            } catch (error) {
              ends.add(error);
              throw error;
            }
            ends.add('accepted');
          };
          const gates = where === 'an async middleware' ? [wait] : [];
          await withoutLeaks(LONG_HEARTBEAT, [{ path: '/slow', gates, handler }], async (app) => {
            const raw = await RawClient.open(app.port);
            raw.write(handshake({ path: '/slow' }));
            await arrived.promise;
            const [serverSide] = app.connections;
            cut(raw);
            if (serverSide && !serverSide.closed) {
              await new Promise((resolve) => serverSide.once('close', resolve));
            }
            release.resolve();
            const error = await ends.first();
            expect(handlerRan).to.equal(true);
            expect(error).to.be.instanceOf(WebSocketDisconnect);
            expect(disconnectCode(error)).to.equal(1006);
            expect(raw.received.length, 'nothing was sent').to.equal(0);
          });
        });
      }

      it(`TCP ${how} mid-handshake, then the middleware refuses (401) → quiet, nothing leaks`, async () => {
        const arrived = deferred();
        const release = deferred();
        let handlerRan = false;
        const refuseLater: Gate = async () => {
          arrived.resolve();
          await release.promise;
          return { status: 401, body: 'log in first' };
        };
        await withoutLeaks(
          LONG_HEARTBEAT,
          [
            {
              path: '/auth',
              gates: [refuseLater],
              handler: () => {
                handlerRan = true;
              },
            },
          ],
          async (app) => {
            const raw = await RawClient.open(app.port);
            raw.write(handshake({ path: '/auth' }));
            await arrived.promise;
            const [serverSide] = app.connections;
            cut(raw);
            if (serverSide && !serverSide.closed) {
              await new Promise((resolve) => serverSide.once('close', resolve));
            }
            release.resolve();
            // Let the refusal be written into the dead socket.
            await new Promise((resolve) => setImmediate(resolve));
            await new Promise((resolve) => setImmediate(resolve));
            expect(handlerRan).to.equal(false);
          },
        );
      });
    }

    it('the client vanishes while the handler sends in a loop → the send throws 1006, nothing leaks', async () => {
      const ends = new Recorder();
      let sent = 0;
      const chunk = Buffer.alloc(64 * 1024, 7);
      const handler: Handler = async (socket) => {
        await socket.accept();
        try {
          for (let i = 0; i < 10_000; i++) {
            await socket.sendBytes(chunk);
            sent++;
          }
          ends.add('the loop finished');
        } catch (error) {
          ends.add(error);
          throw error;
        }
      };
      await withoutLeaks(
        { ...LONG_HEARTBEAT, sendBuffer: 256 * 1024 },
        [{ path: '/firehose', handler }],
        async (app) => {
          const client = await connect(`${app.url}/firehose`);
          await once(client, 'message');
          client.terminate();
          expect(disconnectCode(await ends.first())).to.equal(1006);
          expect(sent).to.be.below(10_000);
        },
      );
    });

    it('the client stops reading, the handler waits for a drain, then the client vanishes → 1006, nothing leaks', async () => {
      const ends = new Recorder();
      const blocked = deferred();
      const chunk = Buffer.alloc(64 * 1024, 7);
      const handler: Handler = async (socket) => {
        await socket.accept();
        try {
          for (let i = 0; i < 10_000; i++) {
            let settled = false;
            const sending = socket.sendBytes(chunk);
            const settle = () => {
              settled = true;
            };
            sending.then(settle, settle);
            // Not settled after a full turn of the event loop: it waits for the client to drain.
            await new Promise((resolve) => setImmediate(resolve));
            if (!settled) blocked.resolve();
            await sending;
          }
          ends.add('the loop finished');
        } catch (error) {
          ends.add(error);
          throw error;
        }
      };
      await withoutLeaks(
        { ...LONG_HEARTBEAT, sendBuffer: 64 * 1024 },
        [{ path: '/firehose', handler }],
        async (app) => {
          const raw = await RawClient.upgraded(app.port, '/firehose');
          raw.socket.pause();
          await blocked.promise;
          raw.socket.destroy();
          expect(disconnectCode(await ends.first())).to.equal(1006);
        },
      );
    });
  });
}

// ---------------------------------------------------------------------------------------------
// 2. Half-open connections

function halfOpen(framework: Framework): void {
  describe('half-open connections', () => {
    it('drops a client that stops answering pings within interval + timeout (1006); others stay', async () => {
      const interval = 100;
      const timeout = 100;
      const ends = new Recorder<{ path: string; error: unknown; at: number }>();
      const handler: Handler = async (socket) => {
        await socket.accept();
        try {
          for (;;) await socket.sendText(await socket.receiveText());
        } catch (error) {
          ends.add({ path: socket.url.pathname, error, at: performance.now() });
          throw error;
        }
      };
      const app = await framework.serve({ heartbeat: { interval, timeout } }, [
        { path: '/echo', handler },
        { path: '/silent', handler },
      ]);
      const healthy = await connect(`${app.url}/echo`);
      const healthyAt = performance.now();
      const silent = await connect(`${app.url}/silent`, [], { autoPong: false });
      const silentAt = performance.now();
      let pings = 0;
      silent.on('ping', () => pings++);

      const { error, at, path } = await ends.first();
      expect(path).to.equal('/silent');
      expect(disconnectCode(error)).to.equal(1006);
      const elapsed = at - silentAt;
      // Timers may run late on a busy machine: a bounded slack above the contract's bound.
      expect(elapsed, 'dropped within interval + timeout').to.be.below(interval + timeout + 150);
      expect(elapsed, 'not before a ping went unanswered for `timeout`').to.be.at.least(
        timeout - 10,
      );
      expect(pings, 'pings the silent client got').to.be.at.least(1);
      expect((await closed(silent)).code, 'the client side sees the connection break').to.equal(
        1006,
      );
      expect(app.sockets.clients.size).to.equal(1);

      // The healthy client has answered pings for a few rounds and still works.
      const wait = Math.max(0, healthyAt + 3 * interval + timeout - performance.now());
      await new Promise((resolve) => setTimeout(resolve, wait));
      await stillServes(healthy);
      expect(ends.list).to.have.length(1);
      expect(app.onErrors).to.deep.equal([]);
    });
  });
}

// ---------------------------------------------------------------------------------------------
// 3. Handler exceptions

interface ExceptionCase {
  name: string;
  /** The handler, given the error to throw. */
  handler: (boom: unknown) => Handler;
  /** What the client must send to trigger the failure, after the 101. */
  send?: string[];
  boom?: unknown;
  /** After accept: the close code the client sees (1011 unless the handler closed itself). */
  closeCode?: number;
}

const BEFORE_ACCEPT: ExceptionCase[] = [
  {
    name: 'throws synchronously',
    handler: (boom) => () => {
      throw boom;
    },
  },
  {
    name: 'rejects asynchronously',
    handler: (boom) => async () => {
      await tick();
      throw boom;
    },
  },
  {
    name: 'throws after receiving the connect message',
    handler: (boom) => async (socket) => {
      await socket.receive();
      throw boom;
    },
  },
  {
    name: 'throws a string',
    boom: 'a string, not an Error',
    handler: (boom) => async () => {
      await tick();
      throw boom;
    },
  },
  {
    name: 'throws 0',
    boom: 0,
    handler: (boom) => () => {
      throw boom;
    },
  },
  {
    name: 'throws undefined',
    boom: undefined,
    handler: (boom) => async () => {
      await tick();
      throw boom;
    },
  },
];

const AFTER_ACCEPT: ExceptionCase[] = [
  {
    name: 'throws after receiving a message',
    send: ['trigger'],
    handler: (boom) => async (socket) => {
      await socket.accept();
      await socket.receiveText();
      throw boom;
    },
  },
  {
    name: 'throws synchronously in a promise chain (non-async handler)',
    handler: (boom) => (socket) =>
      socket.accept().then(() => {
        throw boom;
      }),
  },
  {
    name: 'rejects asynchronously',
    handler: (boom) => async (socket) => {
      await socket.accept();
      await tick();
      throw boom;
    },
  },
  {
    name: 'throws inside for await (… of socket.iterText())',
    send: ['one', 'two'],
    handler: (boom) => async (socket) => {
      await socket.accept();
      for await (const message of socket.iterText()) {
        if (message === 'two') throw boom;
      }
    },
  },
  {
    name: 'lets a SyntaxError (invalid JSON) escape for await (… of socket.iterJson())',
    send: ['{"ok":true}', '{not json'],
    boom: 'SyntaxError',
    handler: () => async (socket) => {
      await socket.accept();
      for await (const _ of socket.iterJson()) {
        // consume
      }
    },
  },
  {
    name: 'throws a string',
    boom: 'a string, not an Error',
    handler: (boom) => async (socket) => {
      await socket.accept();
      throw boom;
    },
  },
  {
    name: 'throws after closing the socket itself (the client sees its code, not 1011)',
    closeCode: 4000,
    handler: (boom) => async (socket) => {
      await socket.accept();
      await socket.close(4000, 'done');
      throw boom;
    },
  },
  {
    name: "lets another socket's WebSocketDisconnect escape while its own client is connected",
    boom: new WebSocketDisconnect(1006, 'another client left'),
    handler: (boom) => async (socket) => {
      await socket.accept();
      await socket.sendText('ready');
      throw boom;
    },
  },
];

function handlerExceptions(framework: Framework): void {
  describe('handler exceptions follow the Lifecycle table', () => {
    async function serveWith(
      handler: Handler,
    ): Promise<{ app: App; other: Awaited<ReturnType<typeof connect>> }> {
      const app = await framework.serve({}, [
        { path: '/echo', handler: echo() },
        { path: '/fail', handler },
      ]);
      // A connection open before the failure, which must not notice anything.
      const other = await connect(`${app.url}/echo`);
      return { app, other };
    }

    for (const testCase of BEFORE_ACCEPT) {
      it(`before accept: ${testCase.name} → HTTP 500 through the framework, onError not called`, async () => {
        const boom = 'boom' in testCase ? testCase.boom : new Error(`boom: ${testCase.name}`);
        const { app, other } = await serveWith(testCase.handler(boom));
        const answer = await refusal(`${app.url}/fail`);
        expect(answer.status).to.equal(500);
        expect(answer.body, "the framework's error page").to.match(framework.pages.serverError);
        expect(app.frameworkErrors, 'errors the framework handled').to.have.length(1);
        if (boom instanceof Error) expect(app.frameworkErrors[0]).to.equal(boom);
        else if (!boom) expect(app.frameworkErrors[0]).to.be.instanceOf(Error);
        else expect(String(app.frameworkErrors[0])).to.include(String(boom));
        expect(app.onErrors, 'onError').to.deep.equal([]);
        expect(app.sockets.clients.size).to.equal(1);
        await stillServes(other);
      });
    }

    for (const testCase of AFTER_ACCEPT) {
      const code = testCase.closeCode ?? 1011;
      it(`after accept: ${testCase.name} → close ${code}, onError once with that error`, async () => {
        const boom = 'boom' in testCase ? testCase.boom : new Error(`boom: ${testCase.name}`);
        const { app, other } = await serveWith(testCase.handler(boom));
        const failing = await connect(`${app.url}/fail`);
        for (const message of testCase.send ?? []) failing.send(message);
        const { code: seen } = await closed(failing);
        expect(seen, 'close code').to.equal(code);
        await until(() => app.sockets.clients.size === 1, { emitter: app.events, event: 'close' });
        expect(app.onErrors, 'onError calls').to.have.length(1);
        if (boom === 'SyntaxError') {
          expect(app.onErrors[0]).to.be.instanceOf(SyntaxError);
          expect(String(app.onErrors[0])).to.match(/JSON/);
        } else {
          expect(app.onErrors[0]).to.equal(boom);
        }
        expect(app.frameworkErrors, 'nothing reaches the framework').to.deep.equal([]);
        expect(app.sockets.clients.size).to.equal(1);
        await stillServes(other);
        // A new connection works too.
        await stillServes(`${app.url}/echo`);
      });
    }

    for (const gates of [0, 1, 3]) {
      it(`with ${gates} async middleware before the handler: the socket stays open until the handler returns (1000)`, async () => {
        const pass: Gate = async () => {
          await tick();
          return undefined;
        };
        const steps: string[] = [];
        const handler: Handler = async (socket) => {
          await socket.accept();
          steps.push('accepted');
          const text = await socket.receiveText();
          await tick();
          await socket.sendText(`got ${text}`);
          steps.push('replied');
        };
        const app = await framework.serve({}, [
          { path: '/chat', gates: Array.from({ length: gates }, () => pass), handler },
        ]);
        const peer = await connect(`${app.url}/chat`);
        peer.send('hi');
        expect(await received(peer, 1)).to.deep.equal(['got hi']);
        expect((await closed(peer)).code).to.equal(1000);
        expect(steps).to.deep.equal(['accepted', 'replied']);
        expect(app.onErrors).to.deep.equal([]);
        expect(app.frameworkErrors).to.deep.equal([]);
      });
    }

    it('an onError that throws is contained: the process and other connections go on', async () => {
      const ends = new Recorder();
      const app = await framework.serve(
        {
          onError: () => {
            throw new Error('onError itself failed');
          },
        },
        [
          { path: '/echo', handler: echo(ends) },
          {
            path: '/fail',
            handler: async (socket) => {
              await socket.accept();
              throw new Error('handler failed');
            },
          },
        ],
      );
      const other = await connect(`${app.url}/echo`);
      const printed = await captureOutput(async () => {
        const failing = await connect(`${app.url}/fail`);
        expect((await closed(failing)).code).to.equal(1011);
        await until(() => app.sockets.clients.size === 1, { emitter: app.events, event: 'close' });
      });
      expect(printed).to.have.length(1);
      expect(printed[0]).to.match(/^console\.error: wsgate: options\.onError threw: /);
      await stillServes(other);
    });
  });
}

// ---------------------------------------------------------------------------------------------
// 7. Quiet under abuse

function quietAbuse(framework: Framework, printedByThisTest: () => string[]): void {
  describe('quiet under abuse', () => {
    it('client resets, aborted handshakes and protocol errors: no output, no onError, no framework error', async () => {
      const ends = new Recorder();
      const arrived = new Recorder();
      const releases: Array<() => void> = [];
      const hold: Gate = () =>
        new Promise((resolve) => {
          arrived.add('gate');
          releases.push(() => resolve(undefined));
        });
      const holdThenRefuse: Gate = () =>
        new Promise((resolve) => {
          arrived.add('gate');
          releases.push(() => resolve({ status: 401, body: 'no' }));
        });
      const app = await framework.serve({ maxPayload: 4096 }, [
        { path: '/echo', handler: echo(ends) },
        { path: '/held', gates: [hold], handler: echo(ends) },
        { path: '/refused', gates: [holdThenRefuse], handler: echo(ends) },
        {
          path: '/slow',
          handler: async (socket: WebSocket) => {
            arrived.add('handler');
            await new Promise<void>((resolve) => releases.push(resolve));
            await echo(ends)(socket);
          },
        },
      ]);
      const port = app.port;

      // Resets before and during the handshake.
      const partial = await RawClient.open(port);
      partial.write('GET /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: webso');
      const aborted: RawClient[] = [];
      for (const path of ['/held', '/refused', '/slow', '/held', '/slow']) {
        const raw = await RawClient.open(port);
        raw.write(handshake({ path }));
        aborted.push(raw);
      }
      await arrived.atLeast(aborted.length);
      partial.socket.resetAndDestroy();
      aborted.forEach((raw, index) => {
        if (index % 2 === 0) raw.socket.resetAndDestroy();
        else raw.socket.destroy();
      });
      await Promise.all([partial, ...aborted].map((raw) => raw.closed));
      await allConnectionsClosed(app);
      for (const release of releases.splice(0)) release();

      // Resets and protocol errors after the handshake.
      const midFrame = await RawClient.upgraded(app.port, '/echo');
      midFrame.write(text('a message cut short').subarray(0, 9));
      const echoing = await RawClient.upgraded(app.port, '/echo');
      echoing.write(text('x'.repeat(3000)));
      const badUtf8 = await RawClient.upgraded(app.port, '/echo');
      badUtf8.write(text(Buffer.from([0xc3, 0x28])));
      const unmasked = await RawClient.upgraded(app.port, '/echo');
      unmasked.write(frame({ opcode: OPCODE.text, payload: 'hi', mask: false }));
      const oversize = await RawClient.upgraded(app.port, '/echo');
      oversize.write(frame({ opcode: OPCODE.binary, payload: Buffer.alloc(5000) }));
      const badClose = await RawClient.upgraded(app.port, '/echo');
      badClose.write(frame({ opcode: OPCODE.close, payload: closeBody(1005) }));
      const garbage = await RawClient.upgraded(app.port, '/echo');
      garbage.write(Buffer.from('GET / HTTP/1.1\r\n\r\n'));
      midFrame.socket.resetAndDestroy();
      echoing.socket.resetAndDestroy();
      const badHandshake = await RawClient.open(port);
      badHandshake.write(handshake({ path: '/echo', headers: { 'Sec-WebSocket-Version': '8' } }));

      for (const raw of [badUtf8, unmasked, oversize, badClose, garbage, badHandshake]) {
        await raw.closed;
      }
      // 7 accepted on /echo, and 4 whose client left before accept() (/held and /slow).
      const codes = (await ends.atLeast(11)).map(disconnectCode);
      expect(
        codes.filter((code) => typeof code !== 'number'),
        'handler endings',
      ).to.deep.equal([]);
      expect([...codes].sort()).to.include.members([1002, 1006, 1007, 1009]);
      expect(badHandshake.received.toString('latin1')).to.match(/^HTTP\/1\.1 426/);
      await allConnectionsClosed(app);
      expect(app.sockets.clients.size).to.equal(0);
      expect(app.onErrors, 'onError is for the application, not client misbehaviour').to.deep.equal(
        [],
      );
      expect(app.frameworkErrors, 'no framework error for client misbehaviour').to.deep.equal([]);
      expect(printedByThisTest(), 'printed or raised').to.deep.equal([]);
      await stillServes(`${app.url}/echo`);
    });
  });
}

// ---------------------------------------------------------------------------------------------
// 8. Application-level bad input through a real server

/** Runs `call` and records its outcome: 'ok' or the error's class name. */
async function outcome(call: () => unknown): Promise<string> {
  try {
    await call();
    return 'ok';
  } catch (error) {
    // Node's own errors are subclasses named NodeError: report the documented class.
    for (const kind of [
      WebSocketStateError,
      WebSocketDisconnect,
      SyntaxError,
      RangeError,
      TypeError,
      Error,
    ]) {
      if (error instanceof kind) return kind.name;
    }
    return `non-error ${String(error)}`;
  }
}

function applicationMisuse(framework: Framework): void {
  describe('application-level misuse: the documented errors, nothing sent, nothing lost', () => {
    it('before accept: wrong-state calls, bad options and invalid close codes', async () => {
      const results = new Recorder<Record<string, string>>();
      const handler: Handler = async (socket) => {
        const log: Record<string, string> = {};
        log.receiveText = await outcome(() => socket.receiveText());
        log.receiveBytes = await outcome(() => socket.receiveBytes());
        log.receiveJson = await outcome(() => socket.receiveJson());
        log['receiveJson bad mode'] = await outcome(() =>
          socket.receiveJson({ mode: 'xml' as 'text' }),
        );
        log.sendText = await outcome(() => socket.sendText('too early'));
        log.sendJson = await outcome(() => socket.sendJson({ early: true }));
        log.subscribe = await outcome(() => socket.subscribe('room'));
        log['close 1006'] = await outcome(() => socket.close(1006));
        log['close long reason'] = await outcome(() => socket.close(1000, 'x'.repeat(124)));
        log['accept unoffered subprotocol'] = await outcome(() =>
          socket.accept({ subprotocol: 'chat.v2' }),
        );
        log['accept bad header'] = await outcome(() =>
          socket.accept({ headers: { 'bad header': 'x' } }),
        );
        log['accept bad header value'] = await outcome(() =>
          socket.accept({ headers: { 'x-ok': 'a\r\nb' } }),
        );
        log.send = await outcome(() => socket.send({ type: 'bogus' } as never));
        log.accept = await outcome(() => socket.accept({ subprotocol: 'chat.v1' }));
        log['accept again'] = await outcome(() => socket.accept());
        log['first message'] = await socket.receiveText();
        results.add(log);
        await socket.sendText('after');
      };
      const app = await framework.serve({}, [{ path: '/misuse', handler }]);
      const peer = await connect(`${app.url}/misuse`, ['chat.v1', 'chat.v0']);
      expect(peer.protocol).to.equal('chat.v1');
      peer.send('first');
      expect(await results.first()).to.deep.equal({
        receiveText: 'WebSocketStateError',
        receiveBytes: 'WebSocketStateError',
        receiveJson: 'WebSocketStateError',
        'receiveJson bad mode': 'TypeError',
        sendText: 'WebSocketStateError',
        sendJson: 'WebSocketStateError',
        subscribe: 'WebSocketStateError',
        'close 1006': 'RangeError',
        'close long reason': 'RangeError',
        'accept unoffered subprotocol': 'TypeError',
        'accept bad header': 'TypeError',
        'accept bad header value': 'TypeError',
        send: 'WebSocketStateError',
        accept: 'ok',
        'accept again': 'WebSocketStateError',
        'first message': 'first',
      });
      expect(await received(peer, 1)).to.deep.equal(['after']);
      expect((await closed(peer)).code).to.equal(1000);
      expect(app.onErrors).to.deep.equal([]);
    });

    it('after accept: invalid JSON, wrong modes, unencodable values and invalid close frames', async () => {
      const results = new Recorder<Record<string, string>>();
      const cyclic: Record<string, unknown> = {};
      cyclic.self = cyclic;
      const handler: Handler = async (socket) => {
        await socket.accept();
        const log: Record<string, string> = {};
        log['invalid JSON'] = await outcome(() => socket.receiveJson());
        log['invalid JSON (binary)'] = await outcome(() => socket.receiveJson({ mode: 'binary' }));
        log['valid JSON'] = JSON.stringify(await socket.receiveJson());
        log['receiveJson bad mode'] = await outcome(() =>
          socket.receiveJson({ mode: 'bogus' as 'text' }),
        );
        log['iterJson bad mode'] = await outcome(() => socket.iterJson({ mode: 'x' as 'text' }));
        log['sendJson bad mode'] = await outcome(() =>
          socket.sendJson({}, { mode: 'bogus' as 'text' }),
        );
        log['sendJson cycle'] = await outcome(() => socket.sendJson(cyclic));
        log['sendJson BigInt'] = await outcome(() => socket.sendJson({ n: 10n }));
        log['sendJson undefined'] = await outcome(() => socket.sendJson(undefined));
        log['send without data'] = await outcome(() => socket.send({ type: 'send' } as never));
        for (const code of [0, 999, 1004, 1005, 1006, 1015, 2999, 5000, 1000.5, Number.NaN]) {
          log[`close ${code}`] = await outcome(() => socket.close(code));
        }
        log['close reason 124 bytes'] = await outcome(() => socket.close(1000, 'é'.repeat(62)));
        log['close reason not a string'] = await outcome(() => socket.close(1000, 42 as never));
        log['after the bad JSON'] = await socket.receiveText();
        log.subscribe = await outcome(() => socket.subscribe('room'));
        log.unsubscribe = await outcome(() => socket.unsubscribe('room'));
        results.add(log);
        await socket.sendText('still open');
        await socket.sendJson({ fine: true });
        // The longest valid reason: 123 bytes.
        await socket.close(4000, `${'é'.repeat(61)}x`);
        const afterClose: Record<string, string> = {
          sendText: await outcome(() => socket.sendText('late')),
          receiveText: await outcome(() => socket.receiveText()),
          close: await outcome(() => socket.close()),
          accept: await outcome(() => socket.accept()),
          subscribe: await outcome(() => socket.subscribe('room')),
        };
        results.add(afterClose);
      };
      const app = await framework.serve({}, [{ path: '/misuse', handler }]);
      const peer = await connect(`${app.url}/misuse`);
      for (const message of ['{not json', Buffer.from('nope'), '{"ok":[1,2]}', 'kept']) {
        peer.send(message);
      }
      const [log, afterClose] = await results.atLeast(2);
      const closeCodes = Object.fromEntries(
        [0, 999, 1004, 1005, 1006, 1015, 2999, 5000, 1000.5, Number.NaN].map((code) => [
          `close ${code}`,
          'RangeError',
        ]),
      );
      expect(log).to.deep.equal({
        'invalid JSON': 'SyntaxError',
        'invalid JSON (binary)': 'SyntaxError',
        'valid JSON': '{"ok":[1,2]}',
        'receiveJson bad mode': 'TypeError',
        'iterJson bad mode': 'TypeError',
        'sendJson bad mode': 'TypeError',
        'sendJson cycle': 'TypeError',
        'sendJson BigInt': 'TypeError',
        'sendJson undefined': 'TypeError',
        'send without data': 'TypeError',
        ...closeCodes,
        'close reason 124 bytes': 'RangeError',
        'close reason not a string': 'TypeError',
        'after the bad JSON': 'kept',
        subscribe: 'ok',
        unsubscribe: 'ok',
      });
      expect(afterClose).to.deep.equal({
        sendText: 'WebSocketStateError',
        receiveText: 'WebSocketStateError',
        close: 'WebSocketStateError',
        accept: 'WebSocketStateError',
        subscribe: 'WebSocketStateError',
      });
      const { code, reason } = await closed(peer);
      expect([code, reason]).to.deep.equal([4000, `${'é'.repeat(61)}x`]);
      expect(await received(peer), 'exactly what the valid calls sent').to.deep.equal([
        'still open',
        '{"fine":true}',
      ]);
      expect(app.onErrors).to.deep.equal([]);
    });

    it('after the client left: receive throws WebSocketDisconnect once, then the state errors', async () => {
      const results = new Recorder<Record<string, string | number>>();
      const handler: Handler = async (socket) => {
        await socket.accept();
        const log: Record<string, string | number> = {};
        log.first = await socket.receiveText();
        try {
          await socket.receiveText();
        } catch (error) {
          log['disconnect code'] = disconnectCode(error);
          log['disconnect reason'] = (error as WebSocketDisconnect).reason;
        }
        log['receiveText again'] = await outcome(() => socket.receiveText());
        log.receive = await outcome(() => socket.receive());
        log.sendText = await outcome(() => socket.sendText('to nobody'));
        log['sendText again'] = await outcome(() => socket.sendText('to nobody'));
        log.close = await outcome(() => socket.close());
        log.state = `${socket.clientState}/${socket.applicationState}`;
        results.add(log);
      };
      const app = await framework.serve({}, [{ path: '/left', handler }]);
      const peer = await connect(`${app.url}/left`);
      peer.send('hello');
      peer.close(4001, 'bye');
      expect(await results.first()).to.deep.equal({
        first: 'hello',
        'disconnect code': 4001,
        'disconnect reason': 'bye',
        'receiveText again': 'WebSocketStateError',
        receive: 'WebSocketStateError',
        sendText: 'WebSocketDisconnect',
        'sendText again': 'WebSocketStateError',
        close: 'WebSocketStateError',
        state: 'DISCONNECTED/DISCONNECTED',
      });
      expect((await closed(peer)).code).to.equal(4001);
      expect(await received(peer)).to.deep.equal([]);
      expect(app.onErrors).to.deep.equal([]);
    });
  });
}

// ---------------------------------------------------------------------------------------------

describe('faults through the adapters', () => {
  const noise = captureNoise();

  afterEach(cleanup);

  for (const framework of frameworks) {
    describe(`wsgate/${framework.name}`, () => {
      vanishingClients(framework);
      halfOpen(framework);
      handlerExceptions(framework);
      quietAbuse(framework, noise.ofCurrentTest);
      applicationMisuse(framework);
    });
  }

  printedNothingInTheEnd(noise);
});
