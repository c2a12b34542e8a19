// docs/migration.md: a koa-easy-ws endpoint, before.
// #region before
import Koa from 'koa';
import websocket from 'koa-easy-ws';

const app = new Koa();
app.use(websocket());

app.use(async (ctx, next) => {
  if (!ctx.ws || ctx.path !== '/echo') return next();
  if (ctx.query.token !== 'secret') ctx.throw(401); // before ctx.ws(): a real HTTP 401
  const ws = await ctx.ws();
  ws.on('message', (data) => ws.send(`echo: ${data}`));
});

export const server = app.listen(Number(process.env.PORT ?? 3000));
// #endregion
