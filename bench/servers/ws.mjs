// Raw `ws` (the ceiling): one WebSocketServer on a plain HTTP server, dispatching by path.
import { createServer } from 'node:http';
import { WebSocketServer } from 'ws';
import { listen, ready } from './common.mjs';

const server = createServer((_req, res) => {
  res.writeHead(404).end();
});
const wss = new WebSocketServer({ server });

wss.on('connection', (socket, req) => {
  if (req.url === '/bc') {
    socket.on('message', (data, isBinary) => {
      for (const client of wss.clients) client.send(data, { binary: isBinary });
    });
  } else {
    socket.on('message', (data, isBinary) => {
      socket.send(data, { binary: isBinary });
    });
  }
});

await ready(await listen(server), 'ws');
