import type { Socket } from 'node:net';
import { Readable } from 'node:stream';
import { expect } from 'chai';
import Koa from 'koa';
import { websocket, withWebSocket } from '../adapters/koa/index.js';
import type { WebSocketDisconnect } from '../lib/index.js';
import {
  afterHead,
  captureConsoleError,
  clientCloseFrame,
  closeAll,
  rawExchange,
  serve,
} from './koa-support.js';
import { signal, until } from './support/plain-server.js';

// Node hands upgrade requests to the app ('request' path) when the server has no `upgrade`
// listener; with `sockets.attach(server)` they come from the `upgrade` event instead.
const paths = ['request', 'upgrade'] as const;

/** A close frame as the server sends it: unmasked, with a 2-byte code and no reason. */
function serverCloseFrame(code: number): number[] {
  return [0x88, 0x02, code >> 8, code & 0xff];
}

/** Answers the server's close frame, as a well-behaved client does. */
function answerClose(socket: Socket, received: Buffer): void {
  const frames = afterHead(received);
  if (frames[0] === 0x88 && !socket.writableEnded) socket.end(clientCloseFrame(1000));
}

describe('wsgate/koa on the wire', () => {
  afterEach(closeAll);

  for (const path of paths) {
    describe(`through the ${path} path`, () => {
      async function start(app: Koa, sockets: ReturnType<typeof websocket>) {
        return serve(app, sockets, 'createServer', (server) => {
          if (path === 'upgrade') sockets.attach(server);
        });
      }

      it('never lets Koa write into an upgraded stream (throw after accept → only a 1011 frame)', async () => {
        const app = withWebSocket(new Koa());
        const sockets = websocket({ heartbeat: false, onError: () => {} });
        const upstream = signal<number>();
        let reads = 0;
        // Upstream middleware that sets a body once the chain is done: Koa must not send it.
        app.use(async (ctx, next) => {
          await next();
          ctx.body = new Readable({
            read() {
              reads++;
              this.push('LATE BODY');
              this.push(null);
            },
          });
          upstream.resolve(ctx.status);
        });
        app.use(sockets);
        app.websocket('/fail', async (socket) => {
          await socket.accept();
          throw new Error('after accept');
        });
        const served = await start(app, sockets);
        const received = await rawExchange(served.ws, '/fail', answerClose);
        const text = received.toString('latin1');
        expect(text.startsWith('HTTP/1.1 101 Switching Protocols\r\n')).to.equal(true);
        expect([...afterHead(received)]).to.deep.equal(serverCloseFrame(1011));
        expect(text).not.to.include('HTTP/1.1 500');
        expect(text).not.to.include('LATE BODY');
        // Upstream middleware sees the upgrade as a 101, not Koa's default 404.
        expect(await upstream.promise).to.equal(101);
        // Koa's response step (right after the chain) did not even start reading the body.
        await new Promise((resolve) => setImmediate(resolve));
        expect(reads).to.equal(0);
      });

      it('never lets Koa write into the stream when hand routing throws after accept', async () => {
        const app = new Koa();
        const sockets = websocket({ heartbeat: false, onError: () => {} });
        app.use(sockets);
        app.use(async (ctx) => {
          if (!ctx.websocket) return;
          await ctx.websocket.accept();
          ctx.throw(400, 'after accept');
        });
        const served = await start(app, sockets);
        const received = await rawExchange(served.ws, '/hand', answerClose);
        expect(received.toString('latin1')).to.match(/^HTTP\/1\.1 101 /);
        expect([...afterHead(received)]).to.deep.equal(serverCloseFrame(1011));
      });

      it('answers a refused upgrade with exactly one HTTP response and closes', async () => {
        const app = withWebSocket(new Koa());
        const sockets = websocket({ heartbeat: false });
        app.use(sockets);
        app.websocket('/refuse', (socket) => socket.close());
        const served = await start(app, sockets);
        const text = (await rawExchange(served.ws, '/refuse')).toString('latin1');
        expect(text).to.match(/^HTTP\/1\.1 403 /);
        expect(text.match(/HTTP\/1\.1/g)).to.have.length(1);
      });

      it('logs nothing when the client resets the connection before the handshake completes', async () => {
        const app = withWebSocket(new Koa());
        const sockets = websocket({ heartbeat: false });
        const entered = signal<Socket>();
        const release = signal();
        const outcome = signal<string>();
        app.use(sockets);
        app.use(async (ctx, next) => {
          entered.resolve(ctx.req.socket);
          await release.promise;
          await next();
        });
        app.websocket('/slow', async (socket) => {
          try {
            // Depending on when the server notices the reset, accept() or the read fails.
            await socket.accept();
            await socket.receiveText();
            outcome.resolve('message');
          } catch (error) {
            outcome.resolve((error as Error).name);
          }
        });
        const served = await start(app, sockets);
        const logged = await captureConsoleError(async () => {
          let client: Socket | undefined;
          const exchange = rawExchange(served.ws, '/slow', undefined, (socket) => {
            client = socket;
          });
          const serverSide = await entered.promise;
          client?.resetAndDestroy();
          await exchange;
          release.resolve();
          expect(await outcome.promise).to.equal('WebSocketDisconnect');
          await until(() => serverSide.destroyed);
        });
        expect(logged).to.deep.equal([]);
      });

      it('logs nothing when the client resets an open connection; the handler sees 1006', async () => {
        const app = withWebSocket(new Koa());
        const sockets = websocket({ heartbeat: false });
        const disconnect = signal<WebSocketDisconnect>();
        app.use(sockets);
        app.websocket('/open', async (socket) => {
          await socket.accept();
          await socket
            .receiveText()
            .catch((error: WebSocketDisconnect) => disconnect.resolve(error));
        });
        const served = await start(app, sockets);
        const logged = await captureConsoleError(async () => {
          await rawExchange(served.ws, '/open', (socket, received) => {
            if (received.includes('\r\n\r\n') && !socket.destroyed) socket.resetAndDestroy();
          });
          expect((await disconnect.promise).code).to.equal(1006);
          await until(() => sockets.clients.size === 0);
        });
        expect(logged).to.deep.equal([]);
      });
    });
  }
});
