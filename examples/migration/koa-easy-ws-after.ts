// docs/migration.md: the same endpoint on wsgate/koa.
// #region after
import Koa from 'koa';
import { websocket, withWebSocket } from '../../adapters/koa/index.js';

const app = withWebSocket(new Koa());
app.use(websocket());

app.websocket(
  '/echo',
  async (ctx, next) => {
    if (ctx.query.token !== 'secret') ctx.throw(401); // a real HTTP 401, no upgrade
    await next();
  },
  async (socket) => {
    await socket.accept();
    for await (const text of socket.iterText()) await socket.sendText(`echo: ${text}`);
  },
);

export const server = app.listen(Number(process.env.PORT ?? 3000));
// #endregion
