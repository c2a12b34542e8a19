// wsgate/koa, built: from the copy of dist/ the runner passes in $WSGATE_DIST (a candidate build
// with --candidate), or through the package's self-reference when started by hand.
import { createServer } from 'node:http';
import Koa from 'koa';
import { ignore, importWsgate, listen, noopKoa, ready, wsgateOptions } from './common.mjs';

const { websocket } = await importWsgate('wsgate/koa', 'adapters/koa/index.js');

const app = new Koa();
const sockets = websocket(await wsgateOptions());
app.use(sockets);
app.use(noopKoa);
app.use(noopKoa);
app.use(noopKoa);

app.websocket('/echo', async (socket) => {
  await socket.accept();
  for await (const text of socket.iterText()) await socket.sendText(text);
});
app.websocket('/bin', async (socket) => {
  await socket.accept();
  for await (const bytes of socket.iterBytes()) await socket.sendBytes(bytes);
});
app.websocket('/bc', async (socket) => {
  await socket.accept();
  for await (const text of socket.iterText()) {
    for (const client of sockets.clients) client.sendText(text).catch(ignore);
  }
});
app.websocket('/pub', async (socket) => {
  await socket.accept();
  await socket.subscribe('all');
  for await (const text of socket.iterText()) await sockets.publish('all', text);
});

await ready(await listen(createServer(app.callback())), 'wsgate/koa');
