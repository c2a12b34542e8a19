// The "next to another upgrade listener" section of docs/koa.md.
// #region attach
import http from 'node:http';
import Koa from 'koa';
import { WebSocketServer } from 'ws';
import { websocket, withWebSocket } from '../../adapters/koa/index.js';

export const app = withWebSocket(new Koa());
export const sockets = websocket();
app.use(sockets);
app.websocket('/live', async (socket) => {
  await socket.accept();
  await socket.sendText('from koa');
});

export const server = http.createServer(app.callback());

// Another component listening for `upgrade` on the same server (socket.io, a proxy, or as
// here a bare `ws` server for /legacy). From now on Node gives upgrades only to listeners.
export const legacy = new WebSocketServer({ noServer: true });
server.on('upgrade', (req, socket, head) => {
  if (req.url === '/legacy') {
    legacy.handleUpgrade(req, socket, head, (ws) => ws.send('from ws'));
  }
});

// So the plugin takes its upgrades from the `upgrade` event too, leaving the others alone.
sockets.attach(server, { filter: (req) => req.url !== '/legacy' });
// #endregion
