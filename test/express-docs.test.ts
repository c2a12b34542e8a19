import http from 'node:http';
import { expect } from 'chai';
import request from 'superwstest';
import { cleanup } from './support/cleanup.js';
import { closed, connect, nextMessage } from './support/clients.js';
import { checkQuickStart } from './support/examples.js';
import { refusal } from './support/refusal.js';
import { base, serve } from './support/servers.js';
// The testing section's example is itself a mocha suite: importing it registers it.
import '../examples/express/broadcast.spec.js';

describe('docs/express.md', () => {
  afterEach(cleanup);

  it('quick start: echoes, then shuts down gracefully (1001, then no more connections)', () =>
    checkQuickStart(() => import('../examples/express/quick-start.js')));

  it('routes: params, fall-through page, router under a prefix with subprotocol and headers', async () => {
    const { app } = await import('../examples/express/routes.js');
    const { server } = await serve(http.createServer(app));
    await request(server)
      .ws('/rooms/lobby')
      .expectText('welcome to lobby')
      .sendText('hi')
      .expectText('lobby: hi')
      .close()
      .expectClosed();
    const page = await fetch(`${base(server, 'http')}/rooms/lobby`);
    expect(await page.text()).to.equal('the lobby room');
    await request(server)
      .ws('/api/feed?since=42', ['feed.v1', 'feed.v2'])
      .expectUpgrade((upgrade) => {
        expect(upgrade.headers['sec-websocket-protocol']).to.equal('feed.v2');
        expect(upgrade.headers['x-feed-version']).to.equal('2');
      })
      .expectJson({ path: '/api/feed', since: '42' })
      .expectClosed(1000);
  });

  it('auth and refusals: 401 without a token, 409 for a second connection, then chat', async () => {
    const { app } = await import('../examples/express/auth.js');
    const { server } = await serve(http.createServer(app));
    const url = base(server, 'http');
    const anonymous = await refusal(`${url}/chat`);
    expect(anonymous.status).to.equal(401);
    expect(JSON.parse(anonymous.body)).to.deep.equal({ error: 'Log in first' });
    const first = await connect(`${base(server)}/chat?token=s3cret`);
    expect((await nextMessage(first)).data.toString()).to.equal('hello ann');
    const second = await refusal(`${url}/chat`, { Authorization: 'Bearer s3cret' });
    expect(second.status).to.equal(409);
    expect(second.headers['retry-after']).to.equal('10');
    expect(JSON.parse(second.body)).to.deep.equal({ error: 'Already connected elsewhere' });
    first.send('hi');
    expect((await nextMessage(first)).data.toString()).to.equal('ann: hi');
    first.close();
    await closed(first);
  });

  it('broadcast: a message reaches every client', async () => {
    const { app, sockets } = await import('../examples/express/broadcast.js');
    const { server } = await serve(http.createServer(app));
    const clients = await Promise.all([1, 2, 3].map(() => connect(`${base(server)}/chat`)));
    expect(sockets.clients.size).to.equal(3);
    const received = clients.map((client) => nextMessage(client));
    clients[0]?.send('to all');
    for (const message of await Promise.all(received)) {
      expect(message.data.toString()).to.equal('to all');
    }
  });

  it('attach: the plugin and another upgrade listener share one server', async () => {
    const { server, legacy } = await import('../examples/express/attach.js');
    await serve(server, { sockets: legacy });
    const old = await connect(`${base(server)}/legacy`);
    expect((await nextMessage(old)).data.toString()).to.equal('from ws');
    await request(server).ws('/live').expectText('from express').expectClosed(1000);
    const answer = await refusal(`${base(server, 'http')}/nowhere`);
    expect(answer.status).to.equal(404);
  });
});
