// The quick start and graceful shutdown of docs/koa.md (the regions are quoted there).
// #region quick-start
import Koa from 'koa';
import { websocket, withWebSocket } from '../../adapters/koa/index.js';

// withWebSocket() returns the app itself, typed with its .websocket() method.
const app = withWebSocket(new Koa());
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
