/** The chat on Koa and @koa/router: `npm start -- --koa`. */
import Router from '@koa/router';
import Koa, { type Next, type ParameterizedContext } from 'koa';
import { websocket, withWebSocket } from 'wsgate/koa';
import { type Chat, page, refusal } from './chat.js';

interface State {
  /** The chat name `requireName` accepted. */
  name: string;
}

/**
 * Runs before the handshake, like any auth middleware: without a usable `?name=` the client
 * gets a plain HTTP 400 and no WebSocket.
 */
async function requireName(
  ctx: ParameterizedContext<State> & { params: Record<string, string> },
  next: Next,
): Promise<void> {
  const problem = refusal(ctx.params.room, ctx.query.name);
  if (problem !== undefined) {
    ctx.status = 400;
    ctx.body = { error: problem };
    return;
  }
  ctx.state.name = String(ctx.query.name).trim();
  await next();
}

export function koaApp(chat: Chat) {
  const app = new Koa();
  const sockets = websocket({ pubsub: chat.pubsub });
  chat.use(sockets);
  app.use(sockets);

  const router = withWebSocket(new Router<State>());
  router.websocket('/rooms/:room', requireName, (socket, ctx) =>
    chat.join(socket, sockets, ctx.params.room ?? '', ctx.state.name),
  );
  // A plain GET of the same URL runs the same check: the page asks it why a handshake failed,
  // since browsers hide a refused handshake's HTTP response from scripts.
  router.get('/rooms/:room', requireName, (ctx) => {
    ctx.body = { ok: true };
  });
  router.get('/api/rooms', async (ctx) => {
    ctx.body = await chat.rooms();
  });
  app.use(router.routes());

  app.use(async (ctx, next) => {
    const file = ctx.method === 'GET' ? page(ctx.path) : undefined;
    if (file === undefined) return next();
    ctx.type = file.type;
    ctx.body = file.body;
  });
  return { app, sockets };
}
