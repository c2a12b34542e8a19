// koa-easy-ws 2 on Koa: `await ctx.ws()` upgrades (the server has no `upgrade` listener, so Node
// hands upgrade requests to Koa).
import { createServer } from 'node:http';
import Koa from 'koa';
import easyWebsocket from 'koa-easy-ws';
import { listen, noopKoa, ready } from './common.mjs';

const app = new Koa();
const websocket = easyWebsocket();
const wss = websocket.server;

app.use(websocket);
app.use(noopKoa);
app.use(noopKoa);
app.use(noopKoa);
app.use(async (ctx, next) => {
  if (!ctx.ws) return next();
  const path = ctx.path;
  if (path === '/echo' || path === '/bin') {
    const socket = await ctx.ws();
    socket.on('message', (data, isBinary) => {
      socket.send(data, { binary: isBinary });
    });
  } else if (path === '/bc') {
    const socket = await ctx.ws();
    socket.on('message', (data, isBinary) => {
      for (const client of wss.clients) client.send(data, { binary: isBinary });
    });
  } else {
    return next();
  }
});

await ready(await listen(createServer(app.callback())), 'koa-easy-ws');
