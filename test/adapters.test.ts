import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { expect } from 'chai';
import request from 'superwstest';
import { WebSocketServer } from 'ws';
import { type WebSocket, WebSocketDisconnect } from '../lib/index.js';
import { cleanup } from './support/cleanup.js';
import { closed, connect, nextMessage } from './support/clients.js';
import { frameworks, type Gate, type Handler } from './support/frameworks.js';
import { echo } from './support/handlers.js';
import { captureNoise, printedNothingInTheEnd } from './support/output.js';
import { refusal } from './support/refusal.js';
import { deferred, until } from './support/waiting.js';

/*
 * What both adapters do the same way, asserted once and run against each: messages, refusals in
 * middleware, the lifecycle table of the README ("The model"; handler exceptions are in
 * test/faults.test.ts), handshake options, the plugin's members, and sharing a server with
 * another `upgrade` listener. What is specific to one framework (its routers, its request and
 * context objects, its error handling) is in test/express*.test.ts and test/koa*.test.ts.
 */

/** A handler that accepts and reports how the client left (and lets the disconnect escape). */
function watchDisconnect() {
  const accepted = deferred();
  const left = deferred<WebSocketDisconnect>();
  const handler: Handler = async (socket) => {
    await socket.accept();
    accepted.resolve();
    try {
      await socket.receiveText();
      left.reject(new Error('received a message instead of a disconnect'));
    } catch (error) {
      if (error instanceof WebSocketDisconnect) left.resolve(error);
      else left.reject(error);
      throw error;
    }
  };
  return { handler, accepted: accepted.promise, left: left.promise };
}

/** Accepts, echoes every JSON message in `mode` (the first one doubled), until the client leaves. */
function jsonEcho(mode: 'text' | 'binary'): Handler {
  return async (socket: WebSocket) => {
    await socket.accept();
    const first = await socket.receiveJson<{ n: number }>({ mode });
    await socket.sendJson({ doubled: first.n * 2 }, { mode });
    for await (const value of socket.iterJson({ mode })) {
      await socket.sendJson({ echo: value }, { mode });
    }
  };
}

/** What superwstest's expectMessage compares a message with: its kind and its text. */
function asText(message: { data: Buffer; isBinary: boolean }) {
  return { isBinary: message.isBinary, text: message.data.toString() };
}

