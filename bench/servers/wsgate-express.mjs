// wsgate/express, built: from the copy of dist/ the runner passes in $WSGATE_DIST (a candidate build
// with --candidate), or through the package's self-reference when started by hand.
import { createServer } from 'node:http';
import process from 'node:process';
import express from 'express';
import { ignore, importWsgate, listen, noopExpress, ready, wsgateOptions } from './common.mjs';

const { websocket } = await importWsgate('wsgate/express', 'adapters/express/index.js');

const app = express();
const sockets = websocket(await wsgateOptions());
app.use(sockets);
app.use(noopExpress, noopExpress, noopExpress);

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

const server = createServer(app);
// WSGATE_ATTACH=1: upgrades come from the server's `upgrade` event (sockets.attach) rather than
// reaching the app as requests.
if (process.env.WSGATE_ATTACH === '1') sockets.attach(server);
await ready(await listen(server), 'wsgate/express');
