// The "next to another upgrade listener" section of docs/express.md.
// #region attach
import http from 'node:http';
import express from 'express';
import { WebSocketServer } from 'ws';
import { websocket } from '../../adapters/express/index.js';

export const app = express();
export const sockets = websocket();
app.use(sockets);
app.websocket('/live', async (socket) => {
  await socket.accept();
  await socket.sendText('from express');
});

export const server = http.createServer(app);

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
