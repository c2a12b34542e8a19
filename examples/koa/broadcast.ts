// The broadcasting section of docs/koa.md.
// #region broadcast
import Koa from 'koa';
import { websocket, withWebSocket } from '../../adapters/koa/index.js';

export const app = withWebSocket(new Koa());
export const sockets = websocket();
app.use(sockets);

app.websocket('/chat', async (socket) => {
  await socket.accept();
  for await (const text of socket.iterText()) {
    // sockets.clients: every accepted, still-open socket of this plugin, this one included.
    const sends = [...sockets.clients].map((client) => client.sendText(text));
    // A client that left meanwhile rejects with WebSocketDisconnect: skip it.
    await Promise.allSettled(sends);
  }
});
// #endregion
