import { expect } from 'chai';
import { WebSocketDisconnect } from '../lib/index.js';
import { cleanup, onCleanup } from './support/cleanup.js';
import { closed, connect, nextMessage } from './support/clients.js';
import { echo, stillServes } from './support/handlers.js';
import { captureNoise, printedNothingInTheEnd } from './support/output.js';
import { type PlainServer, plainServer } from './support/plain-server.js';
import {
  closeBody,
  frame,
  handshake,
  OPCODE,
  parseHead,
  prng,
  RawClient,
  randomGarbage,
} from './support/raw-client.js';
import { deferred, Recorder, until } from './support/waiting.js';

/*
 * Bad input from raw TCP clients: malformed handshakes, protocol violations after a
 * good handshake, seeded garbage, early frames and slow-loris handshakes, on both upgrade paths
 * (the request path: no `upgrade` listener; the upgrade path: `gateway.attach`). The whole file
 * runs with stderr and console captured: abuse must not print anything, nor raise uncaught errors.
 */

const paths = ['request', 'upgrade'] as const;
type Path = (typeof paths)[number];

const FUZZ_SEED = Number(process.env.FUZZ_SEED ?? 0x5eed);
const FUZZ_CONNECTIONS = 200;
const MAX_PAYLOAD = 1024;
const HEADERS_TIMEOUT = 500;
const REQUEST_TIMEOUT = 1000;

// ---------------------------------------------------------------------------------------------

let current: PlainServer | undefined;

/** A plain server running `echo()` that counts how many times its handler ran. */
async function countingServer(path: Path): Promise<{ server: PlainServer; calls: () => number }> {
  let calls = 0;
  const server = await plainServer(
    (socket) => {
      calls++;
      return echo()(socket);
    },
    { path },
  );
  return { server, calls: () => calls };
}

/** A plain server running `echo(ends)`, with short HTTP-server timeouts. */
async function timedServer(path: Path, ends: Recorder): Promise<PlainServer> {
  const server = await plainServer(echo(ends), {
    path,
    server: {
      headersTimeout: HEADERS_TIMEOUT,
      requestTimeout: REQUEST_TIMEOUT,
      connectionsCheckingInterval: 50,
    },
  });
  // The idle timeouts too: none of them may end an accepted WebSocket.
  server.server.timeout = HEADERS_TIMEOUT + 200;
  server.server.keepAliveTimeout = 200;
  return server;
}

// ---------------------------------------------------------------------------------------------
// Cases

interface HandshakeCase {
  name: string;
  request: () => string;
  /** Acceptable statuses. */
  status: number[];
  headers?: Record<string, string>;
  /** Not a WebSocket request at all: the app answers it (the connection may stay open). */
  plain?: true;
}

