// The quick start and graceful shutdown of docs/express.md (the regions are quoted there).
// #region quick-start
import express from 'express';
import { websocket } from '../../adapters/express/index.js';

const app = express();
const sockets = websocket();
app.use(sockets); // before the routes

app.websocket('/echo', async (socket) => {
  await socket.accept();
  for await (const text of socket.iterText()) {
    await socket.sendText(`echo: ${text}`);
  }
});

const server = app.listen(Number(process.env.PORT ?? 3000));
// #endregion

// #region shutdown
export async function shutdown(): Promise<void> {
  // Stop accepting connections (upgrades still arriving on open ones get 503).
  server.close();
  // Close every WebSocket with 1001 and wait until all of them are gone.
  await sockets.close(1001, 'Server restarting');
}
// #endregion

export { app, server, sockets };
