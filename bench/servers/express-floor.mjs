// A reference row, not a plugin: every upgrade goes through Express 5's own middleware and
// router, and the route's handler hands it to `ws`. Nothing else runs, so this is what routing a
// handshake through Express costs before a plugin does anything (with FLOOR_SHAPED=1, when the
// requests share a hidden class).
// It takes upgrades from the `upgrade` event with a response of its own (as express-ws does,
// and as `sockets.attach(server)` does), which is cheaper for Node than its request path.
import { createServer, ServerResponse } from 'node:http';
import process from 'node:process';
import express from 'express';
import { WebSocketServer } from 'ws';
import { importWsgate, listen, noopExpress, ready } from './common.mjs';

const wss = new WebSocketServer({ noServer: true });
/** The socket and head of each upgrade request, for the route that completes it. */
const upgrades = new WeakMap();

function echo(socket) {
  socket.on('message', (data, isBinary) => socket.send(data, { binary: isBinary }));
}

function broadcast(socket) {
  socket.on('message', (data, isBinary) => {
    for (const client of wss.clients) client.send(data, { binary: isBinary });
  });
}

// FLOOR_SHAPED=1: every request first gets the properties Express and its router will add, so
// that all share one hidden class: wsgate's own shaping (adapters/express/request-shape.ts, from
// the run's build), and nothing else of wsgate's.
const shaping =
  process.env.FLOOR_SHAPED === '1'
    ? await importWsgate(
        new URL('../../dist/adapters/express/request-shape.js', import.meta.url).href,
        'adapters/express/request-shape.js',
      )
    : undefined;

function route(onConnection) {
  return (req) => {
    shaping?.learnShape(req);
    const { socket, head } = upgrades.get(req);
    wss.handleUpgrade(req, socket, head, onConnection);
  };
}

const app = express();
app.use(noopExpress, noopExpress, noopExpress);
app.get('/echo', route(echo));
app.get('/bin', route(echo));
app.get('/bc', route(broadcast));

const server = createServer(app);
server.on('upgrade', (req, socket, head) => {
  const res = new ServerResponse(req);
  res.assignSocket(socket);
  upgrades.set(req, { socket, head });
  shaping?.shapeRequest(req, res);
  app.handle(req, res);
});

await ready(await listen(server), 'Express 5 + ws');
