// @fastify/websocket 11 on fastify 5: routes flagged `{ websocket: true }`; hooks run before the
// upgrade.
import websocket from '@fastify/websocket';
import Fastify from 'fastify';
import { ready } from './common.mjs';

const app = Fastify({ logger: false });
await app.register(websocket);
for (let i = 0; i < 3; i++) {
  app.addHook('onRequest', (_req, _reply, done) => {
    done();
  });
}

function echo(socket) {
  socket.on('message', (data, isBinary) => {
    socket.send(data, { binary: isBinary });
  });
}
app.register(async (scope) => {
  scope.get('/echo', { websocket: true }, echo);
  scope.get('/bin', { websocket: true }, echo);
  scope.get('/bc', { websocket: true }, (socket) => {
    const clients = app.websocketServer.clients;
    socket.on('message', (data, isBinary) => {
      for (const client of clients) client.send(data, { binary: isBinary });
    });
  });
});

await app.listen({ port: 0, host: '127.0.0.1' });
ready(app.server, '@fastify/websocket');