const HANDSHAKES: HandshakeCase[] = [
  {
    name: 'a missing Sec-WebSocket-Key',
    request: () => handshake({ headers: { 'Sec-WebSocket-Key': null } }),
    status: [400],
  },
  {
    name: 'an invalid Sec-WebSocket-Key',
    request: () => handshake({ headers: { 'Sec-WebSocket-Key': 'not base64 at all!' } }),
    status: [400],
  },
  {
    name: 'a Sec-WebSocket-Key of 15 bytes',
    request: () =>
      handshake({ headers: { 'Sec-WebSocket-Key': Buffer.alloc(15, 1).toString('base64') } }),
    status: [400],
  },
  {
    name: 'Sec-WebSocket-Version 8',
    request: () => handshake({ headers: { 'Sec-WebSocket-Version': '8' } }),
    status: [426],
    headers: { 'sec-websocket-version': '13' },
  },
  {
    name: 'a non-numeric Sec-WebSocket-Version',
    request: () => handshake({ headers: { 'Sec-WebSocket-Version': 'thirteen' } }),
    status: [426],
    headers: { 'sec-websocket-version': '13' },
  },
  {
    name: 'a missing Sec-WebSocket-Version',
    request: () => handshake({ headers: { 'Sec-WebSocket-Version': null } }),
    status: [400, 426],
  },
  {
    name: 'a POST upgrade',
    request: () => handshake({ method: 'POST', headers: { 'Content-Length': '0' } }),
    status: [405],
    headers: { allow: 'GET' },
  },
  {
    name: 'a PUT upgrade with a body',
    request: () => `${handshake({ method: 'PUT', headers: { 'Content-Length': '5' } })}hello`,
    status: [405],
    headers: { allow: 'GET' },
  },
  {
    name: 'a Connection header without Upgrade',
    request: () => handshake({ headers: { Connection: 'keep-alive' } }),
    status: [400],
  },
  {
    name: 'no Connection header',
    request: () => handshake({ headers: { Connection: null } }),
    status: [400],
  },
  {
    // RFC 6455 §4.1/§4.2.1: the handshake MUST carry Host; Node's request path answers 400 itself.
    name: 'no Host header',
    request: () => handshake({ headers: { Host: null } }),
    status: [400],
  },
  {
    name: 'headers over 16 KiB',
    request: () => handshake({ headers: { 'X-Big': 'a'.repeat(20_000) } }),
    status: [431],
  },
  {
    name: 'thousands of small headers',
    request: () =>
      handshake({
        headers: Object.fromEntries(Array.from({ length: 3000 }, (_, i) => [`X-H${i}`, 'v'])),
      }),
    status: [431],
  },
  {
    name: 'bytes that are not HTTP',
    request: () => '\x00\x01\x02 not http\r\n\r\n',
    status: [400],
  },
  {
    name: 'an Upgrade to another protocol (h2c)',
    request: () => handshake({ headers: { Upgrade: 'h2c' } }),
    status: [200],
    plain: true,
  },
];

interface ViolationCase {
  name: string;
  frames: () => Buffer[];
  code: number;
}

const text = (payload: Buffer | string, options: { fin?: boolean; rsv?: number } = {}) =>
  frame({ opcode: OPCODE.text, payload, ...options });

const VIOLATIONS: ViolationCase[] = [
  {
    name: 'invalid UTF-8 in a text frame',
    frames: () => [text(Buffer.from([0xc3, 0x28]))],
    code: 1007,
  },
  {
    name: 'a UTF-16 surrogate encoded in a text frame',
    frames: () => [text(Buffer.from([0x61, 0xed, 0xa0, 0x80]))],
    code: 1007,
  },
  {
    name: 'invalid UTF-8 split across fragments',
    frames: () => [
      text(Buffer.from([0x61, 0xe2, 0x82]), { fin: false }),
      frame({ opcode: OPCODE.continuation, payload: Buffer.from([0x28]) }),
    ],
    code: 1007,
  },
  {
    name: 'invalid UTF-8 in a close reason',
    frames: () => [frame({ opcode: OPCODE.close, payload: closeBody(1000, Buffer.from([0xff])) })],
    code: 1007,
  },
  {
    name: 'an unmasked client frame',
    frames: () => [frame({ opcode: OPCODE.text, payload: 'hi', mask: false })],
    code: 1002,
  },
  ...[0x3, 0x4, 0x5, 0x6, 0x7, 0xb, 0xc, 0xd, 0xe, 0xf].map((opcode) => ({
    name: `reserved opcode 0x${opcode.toString(16)}`,
    frames: () => [frame({ opcode, payload: 'x' })],
    code: 1002,
  })),
  ...[
    [4, 'RSV1'],
    [2, 'RSV2'],
    [1, 'RSV3'],
  ].map(([rsv, bit]) => ({
    name: `${bit} set without an extension`,
    frames: () => [text('hi', { rsv: rsv as number })],
    code: 1002,
  })),
  {
    name: 'a fragmented ping',
    frames: () => [frame({ opcode: OPCODE.ping, fin: false })],
    code: 1002,
  },
  {
    name: 'a fragmented close',
    frames: () => [frame({ opcode: OPCODE.close, fin: false, payload: closeBody(1000) })],
    code: 1002,
  },
  {
    name: 'a ping over 125 bytes',
    frames: () => [frame({ opcode: OPCODE.ping, payload: Buffer.alloc(126) })],
    code: 1002,
  },
  {
    name: 'a continuation frame without a first fragment',
    frames: () => [frame({ opcode: OPCODE.continuation, payload: 'x' })],
    code: 1002,
  },
  {
    name: 'a new text frame inside a fragmented message',
    frames: () => [text('a', { fin: false }), text('b')],
    code: 1002,
  },
  {
    name: 'a close frame with a 1-byte payload',
    frames: () => [frame({ opcode: OPCODE.close, payload: Buffer.from([3]) })],
    code: 1002,
  },
  ...[999, 1005, 1006, 2000].map((code) => ({
    name: `a close frame with code ${code}`,
    frames: () => [frame({ opcode: OPCODE.close, payload: closeBody(code) })],
    code: 1002,
  })),
  {
    name: `a message over maxPayload (${MAX_PAYLOAD} bytes)`,
    frames: () => [frame({ opcode: OPCODE.binary, payload: Buffer.alloc(MAX_PAYLOAD + 1) })],
    code: 1009,
  },
  {
    name: 'a frame header claiming 2^40 bytes (no payload follows)',
    frames: () => [frame({ opcode: OPCODE.binary, declaredLength: 2 ** 40 })],
    code: 1009,
  },
  {
    name: 'fragments adding up to more than maxPayload',
    frames: () => [
      frame({ opcode: OPCODE.binary, fin: false, payload: Buffer.alloc(600) }),
      frame({ opcode: OPCODE.continuation, payload: Buffer.alloc(600) }),
    ],
    code: 1009,
  },
];

