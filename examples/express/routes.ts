// The `.websocket()` API section of docs/express.md.
// #region routes
import express from 'express';
import { websocket } from '../../adapters/express/index.js';

export const app = express();
export const sockets = websocket({ maxPayload: 64 * 1024 });
app.use(sockets);

// Express path syntax; req.params and socket.params hold the parameters.
app.websocket('/rooms/:room', async (socket, req) => {
  await socket.accept();
  await socket.sendText(`welcome to ${req.params.room}`);
  for await (const text of socket.iterText()) {
    await socket.sendText(`${socket.params.room}: ${text}`);
  }
});

// A plain GET to the same path falls through to the next matching route.
app.get('/rooms/:room', (req, res) => {
  res.type('text').send(`the ${req.params.room} room`);
});

// Routers work mounted under any prefix; socket.url is the full path the client asked for.
const api = express.Router();
api.websocket('/feed', async (socket) => {
  const subprotocol = socket.subprotocols.includes('feed.v2') ? 'feed.v2' : undefined;
  await socket.accept({ subprotocol, headers: { 'x-feed-version': '2' } });
  await socket.sendJson({ path: socket.url.pathname, since: socket.query.get('since') });
});
app.use('/api', api);
// #endregion
