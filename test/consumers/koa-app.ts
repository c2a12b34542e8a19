// A README-style Koa app with @koa/router, type-checked by test/consumers.test.ts inside
// temporary consumer projects that installed the packed wsgate (CommonJS and ESM packages,
// nodenext, node20, bundler): @koa/router's types differ between `require` and `import`.
import Router, { type RouterContext, type RouterMiddleware } from '@koa/router';
import Koa, { type Next } from 'koa';
import {
  type WebSocketRouter,
  type WebSocketRouterContext,
  websocket,
  withWebSocket,
} from 'wsgate/koa';

interface State {
  user?: string;
}

const app = withWebSocket(new Koa<State>());
const sockets = websocket();
app.use(sockets);

app.websocket('/echo', async (socket, ctx) => {
  await socket.accept();
  for await (const text of socket.iterText()) await socket.sendText(`${ctx.path}: ${text}`);
});

async function authorize(ctx: WebSocketRouterContext<State>, next: Next): Promise<void> {
  const token = ctx.get('authorization') || ctx.query.token;
  if (token !== 's3cret') ctx.throw(401);
  ctx.state.user = 'ann';
  await next();
}

// Middleware typed with @koa/router's own types accept a WebSocket route's context.
const logged: RouterMiddleware<State> = async (ctx, next) => {
  console.log(ctx.routerPath, ctx.params.room);
  await next();
};

const router: WebSocketRouter<State> = withWebSocket(new Router<State>({ prefix: '/api' }));
router.websocket('/rooms/:room', authorize, logged, async (socket, ctx) => {
  const routerContext: RouterContext<State> = ctx;
  const room = ctx.params.room;
  // @ts-expect-error -- a parameter is a string (no error if ctx were `any`: the check fails)
  room.toFixed();
  await socket.accept();
  await ctx.websocket.sendText(`${ctx.state.user} joined ${room} (${routerContext.path})`);
  for await (const text of socket.iterText()) await socket.sendText(`${room}: ${text}`);
  // @ts-expect-error -- sendText takes a string
  await ctx.websocket.sendText(42);
});
router.get('/rooms/:room', (ctx) => {
  ctx.body = `room ${ctx.params.room}`;
});
app.use(router.routes());
app.use(router.allowedMethods());

const server = app.listen(Number(process.env.PORT ?? 3000));
process.once('SIGTERM', () => {
  server.close();
  void sockets.close(1001);
});
