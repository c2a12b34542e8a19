import { once } from 'node:events';
import http from 'node:http';
import { expect } from 'chai';
import { WebSocketDisconnect } from '../lib/index.js';
import { cleanup } from './support/cleanup.js';
import { closed, connect, nextMessage, received } from './support/clients.js';
import { echo } from './support/handlers.js';
import { type PlainServer, plainServer } from './support/plain-server.js';
import { refusal } from './support/refusal.js';
import { deferred, until } from './support/waiting.js';

const paths = ['request', 'upgrade'] as const;

describe('ws transport on a bare http server', () => {
  let current: PlainServer | undefined;
  afterEach(async () => {
    current = undefined;
    await cleanup();
  });

  for (const path of paths) {
    describe(`through the ${path} path`, () => {
      it('completes the handshake on accept and echoes text and binary in order', async () => {
        current = await plainServer(
          async (socket) => {
            await socket.accept();
            for (let i = 0; i < 2; i++) {
              const message = await socket.receive();
              if (message.type !== 'receive') return;
              if (message.text !== undefined) await socket.sendText(`echo ${message.text}`);
              else await socket.sendBytes(message.bytes);
            }
          },
          { path },
        );
        const client = await connect(`${current.url}/echo`);
        const reply = nextMessage(client);
        client.send('hi');
        const first = await reply;
        expect(first.data.toString()).to.equal('echo hi');
        expect(first.isBinary).to.equal(false);
        client.send(Buffer.from([1, 2, 3]));
        const second = await nextMessage(client);
        expect(second.isBinary).to.equal(true);
        expect([...second.data]).to.deep.equal([1, 2, 3]);
        // The handler returned while connected: the server closes with 1000.
        expect((await closed(client)).code).to.equal(1000);
      });

      it('refuses with 403 when the handler closes before accept', async () => {
        current = await plainServer((socket) => socket.close(), { path });
        const response = await refusal(current.url);
        expect(response.status).to.equal(403);
        expect(response.headers.connection).to.equal('close');
      });

      it('lets the handler answer with any HTTP response', async () => {
        current = await plainServer(
          (_socket, _req, res) => {
            res.writeHead(401, { 'X-Why': 'token', 'Content-Type': 'application/json' });
            res.end('{"error":"no token"}');
          },
          { path },
        );
        const response = await refusal(current.url);
        expect(response.status).to.equal(401);
        expect(response.headers['x-why']).to.equal('token');
        expect(response.body).to.equal('{"error":"no token"}');
      });

      it('passes close codes and reasons both ways', async () => {
        const seen = deferred<WebSocketDisconnect>();
        current = await plainServer(
          async (socket) => {
            await socket.accept();
            const command = await socket.receiveText();
            if (command === 'close me') {
              await socket.close(4001, 'as asked');
              return;
            }
            try {
              await socket.receiveText();
            } catch (error) {
              seen.resolve(error as WebSocketDisconnect);
            }
          },
          { path },
        );
        const a = await connect(current.url);
        a.send('close me');
        expect(await closed(a)).to.deep.equal({ code: 4001, reason: 'as asked' });

        const b = await connect(current.url);
        b.send('wait');
        b.close(4002, 'client leaves');
        const error = await seen.promise;
        expect(error).to.be.instanceOf(WebSocketDisconnect);
        expect(error).to.include({ code: 4002, reason: 'client leaves' });
      });

      it('reports an abrupt disconnect as 1006', async () => {
        const seen = deferred<WebSocketDisconnect>();
        current = await plainServer(
          async (socket) => {
            await socket.accept();
            await socket.receiveText().catch((error) => seen.resolve(error));
          },
          { path },
        );
        const client = await connect(current.url);
        client.terminate();
        const error = await seen.promise;
        expect(error).to.be.instanceOf(WebSocketDisconnect);
        expect(error.code).to.equal(1006);
        await until(() => current?.gateway.clients.size === 0);
      });
    });
  }

  it('negotiates only the subprotocol the handler chose, and adds accept headers', async () => {
    current = await plainServer(async (socket) => {
      const wanted = socket.query.get('choose');
      await socket.accept({
        ...(wanted ? { subprotocol: wanted } : {}),
        headers: { 'X-Session': 'abc', 'Set-Cookie': ['a=1', 'b=2'] },
      });
    });
    const chosen = await connect(`${current.url}/?choose=v2`, ['v1', 'v2']);
    expect(chosen.protocol).to.equal('v2');

    // Without a choice no subprotocol is negotiated (ws alone would echo 'v1').
    const port = new URL(current.url).port;
    const req = http.request({
      host: '127.0.0.1',
      port,
      headers: {
        Connection: 'Upgrade',
        Upgrade: 'websocket',
        'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==',
        'Sec-WebSocket-Version': '13',
        'Sec-WebSocket-Protocol': 'v1, v2',
      },
    });
    req.end();
    const [res, socket] = (await once(req, 'upgrade')) as [
      http.IncomingMessage,
      import('node:net').Socket,
    ];
    socket.destroy();
    expect(res.statusCode).to.equal(101);
    expect(res.headers['sec-websocket-protocol']).to.equal(undefined);
    expect(res.headers['x-session']).to.equal('abc');
    expect(res.headers['set-cookie']).to.deep.equal(['a=1', 'b=2']);
  });

  it('refuses a handshake it cannot complete with a clear HTTP error before the handler', async () => {
    let calls = 0;
    current = await plainServer(() => {
      calls++;
    });
    const port = Number(new URL(current.url).port);
    const ask = async (headers: Record<string, string>, method = 'GET') => {
      const req = http.request({ host: '127.0.0.1', port, method, headers });
      req.end();
      const [res] = (await once(req, 'response')) as [http.IncomingMessage];
      res.resume();
      return res;
    };
    const base = {
      Connection: 'Upgrade',
      Upgrade: 'websocket',
      'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==',
      'Sec-WebSocket-Version': '13',
    };
    expect((await ask({ ...base, 'Sec-WebSocket-Key': 'short' })).statusCode).to.equal(400);
    const { 'Sec-WebSocket-Key': _key, ...keyless } = base;
    expect((await ask(keyless)).statusCode).to.equal(400);
    const old = await ask({ ...base, 'Sec-WebSocket-Version': '8' });
    expect(old.statusCode).to.equal(426);
    expect(old.headers['sec-websocket-version']).to.equal('13');
    expect((await ask(base, 'POST')).statusCode).to.equal(405);
    expect(calls).to.equal(0);
  });

  it('refuses origins the origins option does not allow with 403 before the handler', async () => {
    let calls = 0;
    current = await plainServer(
      async (socket) => {
        calls++;
        await socket.accept();
      },
      { origins: ['https://good.example'] },
    );
    expect((await refusal(current.url, { Origin: 'https://evil.example' })).status).to.equal(403);
    expect((await refusal(current.url)).status).to.equal(403);
    expect(calls).to.equal(0);
    const client = await connect(current.url, undefined, { origin: 'https://good.example' });
    expect(calls).to.equal(1);
    client.close();
  });

  it('closes a message over maxPayload with 1009 on both sides', async () => {
    const seen = deferred<WebSocketDisconnect>();
    current = await plainServer(
      async (socket) => {
        await socket.accept();
        await socket.receiveBytes().catch((error) => seen.resolve(error));
      },
      { maxPayload: 1024 },
    );
    const client = await connect(current.url);
    const closing = closed(client);
    client.send(Buffer.alloc(1025));
    expect((await closing).code).to.equal(1009);
    expect((await seen.promise).code).to.equal(1009);
  });

  it('takes the socket from the HTTP server on the request path: parser and timeouts', async () => {
    current = await plainServer(
      async (socket) => {
        await socket.accept();
        for await (const text of socket.iterText()) await socket.sendText(text);
      },
      // Node checks request/headers timeouts every connectionsCheckingInterval ms.
      { server: { connectionsCheckingInterval: 50, requestTimeout: 300, headersTimeout: 200 } },
    );
    current.server.keepAliveTimeout = 100;
    current.server.timeout = 300;
    const client = await connect(current.url);
    // Node's parser must be gone too: left attached, it reads frames as HTTP and answers 400.
    for (const text of ['one', 'two', 'three']) {
      const reply = nextMessage(client);
      client.send(text);
      expect((await reply).data.toString()).to.equal(text);
    }
    await new Promise((resolve) => setTimeout(resolve, 700));
    const reply = nextMessage(client);
    client.send('still here');
    expect((await reply).data.toString()).to.equal('still here');
    expect(client.readyState).to.equal(client.OPEN);
    client.close();
  });

  it('pauses reading above receiveBuffer, then delivers everything in order', async () => {
    const go = deferred();
    const received: number[] = [];
    const receiveBuffer = 64 * 1024;
    const size = 16 * 1024;
    const count = 2000; // 32 MiB: far more than the socket buffers absorb.
    current = await plainServer(
      async (socket) => {
        await socket.accept();
        await go.promise;
        for (let i = 0; i < count; i++)
          received.push((await socket.receiveBytes()).readUInt32BE(0));
        await socket.sendText('done');
      },
      { receiveBuffer },
    );
    const client = await connect(current.url);
    for (let i = 0; i < count; i++) {
      const message = Buffer.alloc(size);
      message.writeUInt32BE(i, 0);
      client.send(message);
    }
    const gateway = current.gateway;
    await until(() => (gateway.transports[0]?.queuedBytes ?? 0) > receiveBuffer);
    // Give the client time to push more; the server must stay paused near receiveBuffer.
    await new Promise((resolve) => setTimeout(resolve, 300));
    const transport = gateway.transports[0];
    expect(transport?.queuedBytes).to.be.at.most(receiveBuffer + 8 * size);
    expect(client.bufferedAmount).to.be.greaterThan(0);
    const done = nextMessage(client);
    go.resolve();
    expect((await done).data.toString()).to.equal('done');
    expect(received).to.deep.equal(Array.from({ length: count }, (_, i) => i));
    client.close();
  });

  it('makes send* wait for a drain above sendBuffer, then delivers everything in order', async () => {
    const sendBuffer = 64 * 1024;
    const size = 64 * 1024;
    const count = 600; // ~38 MiB to a client that does not read.
    let sent = 0;
    let highest = 0;
    current = await plainServer(
      async (socket) => {
        await socket.accept();
        const transport = current?.gateway.transports[0];
        for (let i = 0; i < count; i++) {
          const message = Buffer.alloc(size);
          message.writeUInt32BE(i, 0);
          await socket.sendBytes(message);
          highest = Math.max(highest, transport?.bufferedAmount ?? 0);
          sent++;
        }
      },
      { sendBuffer },
    );
    const client = await connect(current.url);
    const raw = (client as unknown as { _socket: import('node:net').Socket })._socket;
    raw.pause();
    await until(() => sent > 0);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const stalledAt = sent;
    expect(stalledAt).to.be.lessThan(count);
    // After each resolved send, what waits in user space stays near sendBuffer.
    expect(highest).to.be.at.most(sendBuffer + size);
    const order: number[] = [];
    client.on('message', (data: Buffer) => order.push(data.readUInt32BE(0)));
    raw.resume();
    await closed(client);
    expect(order).to.deep.equal(Array.from({ length: count }, (_, i) => i));
  });

  it('close() closes every socket with 1001, resolves, and refuses later upgrades with 503', async () => {
    current = await plainServer(async (socket) => {
      await socket.accept();
      for await (const _ of socket.iterText()) {
        /* keep open */
      }
    });
    const clients = await Promise.all([1, 2, 3].map(() => connect(current?.url ?? '')));
    await until(() => current?.gateway.clients.size === 3);
    const codes = Promise.all(clients.map(closed));
    await current.gateway.close();
    expect((await codes).map((c) => c.code)).to.deep.equal([1001, 1001, 1001]);
    expect(current.gateway.clients.size).to.equal(0);
    expect((await refusal(current.url)).status).to.equal(503);
  });

  it('answers a handshake nobody decides within handshakeTimeout with 503', async () => {
    const late = deferred<unknown>();
    const release = deferred();
    current = await plainServer(
      async (socket) => {
        await release.promise;
        await socket.accept().catch((error) => late.resolve(error));
      },
      { handshakeTimeout: 100 },
    );
    const started = Date.now();
    const response = await refusal(current.url);
    expect(response.status).to.equal(503);
    expect(response.body).to.match(/timed out/);
    expect(Date.now() - started).to.be.within(90, 1000);
    release.resolve();
    const error = await late.promise;
    expect(error).to.be.instanceOf(WebSocketDisconnect);
  });

  it('leaves a response the app started alone: no timeout or shutdown answer over it', async () => {
    current = await plainServer(
      async (_socket, _req, res) => {
        res.writeHead(429, { 'Content-Type': 'text/plain' });
        // The body is still being written when the handshake timeout passes.
        await new Promise((resolve) => setTimeout(resolve, 150));
        res.write('slow ');
        await new Promise((resolve) => setTimeout(resolve, 150));
        res.end('down');
      },
      { handshakeTimeout: 60 },
    );
    const response = await refusal(current.url);
    expect(response.status).to.equal(429);
    expect(response.body).to.equal('slow down');
  });

  describe('write coalescing', () => {
    /** What the handler saw of its raw socket's cork, in order. */
    interface Corks {
      afterSends: number;
      buffered: number;
      later: number;
    }

    it("holds a turn's frames for one write and sends them when the turn ends", async () => {
      const seen = deferred<Corks>();
      current = await plainServer(async (socket, req) => {
        await socket.accept();
        const sends = [socket.sendText('a'), socket.sendText('b'), socket.sendText('c')];
        const afterSends = req.socket.writableCorked;
        const buffered = req.socket.writableLength;
        await Promise.all(sends);
        await new Promise((resolve) => setImmediate(resolve));
        seen.resolve({ afterSends, buffered, later: req.socket.writableCorked });
        await socket.receiveText();
      });
      const client = await connect(current.url);
      const messages = received(client, 3);
      const corks = await seen.promise;
      // Three frames, still in the socket's buffer after three sends: corked for the turn.
      expect(corks.afterSends).to.equal(1);
      expect(corks.buffered).to.be.greaterThan(0);
      expect(corks.later).to.equal(0);
      expect(await messages).to.deep.equal(['a', 'b', 'c']);
    });

    it("keeps each frame's kind and bytes in a turn's write: UTF-8 text beside binary", async () => {
      current = await plainServer(async (socket) => {
        await socket.accept();
        // A lone surrogate is not UTF-8: like Node's own encoding, it becomes U+FFFD.
        const sends = [
          socket.sendText('é'),
          socket.sendBytes(Uint8Array.of(0xff)),
          socket.sendText('😀 \uD800'),
        ];
        await Promise.all(sends);
        await socket.receiveText();
      });
      const client = await connect(current.url);
      const frames = [
        await nextMessage(client),
        await nextMessage(client),
        await nextMessage(client),
      ];
      expect(frames.map(({ isBinary }) => isBinary)).to.deep.equal([false, true, false]);
      expect(frames.map(({ data }) => data.toString('hex'))).to.deep.equal([
        'c3a9',
        'ff',
        'f09f988020efbfbd',
      ]);
    });

    it('echoes long text byte for byte, ASCII or not (lib/utf8.ts takes a shortcut for ASCII)', async () => {
      current = await plainServer(echo());
      const client = await connect(current.url);
      const texts = ['x'.repeat(70_000), `${'x'.repeat(70_000)}é`, `😀${'{"a":1}'.repeat(10_000)}`];
      for (const text of texts) client.send(text);
      const echoes = [
        await nextMessage(client),
        await nextMessage(client),
        await nextMessage(client),
      ];
      expect(echoes.map(({ isBinary }) => isBinary)).to.deep.equal([false, false, false]);
      expect(echoes.map(({ data }) => data.toString())).to.deep.equal(texts);
    });

    it('writes what a handler sent as soon as it waits for the client', async () => {
      const seen = deferred<number>();
      current = await plainServer(async (socket, req) => {
        await socket.accept();
        const sent = socket.sendText('before the wait');
        const read = socket.receiveText();
        // Synchronously: the read found nothing, so the frame has left already.
        seen.resolve(req.socket.writableCorked);
        await sent;
        await socket.sendText(`got ${await read}`);
      });
      const client = await connect(current.url);
      const messages = received(client, 2);
      expect(await seen.promise).to.equal(0);
      client.send('x');
      expect(await messages).to.deep.equal(['before the wait', 'got x']);
    });
  });

  it('answers a plain request normally', async () => {
    current = await plainServer(() => {});
    const res = await fetch(current.url.replace('ws:', 'http:'));
    expect(await res.text()).to.equal('plain http');
  });
});
