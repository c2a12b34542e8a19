import http from 'node:http';
import type { Socket } from 'node:net';
import { Readable } from 'node:stream';
import { expect } from 'chai';
import Koa from 'koa';
import { websocket, withWebSocket } from '../adapters/koa/index.js';
import type { WebSocketDisconnect } from '../lib/index.js';
import { cleanup } from './support/cleanup.js';
import { captureOutput } from './support/output.js';
import { handshake, RawClient } from './support/raw-client.js';
import { serve } from './support/servers.js';
import { deferred, tick, until } from './support/waiting.js';

// Node hands upgrade requests to the app ('request' path) when the server has no `upgrade`
// listener; with `sockets.attach(server)` they come from the `upgrade` event instead.
const paths = ['request', 'upgrade'] as const;

/** A close frame as the server sends it: unmasked, with a 2-byte code and no reason. */
function serverCloseFrame(code: number): number[] {
  return [0x88, 0x02, code >> 8, code & 0xff];
}

/** A raw client that has sent a WebSocket handshake for `path`. */
async function handshaking(port: number, path: string): Promise<RawClient> {
  const raw = await RawClient.open(port);
  raw.write(handshake({ path }));
  return raw;
}

describe('wsgate/koa on the wire', () => {
  afterEach(cleanup);

  for (const path of paths) {
    describe(`through the ${path} path`, () => {
      async function start(app: Koa, sockets: ReturnType<typeof websocket>) {
        const server = http.createServer(app.callback());
        if (path === 'upgrade') sockets.attach(server);
        return serve(server, { sockets });
      }

      it('never lets Koa write into an upgraded stream (throw after accept → only a 1011 frame)', async () => {
        const app = withWebSocket(new Koa());
        const sockets = websocket({ heartbeat: false, onError: () => {} });
        const upstream = deferred<number>();
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
        const raw = await handshaking(served.port, '/fail');
        await raw.answerClose();
        const text = raw.received.toString('latin1');
        expect(text.startsWith('HTTP/1.1 101 Switching Protocols\r\n')).to.equal(true);
        expect([...raw.afterHead()]).to.deep.equal(serverCloseFrame(1011));
        expect(text).not.to.include('HTTP/1.1 500');
        expect(text).not.to.include('LATE BODY');
        // Upstream middleware sees the upgrade as a 101, not Koa's default 404.
        expect(await upstream.promise).to.equal(101);
        // Koa's response step (right after the chain) did not even start reading the body.
        await tick();
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
        const raw = await handshaking(served.port, '/hand');
        await raw.answerClose();
        expect(raw.received.toString('latin1')).to.match(/^HTTP\/1\.1 101 /);
        expect([...raw.afterHead()]).to.deep.equal(serverCloseFrame(1011));
      });

      it('answers a refused upgrade with exactly one HTTP response and closes', async () => {
        const app = withWebSocket(new Koa());
        const sockets = websocket({ heartbeat: false });
        app.use(sockets);
        app.websocket('/refuse', (socket) => socket.close());
        const served = await start(app, sockets);
        const raw = await handshaking(served.port, '/refuse');
        await raw.closed;
        const text = raw.received.toString('latin1');
        expect(text).to.match(/^HTTP\/1\.1 403 /);
        expect(text.match(/HTTP\/1\.1/g)).to.have.length(1);
      });

      it('logs nothing when the client resets the connection before the handshake completes', async () => {
        const app = withWebSocket(new Koa());
        const sockets = websocket({ heartbeat: false });
        const entered = deferred<Socket>();
        const release = deferred();
        const outcome = deferred<string>();
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
        const logged = await captureOutput(async () => {
          const raw = await handshaking(served.port, '/slow');
          const serverSide = await entered.promise;
          raw.socket.resetAndDestroy();
          await raw.closed;
          release.resolve();
          expect(await outcome.promise).to.equal('WebSocketDisconnect');
          await until(() => serverSide.destroyed);
        });
        expect(logged).to.deep.equal([]);
      });

      it('logs nothing when the client resets an open connection; the handler sees 1006', async () => {
        const app = withWebSocket(new Koa());
        const sockets = websocket({ heartbeat: false });
        const disconnect = deferred<WebSocketDisconnect>();
        app.use(sockets);
        app.websocket('/open', async (socket) => {
          await socket.accept();
          await socket
            .receiveText()
            .catch((error: WebSocketDisconnect) => disconnect.resolve(error));
        });
        const served = await start(app, sockets);
        const logged = await captureOutput(async () => {
          const raw = await handshaking(served.port, '/open');
          await raw.response();
          raw.socket.resetAndDestroy();
          await raw.closed;
          expect((await disconnect.promise).code).to.equal(1006);
          await until(() => sockets.clients.size === 0);
        });
        expect(logged).to.deep.equal([]);
      });
    });
  }
});