describe('both adapters', () => {
  const noise = captureNoise();
  afterEach(cleanup);

  for (const framework of frameworks) {
    describe(`wsgate/${framework.name}`, () => {
      describe('messages', () => {
        it('echoes text', async () => {
          const app = await framework.serve({}, [
            { path: '/echo', handler: echo(undefined, 'echo: ') },
          ]);
          await request(app.server)
            .ws('/echo')
            .sendText('hello')
            .expectText('echo: hello')
            .sendText('again')
            .expectText('echo: again')
            .close(1000, 'done')
            .expectClosed(1000, 'done');
        });

        it('echoes binary messages as binary', async () => {
          const app = await framework.serve({}, [
            {
              path: '/bytes',
              handler: async (socket) => {
                await socket.accept();
                for await (const bytes of socket.iterBytes()) {
                  await socket.sendBytes(bytes.reverse());
                }
              },
            },
          ]);
          await request(app.server)
            .ws('/bytes')
            .sendBinary([1, 2, 3, 255])
            .expectBinary([255, 3, 2, 1])
            .sendBinary([0, 1, 254, 255])
            .expectBinary([255, 254, 1, 0])
            .close(1000)
            .expectClosed(1000);
        });

        for (const mode of ['text', 'binary'] as const) {
          it(`receives and sends JSON in ${mode} mode (${mode} frames)`, async () => {
            const isBinary = mode === 'binary';
            // ws sends a string as a text frame, a Buffer as a binary one.
            const encode = (value: unknown) =>
              isBinary ? Buffer.from(JSON.stringify(value)) : JSON.stringify(value);
            const app = await framework.serve({}, [{ path: '/json', handler: jsonEcho(mode) }]);
            await request(app.server)
              .ws('/json')
              .send(encode({ n: 21 }))
              .expectMessage(asText, { isBinary, text: '{"doubled":42}' })
              .send(encode({ a: [1, 'two'], b: true }))
              .expectMessage(asText, { isBinary, text: '{"echo":{"a":[1,"two"],"b":true}}' })
              .close(1000)
              .expectClosed(1000);
          });
        }
      });

      describe('middleware before the handshake', () => {
        it('runs app middleware first: its refusal reaches the client with status and JSON body', async () => {
          let handled = 0;
          const login: Gate = (req) =>
            req.headers.authorization === 'Bearer good'
              ? undefined
              : { status: 401, body: { error: 'login first' } };
          const app = await framework.serve(
            {},
            [
              {
                path: '/private',
                handler: (socket) => {
                  handled++;
                  return echo()(socket);
                },
              },
            ],
            { middleware: [login] },
          );
          const answer = await refusal(`${app.http}/private`);
          expect(answer.status).to.equal(401);
          expect(answer.headers['content-type']).to.match(/^application\/json/);
          expect(JSON.parse(answer.body)).to.deep.equal({ error: 'login first' });
          expect(answer.headers.upgrade).to.equal(undefined);
          expect(handled).to.equal(0);
          const client = await connect(`${app.url}/private`, [], {
            headers: { authorization: 'Bearer good' },
          });
          client.send('in');
          expect((await nextMessage(client)).data.toString()).to.equal('in');
          const done = closed(client);
          client.close(1000);
          expect((await done).code).to.equal(1000);
          expect(handled).to.equal(1);
        });

        it("runs a route's middleware in order; a refusal there reaches the client with its headers", async () => {
          const order: string[] = [];
          const first: Gate = () => {
            order.push('first');
            return undefined;
          };
          const second: Gate = (req) => {
            order.push('second');
            if (req.url?.endsWith('/ok')) return undefined;
            return { status: 429, headers: { 'Retry-After': '30' }, body: 'Too many sockets' };
          };
          const app = await framework.serve({}, [
            {
              path: '/limited/:n',
              gates: [first, second],
              handler: async (socket) => {
                order.push('handler');
                await socket.accept();
              },
            },
          ]);
          const answer = await refusal(`${app.http}/limited/no`);
          expect(answer.status).to.equal(429);
          expect(answer.headers['retry-after']).to.equal('30');
          expect(answer.body).to.equal('Too many sockets');
          expect(order).to.deep.equal(['first', 'second']);
          const client = await connect(`${app.url}/limited/ok`);
          expect((await closed(client)).code).to.equal(1000);
          expect(order).to.deep.equal(['first', 'second', 'first', 'second', 'handler']);
        });

        // A plain GET skips the whole websocket route, its middleware included; without
        // middleware the route is a single handler, which must let it through just the same.
        const upgradesOnly: Gate = (req) =>
          req.headers.upgrade === undefined
            ? { status: 400, body: 'not for plain GETs' }
            : undefined;
        for (const [routeKind, gates] of [
          ['skipping the route middleware', [upgradesOnly]],
          ['when the route has no middleware', []],
        ] as const) {
          it(`lets a plain GET fall through to the next route on the same path, ${routeKind}`, async () => {
            let handled = 0;
            const app = await framework.serve({}, [
              {
                path: '/chat',
                gates: [...gates],
                handler: (socket) => {
                  handled++;
                  return echo(undefined, 'echo: ')(socket);
                },
                page: '<h1>chat page</h1>',
              },
            ]);
            const page = await fetch(`${app.http}/chat`);
            expect(page.status).to.equal(200);
            expect(await page.text()).to.equal('<h1>chat page</h1>');
            expect(handled).to.equal(0);
            await request(app.server)
              .ws('/chat')
              .sendText('x')
              .expectText('echo: x')
              .close()
              .expectClosed();
            expect(handled).to.equal(1);
          });
        }

        it("answers an upgrade that no route takes with the framework's 404 and closes it", async () => {
          const app = await framework.serve({}, [{ path: '/chat', handler: echo() }]);
          const answer = await refusal(`${app.http}/nowhere`);
          expect(answer.status).to.equal(404);
          expect(answer.body).to.match(framework.pages.notFound('/nowhere'));
          expect(answer.headers.connection).to.equal('close');
          expect(app.sockets.clients.size).to.equal(0);
        });

        it('answers an upgrade to a websocket route without the plugin with a clear error (500)', async () => {
          let handled = 0;
          const app = await framework.serve(
            {},
            [
              {
                path: '/chat',
                handler: (socket) => {
                  handled++;
                  return socket.accept();
                },
              },
            ],
            { withoutPlugin: true },
          );
          // The framework's own error response: it may keep the connection alive.
          const answer = await refusal(`${app.http}/chat`, {}, { mayStayOpen: true });
          expect(answer.status).to.equal(500);
          expect(app.frameworkErrors).to.have.length(1);
          expect(String((app.frameworkErrors[0] as Error).message)).to.contain(
            'app.use(websocket())',
          );
          expect(handled).to.equal(0);
          // Plain requests are not affected by the missing plugin (a 404 here).
          expect((await fetch(`${app.http}/chat`)).status).to.equal(404);
        });
      });

      describe('lifecycle', () => {
        it('refuses with 403 when the handler closes before accept', async () => {
          const app = await framework.serve({}, [
            { path: '/nope', handler: (socket) => socket.close() },
          ]);
          expect((await refusal(`${app.url}/nope`)).status).to.equal(403);
        });

        it('refuses with 403 when the handler returns without accepting', async () => {
          const app = await framework.serve({}, [{ path: '/silent', handler: async () => {} }]);
          expect((await refusal(`${app.url}/silent`)).status).to.equal(403);
          await request(app.server).ws('/silent').expectConnectionError(403);
        });

        it('closes with 1000 when the handler returns while connected', async () => {
          const app = await framework.serve({}, [
            {
              path: '/hello',
              handler: async (socket) => {
                await socket.accept();
                await socket.sendText('hi and bye');
              },
            },
          ]);
          await request(app.server).ws('/hello').expectText('hi and bye').expectClosed(1000, '');
        });

        it("gives the handler the client's close code and reason as WebSocketDisconnect, without onError", async () => {
          const { handler, left } = watchDisconnect();
          const app = await framework.serve({}, [{ path: '/watch', handler }]);
          await request(app.server)
            .ws('/watch')
            .close(4001, 'see you')
            .expectClosed(4001, 'see you');
          const disconnect = await left;
          expect([disconnect.code, disconnect.reason]).to.deep.equal([4001, 'see you']);
          await until(() => app.sockets.clients.size === 0);
          expect(app.onErrors).to.deep.equal([]);
        });

        it('gives the handler 1006 when the client connection breaks', async () => {
          const { handler, accepted, left } = watchDisconnect();
          const app = await framework.serve({}, [{ path: '/watch', handler }]);
          const client = await connect(`${app.url}/watch`);
          await accepted;
          client.terminate();
          expect((await left).code).to.equal(1006);
        });
      });

      describe('handshake options', () => {
        it('negotiates the subprotocol the handler chose', async () => {
          const app = await framework.serve({}, [
            {
              path: '/proto',
              handler: async (socket) => {
                await socket.accept({ subprotocol: 'v2.chat' });
                await socket.sendJson(socket.subprotocols);
              },
            },
          ]);
          const ws = await request(app.server)
            .ws('/proto', ['v1.chat', 'v2.chat'])
            .expectUpgrade((upgrade) => upgrade.headers['sec-websocket-protocol'] === 'v2.chat')
            .expectJson(['v1.chat', 'v2.chat'])
            .expectClosed(1000);
          expect(ws.protocol).to.equal('v2.chat');
        });

        it('adds the accept() headers to the 101 response', async () => {
          const app = await framework.serve({}, [
            {
              path: '/headers',
              handler: (socket) =>
                socket.accept({
                  headers: { 'X-Served-By': framework.name, 'Set-Cookie': ['a=1', 'b=2'] },
                }),
            },
          ]);
          await request(app.server)
            .ws('/headers')
            .expectUpgrade((upgrade) => {
              expect(upgrade.statusCode).to.equal(101);
              expect(upgrade.headers['x-served-by']).to.equal(framework.name);
              expect(upgrade.headers['set-cookie']).to.deep.equal(['a=1', 'b=2']);
              // No subprotocol unless the handler chose one.
              expect(upgrade.headers['sec-websocket-protocol']).to.equal(undefined);
            })
            .expectClosed(1000);
        });

        it('keeps the request headers for socket.headers, frozen by a middleware or not', async () => {
          // Connections that send the same values share their strings once open
          // (lib/server/shared-request-strings.ts): each socket still reads what its client sent.
          const names = ['user-agent', 'origin', 'host', 'x-client'];
          const tell: Handler = async (socket) => {
            await socket.accept();
            await socket.sendJson({
              frozen: Object.isFrozen(socket.headers),
              values: names.map((name) => socket.headers[name]),
            });
            await socket.receiveText();
          };
          const freeze: Gate = (req) => {
            if (req.url?.startsWith('/frozen')) Object.freeze(req.headers);
            return undefined;
          };
          const app = await framework.serve(
            {},
            [
              { path: '/plain', handler: tell },
              { path: '/frozen', handler: tell },
            ],
            { middleware: [freeze] },
          );
          const host = new URL(app.url).host;
          const answers = [];
          for (const [path, client] of [
            ['/plain', 'one'],
            ['/plain', 'two'],
            ['/frozen', 'three'],
            ['/frozen', 'four'],
          ] as const) {
            const ws = await connect(`${app.url}${path}`, undefined, {
              headers: {
                'User-Agent': 'Agent/1.0',
                Origin: 'http://app.example',
                'X-Client': client,
              },
            });
            answers.push(JSON.parse((await nextMessage(ws)).data.toString()));
          }
          expect(answers).to.deep.equal(
            ['one', 'two', 'three', 'four'].map((client, i) => ({
              frozen: i >= 2,
              values: ['Agent/1.0', 'http://app.example', host, client],
            })),
          );
          expect(app.onErrors).to.deep.equal([]);
        });

        it('refuses a disallowed Origin with 403 before any middleware or handler runs', async () => {
          const ran: string[] = [];
          const app = await framework.serve(
            { origins: ['https://good.example'] },
            [
              {
                path: '/o',
                handler: async (socket) => {
                  ran.push('handler');
                  await socket.accept();
                },
              },
            ],
            {
              middleware: [
                () => {
                  ran.push('middleware');
                  return undefined;
                },
              ],
            },
          );
          const answer = await refusal(`${app.url}/o`, { Origin: 'https://evil.example' });
          expect(answer.status).to.equal(403);
          expect(ran).to.deep.equal([]);
          await request(app.server)
            .ws('/o', { headers: { Origin: 'https://evil.example' } })
            .expectConnectionError(403);
          expect(ran).to.deep.equal([]);
          const client = await connect(`${app.url}/o`, [], { origin: 'https://good.example' });
          expect((await closed(client)).code).to.equal(1000);
          expect(ran).to.deep.equal(['middleware', 'handler']);
        });

        it('closes with 1009 on both sides when a message exceeds maxPayload', async () => {
          const seen = deferred<WebSocketDisconnect>();
          const app = await framework.serve({ maxPayload: 16 }, [
            {
              path: '/small',
              handler: async (socket) => {
                await socket.accept();
                try {
                  for (;;) await socket.sendText(`echo: ${await socket.receiveText()}`);
                } catch (error) {
                  seen.resolve(error as WebSocketDisconnect);
                }
              },
            },
          ]);
          await request(app.server)
            .ws('/small')
            .sendText('0123456789abcdef')
            .expectText('echo: 0123456789abcdef')
            .sendText('0123456789abcdefg')
            .expectClosed(1009);
          expect((await seen.promise).code).to.equal(1009);
        });

        it('negotiates permessage-deflate when enabled', async () => {
          const app = await framework.serve({ perMessageDeflate: true }, [
            { path: '/z', handler: echo(undefined, 'echo: ') },
          ]);
          const client = await connect(`${app.url}/z`);
          expect(client.extensions).to.contain('permessage-deflate');
          client.send('squeeze');
          expect((await nextMessage(client)).data.toString()).to.equal('echo: squeeze');
        });
      });

      describe('the plugin', () => {
        it('close() closes every socket with 1001, resolves, then refuses upgrades with 503', async () => {
          const app = await framework.serve({}, [{ path: '/echo', handler: echo() }]);
          const clients = await Promise.all([1, 2, 3].map(() => connect(`${app.url}/echo`)));
          const codes = Promise.all(clients.map((client) => closed(client)));
          expect(app.sockets.clients.size).to.equal(3);
          await app.sockets.close();
          expect(app.sockets.clients.size).to.equal(0);
          expect((await codes).map((close) => close.code)).to.deep.equal([1001, 1001, 1001]);
          expect((await refusal(`${app.url}/echo`)).status).to.equal(503);
        });

        it('close(code, reason) uses that code and reason', async () => {
          const app = await framework.serve({}, [{ path: '/echo', handler: echo() }]);
          const client = await connect(`${app.url}/echo`);
          const done = closed(client);
          await app.sockets.close(4000, 'restarting');
          expect(await done).to.deep.equal({ code: 4000, reason: 'restarting' });
        });

        it('counts accepted, open sockets in clients', async () => {
          const { handler, left } = watchDisconnect();
          const app = await framework.serve({}, [{ path: '/watch', handler }]);
          expect(app.sockets.clients.size).to.equal(0);
          const client = await connect(`${app.url}/watch`);
          expect(app.sockets.clients.size).to.equal(1);
          const [socket] = app.sockets.clients;
          expect(socket?.url.pathname).to.equal('/watch');
          client.close();
          await left;
          await until(() => app.sockets.clients.size === 0);
        });

        it('keeps each plugin instance to the clients of its own app', async () => {
          const one = await framework.serve({}, [{ path: '/a', handler: echo() }]);
          const two = await framework.serve({}, [{ path: '/b', handler: echo() }]);
          const a = await connect(`${one.url}/a`);
          expect(one.sockets.clients.size).to.equal(1);
          expect(two.sockets.clients.size).to.equal(0);
          const b = await connect(`${two.url}/b`);
          expect([one.sockets.clients.size, two.sockets.clients.size]).to.deep.equal([1, 1]);
          a.close();
          b.close();
          await Promise.all([closed(a), closed(b)]);
          await until(() => one.sockets.clients.size === 0 && two.sockets.clients.size === 0);
        });
      });

      it('shares a server with another upgrade listener through sockets.attach(server, { filter })', async () => {
        // Another component owning upgrades to /theirs (a raw ws server, as socket.io would).
        const theirs = new WebSocketServer({ noServer: true });
        theirs.on('connection', (client) => {
          client.send('theirs');
          client.on('message', (data) => client.send(`theirs: ${data}`));
        });
        let detach: (() => void) | undefined;
        const greet: Handler = async (socket) => {
          await socket.accept();
          await socket.sendText(
            `${socket.url.protocol} ${socket.url.pathname}${socket.url.search}`,
          );
          for await (const text of socket.iterText()) await socket.sendText(`echo: ${text}`);
        };
        const app = await framework.serve(
          {},
          [
            { path: '/echo', handler: greet },
            {
              path: '/private',
              gates: [() => ({ status: 401, body: { error: 'login first' } })],
              handler: echo(),
            },
            { path: '/silent', handler: () => {} },
          ],
          {
            server: (server, sockets) => {
              server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
                if (!req.url?.startsWith('/theirs')) return;
                theirs.handleUpgrade(req, socket, head, (client) =>
                  theirs.emit('connection', client),
                );
              });
              detach = sockets.attach(server, { filter: (req) => !req.url?.startsWith('/theirs') });
            },
          },
        );
        const other = await connect(`${app.url}/theirs`);
        expect((await nextMessage(other)).data.toString()).to.equal('theirs');
        other.send('one');
        expect((await nextMessage(other)).data.toString()).to.equal('theirs: one');

        await request(app.server)
          .ws('/echo?via=attach')
          .expectText('ws: /echo?via=attach')
          .sendText('two')
          .expectText('echo: two')
          .close()
          .expectClosed();
        // Refusals and 404s go through the app as real HTTP responses on this path too.
        const refused = await refusal(`${app.http}/private`);
        expect(refused.status).to.equal(401);
        expect(JSON.parse(refused.body)).to.deep.equal({ error: 'login first' });
        expect((await refusal(`${app.http}/nowhere`)).status).to.equal(404);
        expect((await refusal(`${app.http}/silent`)).status).to.equal(403);

        // The other server's connection was not disturbed.
        other.send('three');
        expect((await nextMessage(other)).data.toString()).to.equal('theirs: three');

        // Once detached, upgrades to the app are no longer taken by it.
        detach?.();
        expect(app.server.listenerCount('upgrade')).to.equal(1);
        other.terminate();
        await new Promise((resolve) => theirs.close(resolve));
      });
    });
  }

  printedNothingInTheEnd(noise);
});
