// The broadcasting section of docs/express.md.
// #region broadcast
import express from 'express';
import { websocket } from '../../adapters/express/index.js';

export const app = express();
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
