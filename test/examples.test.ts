// Runs the README's own examples (examples/core, topics, security) against real clients.

import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import { WebSocket as Client } from 'ws';
import { closed, nextMessage } from './support/clients.js';
import { refusal } from './support/refusal.js';

async function serve(app: http.RequestListener): Promise<{ server: http.Server; port: number }> {
  const server = http.createServer(app).listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, port: (server.address() as AddressInfo).port };
}

describe('README examples', () => {
  const cleanup: (() => unknown)[] = [];
  afterEach(async () => {
    for (const step of cleanup.splice(0).reverse()) await step();
  });

  it('core/unit-test: a handler runs over an in-memory transport', async () => {
    const { transport } = await import('../examples/core/unit-test.js');
    expect(transport.sent).to.deep.equal([{ type: 'accept' }, { type: 'send', text: 'HI' }]);
  });

  it('topics/rooms: a message reaches the rest of the room; an HTTP announce reaches all', async () => {
    const { app, sockets } = await import('../examples/topics/rooms.js');
    const { server, port } = await serve(app);
    cleanup.push(
      () => server.close(),
      () => sockets.close(),
    );
    const open = async (room: string) => {
      const client = new Client(`ws://127.0.0.1:${port}/rooms/${room}`);
      await once(client, 'open');
      cleanup.push(() => client.terminate());
      return client;
    };
    const [alice, bob, carol] = [await open('a'), await open('a'), await open('b')];
    // No wait needed: a handler subscribes in the microtasks right after writing the 101,
    // before the client can have seen it.
    const heard: string[] = [];
    carol.on('message', (data: Buffer) => heard.push(data.toString()));
    alice.on('message', (data: Buffer) => heard.push(`alice: ${data}`));
    const atBob = nextMessage(bob);
    alice.send(JSON.stringify({ text: 'hello' }));
    expect(JSON.parse((await atBob).data.toString())).to.deep.equal({ text: 'hello' });

    const announced = [nextMessage(alice), nextMessage(bob)];
    const res = await fetch(`http://127.0.0.1:${port}/rooms/a/announce`, {
      method: 'POST',
      headers: { 'Content-Type': 'text/plain' },
      body: 'closing soon',
    });
    expect(res.status).to.equal(204);
    for (const message of await Promise.all(announced)) {
      expect(message.data.toString()).to.equal('closing soon');
    }
    expect(heard).to.deep.equal(['alice: closing soon']);
  });

  it('security/origins: a foreign Origin is refused with 403, an allowed one is served', async () => {
    const { app } = await import('../examples/security/origins.js');
    app.websocket('/me', async (socket) => {
      await socket.accept();
      await socket.close(4000, 'ok');
    });
    const { server, port } = await serve(app);
    cleanup.push(() => server.close());
    const url = `ws://127.0.0.1:${port}/me`;
    const foreign = await refusal(url, { Origin: 'https://evil.example', Cookie: 'session=valid' });
    expect(foreign.status).to.equal(403);
    const client = new Client(url, { origin: 'https://app.example.com' });
    expect((await closed(client)).code).to.equal(4000);
  });
});
