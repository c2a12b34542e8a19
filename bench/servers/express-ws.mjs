// express-ws 5 on Express 4 (its `ws` server completes the handshake, then fakes a GET through
// the app). It bundles ws 7.
import expressWs from 'express-ws';
import express from 'express4';
import { noopExpress, ready } from './common.mjs';

const app = express();
// express-ws creates the HTTP server; leave Express 5's Router (the `express` it resolves) alone.
const instance = expressWs(app, undefined, { leaveRouterUntouched: true });
const wss = instance.getWss();

app.use(noopExpress, noopExpress, noopExpress);

function echo(socket) {
  // ws 7: a text message arrives as a string, a binary one as a Buffer; send() keeps the kind.
  socket.on('message', (data) => {
    socket.send(data);
  });
}
app.ws('/echo', echo);
app.ws('/bin', echo);
app.ws('/bc', (socket) => {
  socket.on('message', (data) => {
    for (const client of wss.clients) client.send(data);
  });
});

// app.listen is patched by express-ws to listen with its own server.
const server = app.listen(0, '127.0.0.1', () => ready(server, 'express-ws'));
