import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import express from 'express';
import { WebSocket as Client } from 'ws';
import { websocket } from '../adapters/express/index.js';
import {
  type AppMessage,
  type ClientMessage,
  type Transport,
  WebSocket,
  WebSocketDisconnect,
  WebSocketStateError,
} from '../lib/index.js';

/**
 * A transport that, like a network one, keeps a single waiter: a second read while one is
 * pending would overwrite the first. The socket must never do that.
 */
class OneWaiterTransport implements Transport {
  readonly #inbox: ClientMessage[] = [{ type: 'connect' }];
  #waiter: ((message: ClientMessage) => void) | undefined;
  overlapping = 0;

  push(message: ClientMessage): void {
    const waiter = this.#waiter;
    this.#waiter = undefined;
    if (waiter) waiter(message);
    else this.#inbox.push(message);
  }

  receive(): Promise<ClientMessage> {
    if (this.#waiter) this.overlapping++;
    const message = this.#inbox.shift();
    if (message) return Promise.resolve(message);
    return new Promise((resolve) => {
      this.#waiter = resolve;
    });
  }

  async send(_message: AppMessage): Promise<void> {}
}

describe('concurrent receive* calls', () => {
  it('are served in call order, each with the next message, one transport read at a time', async () => {
    const transport = new OneWaiterTransport();
    const socket = new WebSocket(transport);
    await socket.accept();
    const iterator = socket.iterText()[Symbol.asyncIterator]();
    const pending = [
      socket.receiveText(),
      socket.receiveBytes(),
      socket.receiveJson(),
      iterator.next(),
      socket.receive(),
    ];
    transport.push({ type: 'receive', text: 'one' });
    transport.push({ type: 'receive', text: 'two' });
    transport.push({ type: 'receive', text: '{"n":3}' });
    transport.push({ type: 'receive', text: 'four' });
    transport.push({ type: 'receive', bytes: Buffer.from('five') });
    const [one, two, three, four, five] = await Promise.all(pending);
    expect(one).to.equal('one');
    expect(Buffer.isBuffer(two) && two.toString()).to.equal('two');
    expect(three).to.deep.equal({ n: 3 });
    expect(four).to.deep.equal({ value: 'four', done: false });
    expect(five).to.deep.equal({ type: 'receive', bytes: Buffer.from('five') });
    expect(transport.overlapping).to.equal(0);
  });

  it('leave none pending when the client disconnects: the first gets the disconnect', async () => {
    const transport = new OneWaiterTransport();
    const socket = new WebSocket(transport);
    await socket.accept();
    const first = socket.receiveText().then(
      () => 'resolved',
      (error: unknown) => error,
    );
    const second = socket.receiveText().then(
      () => 'resolved',
      (error: unknown) => error,
    );
    transport.push({ type: 'disconnect', code: 4001, reason: 'gone' });
    const [a, b] = await Promise.all([first, second]);
    expect(a).to.be.instanceOf(WebSocketDisconnect);
    expect((a as WebSocketDisconnect).code).to.equal(4001);
    // Its turn came after the disconnect: the state machine refuses it without reading.
    expect(b).to.be.instanceOf(WebSocketStateError);
    expect(transport.overlapping).to.equal(0);
  });

  it('an iterator waiting its turn gets its own result, and an error ends only that iterator', async () => {
    const transport = new OneWaiterTransport();
    const socket = new WebSocket(transport);
    await socket.accept();
    const json = socket.iterJson()[Symbol.asyncIterator]();
    const text = socket.iterText()[Symbol.asyncIterator]();
    const first = socket.receiveText();
    const bad = json.next().then(
      () => 'resolved',
      (error: unknown) => error,
    );
    const good = text.next();
    transport.push({ type: 'receive', text: 'first' });
    transport.push({ type: 'receive', text: '{not json' });
    transport.push({ type: 'receive', text: 'third' });
    expect(await first).to.equal('first');
    expect(await bad).to.be.instanceOf(SyntaxError);
    expect(await good).to.deep.equal({ value: 'third', done: false });
    // The failed iterator is over, as a generator would be: it does not read again.
    expect(await json.next()).to.deep.equal({ value: undefined, done: true });
    transport.push({ type: 'receive', text: 'fourth' });
    expect(await text.next()).to.deep.equal({ value: 'fourth', done: false });
    // The disconnect ends the iterator reading; one refused before reading ends too.
    const late = socket.iterText()[Symbol.asyncIterator]();
    const ending = text.next();
    const refused = late.next().then(
      () => 'resolved',
      (error: unknown) => error,
    );
    transport.push({ type: 'disconnect', code: 1000, reason: '' });
    expect(await ending).to.deep.equal({ value: undefined, done: true });
    expect(await refused).to.be.instanceOf(WebSocketStateError);
    expect(await late.next()).to.deep.equal({ value: undefined, done: true });
    expect(transport.overlapping).to.equal(0);
  });

  it('on a real connection, each get the next message in call order', async () => {
    const app = express();
    const sockets = websocket({ heartbeat: false });
    app.use(sockets);
    app.websocket('/', async (socket) => {
      await socket.accept();
      const received = await Promise.all([
        socket.receiveText(),
        socket.receiveText(),
        socket.receiveJson(),
        socket.receiveBytes().then((bytes) => bytes.toString()),
      ]);
      await socket.sendJson(received);
    });
    const server = http.createServer(app).listen(0, '127.0.0.1');
    await once(server, 'listening');
    try {
      const client = new Client(`ws://127.0.0.1:${(server.address() as AddressInfo).port}/`);
      await once(client, 'open');
      const reply = once(client, 'message');
      client.send('one');
      client.send('two');
      client.send('{"n":3}');
      client.send(Buffer.from('four'));
      expect(JSON.parse(String((await reply)[0]))).to.deep.equal(['one', 'two', { n: 3 }, 'four']);
      client.close();
      await once(client, 'close');
    } finally {
      await sockets.close();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
