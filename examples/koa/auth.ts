// The authentication and refusal sections of docs/koa.md (the regions are quoted there).
// #region auth
import Koa, { type Next } from 'koa';
import { type WebSocketContext, websocket, withWebSocket } from '../../adapters/koa/index.js';

interface State {
  user?: { name: string };
}

const tokens = new Map([['s3cret', { name: 'ann' }]]);

export const app = withWebSocket(new Koa<State>());
app.use(websocket());

// Ordinary Koa middleware: it runs before the handshake, so refusing is a plain response.
app.use(async (ctx, next) => {
  // Browsers cannot set headers on a WebSocket: take a cookie or a query parameter too.
  const token = ctx.get('authorization').replace(/^Bearer /, '') || ctx.query.token;
  const user = typeof token === 'string' ? tokens.get(token) : undefined;
  if (user) ctx.state.user = user;
  await next();
});
// #endregion

// #region refuse
const online = new Set<string>();

async function onePerUser(ctx: WebSocketContext<State>, next: Next): Promise<void> {
  // ctx.throw() answers with that status and message (and Koa does not log it)...
  if (!ctx.state.user) ctx.throw(401, 'Log in first');
  if (online.has(ctx.state.user.name)) {
    // ...or set any status, headers and body: the client gets exactly this, and no upgrade.
    ctx.status = 409;
    ctx.set('Retry-After', '10');
    ctx.body = { error: 'Already connected elsewhere' };
    return;
  }
  await next();
}

app.websocket('/chat', onePerUser, async (socket, ctx) => {
  const { user } = ctx.state;
  // Refusing from the handler itself: close() before accept() answers HTTP 403.
  if (!user) return socket.close();
  await socket.accept();
  online.add(user.name);
  try {
    await socket.sendText(`hello ${user.name}`);
    for await (const text of socket.iterText()) await socket.sendText(`${user.name}: ${text}`);
  } finally {
    online.delete(user.name);
  }
});
// #endregion
