// The routing sections of docs/koa.md (the regions are quoted there).
// #region app
import Router from '@koa/router';
import Koa from 'koa';
import { websocket, withWebSocket } from '../../adapters/koa/index.js';

export const app = withWebSocket(new Koa());
export const sockets = websocket({ maxPayload: 64 * 1024 });
app.use(sockets);

// @koa/router's path syntax; ctx.params and socket.params hold the parameters.
app.websocket('/rooms/:room', async (socket, ctx) => {
  await socket.accept();
  await socket.sendText(`welcome to ${ctx.params.room}`);
  for await (const text of socket.iterText()) {
    await socket.sendText(`${socket.params.room}: ${text}`);
  }
});
// #endregion

// #region router
const feeds = withWebSocket(new Router());
feeds.websocket('/:feed', async (socket, ctx) => {
  const subprotocol = socket.subprotocols.includes('feed.v2') ? 'feed.v2' : undefined;
  await socket.accept({ subprotocol, headers: { 'x-feed-version': '2' } });
  // socket.url is the full path the client asked for, prefixes included.
  await socket.sendJson({ org: ctx.params.org, feed: ctx.params.feed, path: socket.url.pathname });
});
// A plain GET to the same path falls through to the next matching route.
feeds.get('/:feed', (ctx) => {
  ctx.body = `the ${ctx.params.feed} feed of ${ctx.params.org}`;
});

const api = new Router({ prefix: '/api' });
api.use('/orgs/:org/feeds', feeds.routes());
app.use(api.routes());
// #endregion

// #region by-hand
app.use(async (ctx, next) => {
  // ctx.websocket is the socket of an upgrade request, undefined for any other request.
  if (ctx.websocket && ctx.path === '/by-hand') {
    await ctx.websocket.accept();
    await ctx.websocket.sendText('routed by hand');
    return; // still open: closed with 1000 once the middleware chain is done
  }
  await next();
});
// #endregion
