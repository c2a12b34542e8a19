// A reference row, not a plugin: raw `ws` with the handler the contract (API.md) asks for and
// nothing else. Each message is read by awaiting a promise the next `message` resolves, each send
// is awaited, the socket keeps the request headers, and the handler's promise is watched (it
// closes with 1000 when the handler returns, 1011 when it throws), as a wsgate handler's is with
// `for await (const text of socket.iterText()) await socket.sendText(text)`. No state machine,
// no flow control, no routing, no listener: the socket is its own iterator and reads `ws`'s
// events in `emit` (`ws`'s `WebSocket` server option). What an awaited read per message costs, in
// time and in memory, before a plugin does anything. With FLOOR_TEXT=1 a text message is also
// decoded to a string and the answer encoded again, as any API that hands text as strings must.
import { createServer } from 'node:http';
import process from 'node:process';
import { WebSocket, WebSocketServer } from 'ws';
import { listen, ready } from './common.mjs';

const TEXT = process.env.FLOOR_TEXT === '1';
const SENT = Promise.resolve();
const DONE = Object.freeze({ done: true, value: undefined });

class AwaitedSocket extends WebSocket {
  /** The request headers, kept for the life of the connection as `socket.headers` is. */
  headers = undefined;
  /** The `resolve` of the read the handler waits on. */
  #waiting = undefined;
  /** What arrived while the handler was busy (made on the first such message). */
  #queue = undefined;
  #ended = false;

  emit(event, data, isBinary) {
    if (event === 'message') {
      this.#deliver({ done: false, value: TEXT && !isBinary ? data.toString() : data });
      return true;
    }
    if (event === 'close') {
      this.#ended = true;
      this.#deliver(DONE);
    }
    return super.emit(event, data, isBinary);
  }

  /** Hands an iterator result to the waiting read, or queues it. */
  #deliver(result) {
    const resolve = this.#waiting;
    if (resolve === undefined) {
      this.#queue ??= [];
      this.#queue.push(result);
    } else {
      this.#waiting = undefined;
      resolve(result);
    }
  }

  next() {
    if (this.#queue?.length) return Promise.resolve(this.#queue.shift());
    if (this.#ended) return Promise.resolve(DONE);
    return new Promise((resolve) => {
      this.#waiting = resolve;
    });
  }

  [Symbol.asyncIterator]() {
    return this;
  }

  returned() {
    this.close(1000);
  }

  threw(error) {
    this.close(1011);
    console.error(error);
  }

  sendMessage(value, binary) {
    this.send(typeof value === 'string' ? Buffer.from(value) : value, { binary });
    return SENT;
  }
}

async function echo(socket, binary) {
  for await (const value of socket) await socket.sendMessage(value, binary);
}

async function broadcast(socket) {
  for await (const value of socket) {
    for (const client of wss.clients) client.sendMessage(value, false);
  }
}

const server = createServer((_req, res) => {
  res.writeHead(404).end();
});
const wss = new WebSocketServer({ server, WebSocket: AwaitedSocket });

wss.on('connection', (socket, req) => {
  socket.headers = req.headers;
  const handled = req.url === '/bc' ? broadcast(socket) : echo(socket, req.url === '/bin');
  // The contract's lifecycle: a handler that returns closes with 1000, one that throws with 1011.
  handled.then(socket.returned.bind(socket), socket.threw.bind(socket));
});

await ready(await listen(server), TEXT ? 'ws, awaited text reads' : 'ws, awaited reads');
