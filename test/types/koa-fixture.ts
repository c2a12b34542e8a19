// Compiled by test/koa-types.test.ts with `tsc --noEmit`: proves the public types of `wsgate/koa`
// (ctx.websocket, withWebSocket's app.websocket / router.websocket, the inferred handler params).
import Router, { type RouterContext } from '@koa/router';
import Koa, { type Context, type Next } from 'koa';
import {
  type WebSocketApplication,
  type WebSocketContext,
  type WebSocketMiddleware,
  type WebSocketRouter,
  websocket,
  withWebSocket,
} from '../../adapters/koa/index.js';
import type { WebSocket } from '../../lib/websocket.js';

type IsAny<T> = 0 extends 1 & T ? true : false;
type Equal<A, B> =
  (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
function assertType<T extends true>(_proof?: T): void {}

interface AppState {
  user?: string;
}

const app = withWebSocket(new Koa<AppState>());
assertType<Equal<typeof app, WebSocketApplication<AppState>>>();
const sockets: WebSocketMiddleware = websocket({ maxPayload: 1024, heartbeat: false });
app.use(sockets);
assertType<Equal<typeof sockets.clients, ReadonlySet<WebSocket>>>();
const closing: Promise<void> = sockets.close(1001, 'bye');
void closing;

// ctx.websocket on every Koa context: the socket or undefined, never `any`.
app.use(async (ctx: Context, next: Next) => {
  assertType<Equal<typeof ctx.websocket, WebSocket | undefined>>();
  if (ctx.websocket && ctx.path === '/by-hand') {
    await ctx.websocket.accept();
    return;
  }
  await next();
});

// app.websocket: the handler's parameters infer without annotations, and are not `any`.
const chained = app.websocket('/rooms/:room', async (socket, ctx) => {
  assertType<Equal<typeof socket, WebSocket>>();
  assertType<Equal<IsAny<typeof ctx>, false>>();
  assertType<Equal<typeof ctx, WebSocketContext<AppState>>>();
  assertType<Equal<typeof ctx.websocket, WebSocket>>();
  assertType<Equal<typeof ctx.params, Record<string, string>>>();
  assertType<Equal<typeof ctx.state.user, string | undefined>>();
  await socket.accept();
  const text: string = await socket.receiveText();
  await socket.sendText(`${ctx.params.room}: ${text}`);
});
assertType<Equal<typeof chained, typeof app>>();

// Middleware in between, typed by the same context.
app.websocket(
  '/users/:id/feed',
  async (ctx, next) => {
    assertType<Equal<IsAny<typeof ctx>, false>>();
    assertType<Equal<typeof ctx.websocket, WebSocket>>();
    if (!ctx.get('authorization')) ctx.throw(401);
    ctx.state.user = 'ada';
    await next();
  },
  (ctx, next) => {
    ctx.status = 403;
    return ctx.state.user === 'ada' ? next() : undefined;
  },
  (socket) => socket.close(),
);

// @koa/router routers, with the router's context (params, router).
const router = withWebSocket(new Router<AppState>({ prefix: '/api' }));
assertType<Equal<typeof router, WebSocketRouter<AppState>>>();
const sameRouter = router.websocket('/feed/:feed', async (socket, ctx) => {
  assertType<Equal<typeof socket, WebSocket>>();
  assertType<Equal<IsAny<typeof ctx>, false>>();
  assertType<Equal<typeof ctx.params, Record<string, string>>>();
  assertType<Equal<typeof ctx.websocket, WebSocket>>();
  const routerContext: RouterContext<AppState> = ctx;
  void routerContext;
  await socket.accept({ subprotocol: socket.subprotocols[0] });
});
assertType<Equal<typeof sameRouter, typeof router>>();
router.websocket(
  /^\/re\/(\d+)$/,
  (_ctx, next) => next(),
  (socket) => socket.accept(),
);
app.use(router.routes());

// Subclasses and routers with custom methods keep their own members.
class MyApp extends Koa<AppState> {
  readonly version = 2;
}
const mine = withWebSocket(new MyApp());
const version: number = mine.version;
void version;
mine.websocket('/mine', (socket, ctx) => {
  assertType<Equal<typeof ctx.state.user, string | undefined>>();
  return socket.accept();
});
const custom = withWebSocket(new Router({ methods: ['purge'] as const }));
custom.purge('/cache', (ctx) => {
  ctx.status = 204;
});
custom.websocket('/live', (socket) => socket.accept());

// Wrong usages fail.
// @ts-expect-error -- a handler is required
app.websocket('/nothing');
// @ts-expect-error -- the path must be a string (or strings)
app.websocket(42, (socket) => socket.accept());
app.websocket('/x', (socket) => {
  // @ts-expect-error -- sendText takes a string
  void socket.sendText(42);
});
// @ts-expect-error -- the handler receives a WebSocket, not a Koa context
app.websocket('/y', (_socket: Context) => {});
const notMiddleware = (_socket: WebSocket, next: Next) => next();
// @ts-expect-error -- middleware take (ctx, next), not a socket
router.websocket('/z', notMiddleware, (socket) => socket.accept());
// @ts-expect-error -- unknown option
websocket({ maxPayloads: 1 });
// @ts-expect-error -- withWebSocket takes a Koa application or a router
withWebSocket({});
// @ts-expect-error -- without withWebSocket, TypeScript cannot see the method on Koa's class
new Koa().websocket('/plain', () => {});