// ---------------------------------------------------------------------------------------------

describe('bad input from raw sockets', () => {
  const noise = captureNoise();
  afterEach(async () => {
    current = undefined;
    await cleanup();
  });

  for (const path of paths) {
    describe(`on the ${path} path`, () => {
      describe('malformed handshakes get a clear HTTP error, never a crash or a hang', () => {
        for (const testCase of HANDSHAKES) {
          it(`${testCase.name} → ${testCase.status.join('/')}`, async () => {
            const counted = await countingServer(path);
            current = counted.server;
            const raw = await RawClient.open(current.port);
            raw.write(testCase.request());
            const head = await raw.response();
            // Checked before waiting for the close, so a 101 fails at once instead of hanging.
            expect(testCase.status, `status ${head.status}`).to.include(head.status);
            const response = testCase.plain ? head : await raw.responseAndClose();
            for (const [name, value] of Object.entries(testCase.headers ?? {})) {
              expect(response.headers[name], name).to.equal(value);
            }
            if (!testCase.plain) expect(raw.isClosed, 'the connection is closed').to.equal(true);
            expect(counted.calls(), 'the handler never ran').to.equal(0);
            raw.destroy();
            await stillServes(current.url);
          });
        }
      });

      describe('protocol violations after the handshake close with the right code', () => {
        for (const testCase of VIOLATIONS) {
          it(`${testCase.name} → ${testCase.code}`, async () => {
            const ends = new Recorder();
            current = await plainServer(echo(ends), { path, maxPayload: MAX_PAYLOAD });
            const raw = await RawClient.upgraded(current.port);
            for (const bytes of testCase.frames()) raw.write(bytes);
            // The server sends a close frame with the code, then closes the TCP connection.
            const { code } = await raw.closeFrame();
            expect(code, 'close code sent to the client').to.equal(testCase.code);
            await ends.atLeast(1);
            const [error] = ends.list;
            expect(error).to.be.instanceOf(WebSocketDisconnect);
            expect((error as WebSocketDisconnect).code, 'code the handler saw').to.equal(
              testCase.code,
            );
            expect(current.gateway.clients.size).to.equal(0);
            await stillServes(current.url);
          });
        }
      });

      const seed = FUZZ_SEED + (path === 'upgrade' ? 1 : 0);

      it(`fuzz: ${FUZZ_CONNECTIONS} connections send seeded garbage after the handshake (seed ${seed}) → each closes, the server keeps serving`, async function () {
        this.timeout(20_000);
        const random = prng(seed);
        const ends = new Recorder();
        current = await plainServer(echo(ends), { path, maxPayload: 4096 });
        const { port } = current;
        for (let i = 0; i < FUZZ_CONNECTIONS; i++) {
          const raw = await RawClient.upgraded(port);
          if (random() < 0.3) raw.write(text(`valid ${i}`));
          const garbage = randomGarbage(random, 1 + Math.floor(random() * 300));
          const cut = Math.floor(random() * garbage.length);
          raw.write(garbage.subarray(0, cut));
          raw.write(garbage.subarray(cut));
          // The client stops sending: whatever state the garbage left, the connection must end.
          raw.socket.end();
          await raw.closed;
        }
        await ends.atLeast(FUZZ_CONNECTIONS);
        const codes: Record<number, number> = {};
        for (const error of ends.list) {
          expect(error, `seed ${seed}`).to.be.instanceOf(WebSocketDisconnect);
          const { code } = error as WebSocketDisconnect;
          codes[code] = (codes[code] ?? 0) + 1;
        }
        // The garbage did reach the frame parser (protocol errors), not only dropped connections.
        expect(codes[1002] ?? 0, `codes seen: ${JSON.stringify(codes)}`).to.be.greaterThan(0);
        expect(current.gateway.clients.size).to.equal(0);
        await stillServes(current.url);
      });

      it(`fuzz: 50 connections send seeded garbage instead of a handshake (seed ${seed + 10}) → each gets 400 or is closed`, async () => {
        const random = prng(seed + 10);
        const counted = await countingServer(path);
        current = counted.server;
        const { port } = current;
        for (let i = 0; i < 50; i++) {
          const raw = await RawClient.open(port);
          raw.write(randomGarbage(random, 1 + Math.floor(random() * 200)));
          raw.socket.end();
          await raw.closed;
          if (raw.received.length > 0) expect(parseHead(raw.received).status).to.equal(400);
        }
        expect(counted.calls()).to.equal(0);
        await stillServes(current.url);
      });

      // A client may send its first frame before it sees the 101 (in the same TCP write as the
      // upgrade request, or while the handler is still deciding). On the upgrade path Node hands
      // those bytes over as `head` or leaves them in the socket.
      for (const timing of [
        'in the same TCP write as the upgrade request',
        'before the 101, while the handler waits',
      ] as const) {
        // On the request path (no `upgrade` listener) Node's HTTP parser owns the socket until
        // accept() and discards what follows the request head: RFC 6455 §4.1 forbids clients to
        // send before the 101, and the README documents the loss (attach() avoids it).
        const kept = path === 'upgrade';
        it(`${kept ? 'keeps' : 'drops (documented)'} frames sent ${timing}`, async () => {
          const received: string[] = [];
          const finished = new Recorder();
          const started = deferred();
          const go = deferred();
          const sameWrite = timing.startsWith('in the same');
          current = await plainServer(
            async (socket) => {
              started.resolve();
              if (!sameWrite) await go.promise;
              await socket.accept();
              try {
                for (;;) received.push(await socket.receiveText());
              } catch (error) {
                finished.add(error);
              }
            },
            { path },
          );
          const raw = await RawClient.open(current.port);
          const early = Buffer.concat([text('early 1'), text('early 2')]);
          if (sameWrite) {
            raw.write(Buffer.concat([Buffer.from(handshake(), 'latin1'), early]));
          } else {
            raw.write(handshake());
            await started.promise;
            raw.write(early);
            // Let the frames reach the server before the handler accepts.
            await new Promise((resolve) => setTimeout(resolve, 30));
            expect(raw.received.length, 'no 101 yet').to.equal(0);
            go.resolve();
          }
          expect((await raw.response()).status).to.equal(101);
          raw.write(text('after the 101'));
          raw.write(frame({ opcode: OPCODE.close, payload: closeBody(1000) }));
          await finished.atLeast(1);
          expect((finished.list[0] as WebSocketDisconnect).code).to.equal(1000);
          expect(received).to.deep.equal(
            kept ? ['early 1', 'early 2', 'after the 101'] : ['after the 101'],
          );
        });
      }

      it('slow-loris: unfinished handshakes do not block other clients and time out (408)', async () => {
        const ends = new Recorder();
        const server = await timedServer(path, ends);
        const { port } = server;
        const started = Date.now();
        const lorises = await Promise.all(Array.from({ length: 20 }, () => RawClient.open(port)));
        for (const loris of lorises) {
          loris.write('GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n');
        }
        // One trickles a header line every 40 ms: headersTimeout counts from the first byte.
        const trickler = await RawClient.open(port);
        trickler.write('GET / HTTP/1.1\r\n');
        let line = 0;
        const trickle = setInterval(() => {
          if (!trickler.socket.destroyed) trickler.write(`X-Line-${line++}: a\r\n`);
        }, 40);
        onCleanup(() => clearInterval(trickle));

        // Others are served while the lorises hang.
        const client = await connect(server.url);
        const connectedAt = Date.now();
        const reply = nextMessage(client);
        client.send('served meanwhile');
        expect((await reply).data.toString()).to.equal('served meanwhile');
        expect(
          [...lorises, trickler].filter((raw) => raw.isClosed),
          'the lorises are still waiting',
        ).to.have.length(0);

        for (const raw of [...lorises, trickler]) {
          await raw.closed;
          expect(parseHead(raw.received).status).to.equal(408);
        }
        expect(
          Date.now() - started,
          `closed by headersTimeout (${HEADERS_TIMEOUT} ms)`,
        ).to.be.at.least(HEADERS_TIMEOUT - 50);
        clearInterval(trickle);

        // The accepted connection outlives the HTTP server's timeouts (requestTimeout included).
        const age = Date.now() - connectedAt;
        await new Promise((resolve) =>
          setTimeout(resolve, Math.max(0, REQUEST_TIMEOUT + 150 - age)),
        );
        const again = nextMessage(client);
        client.send('still here');
        expect((await again).data.toString()).to.equal('still here');
        const done = closed(client);
        client.close(1000);
        expect((await done).code).to.equal(1000);
        expect(ends.list).to.have.length(1);
      });
    });
  }

  for (const path of paths) {
    it(`on the ${path} path: clients that reset at any stage are quiet normal events`, async () => {
      const ends = new Recorder();
      const acceptFailures: unknown[] = [];
      current = await plainServer(
        async (socket) => {
          if (socket.url.pathname === '/slow') {
            await new Promise((resolve) => setTimeout(resolve, 50));
            await socket.accept().catch((error: unknown) => {
              acceptFailures.push(error);
              ends.add(error);
              throw error;
            });
            return;
          }
          await echo(ends)(socket);
        },
        { path },
      );
      const { port } = current;
      // 1. In the middle of the request head.
      const partial = await RawClient.open(port);
      partial.write('GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: webso');
      await new Promise((resolve) => setTimeout(resolve, 20));
      partial.socket.resetAndDestroy();
      // 2. After the request, while the handler has not accepted yet (an aborted handshake).
      const aborted = await RawClient.open(port);
      aborted.write(handshake({ path: '/slow' }));
      await new Promise((resolve) => setTimeout(resolve, 10));
      aborted.socket.resetAndDestroy();
      // 3. In the middle of a frame, after the handshake.
      const midFrame = await RawClient.upgraded(port);
      midFrame.write(text('a message cut short').subarray(0, 9));
      await new Promise((resolve) => setTimeout(resolve, 10));
      midFrame.socket.resetAndDestroy();
      // 4. Right after a message, while the server echoes it.
      const echoing = await RawClient.upgraded(port);
      echoing.write(text('x'.repeat(64 * 1024)));
      echoing.socket.resetAndDestroy();

      await ends.atLeast(3);
      expect(acceptFailures).to.have.length(1);
      expect(acceptFailures[0]).to.be.instanceOf(WebSocketDisconnect);
      for (const error of ends.list) {
        expect(error).to.be.instanceOf(WebSocketDisconnect);
        expect((error as WebSocketDisconnect).code).to.equal(1006);
      }
      await until(() => current?.gateway.clients.size === 0);
      await stillServes(current.url);
    });
  }

  printedNothingInTheEnd(noise);
});
