// Runs the examples docs/koa.md quotes (test/docs.test.ts checks the quotes are verbatim).
import { once } from 'node:events';
import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import request from 'superwstest';
import { WebSocket as Client } from 'ws';
import { closeAll, serve } from './koa-support.js';
import { closed, connect, nextMessage, refusal } from './support/plain-server.js';
// The testing section's example is itself a mocha suite: importing it registers it.
import '../examples/koa/broadcast.spec.js';

function port(server: http.Server): number {
  return (server.address() as AddressInfo).port;
}

describe('docs/koa.md', () => {
  const servers: http.Server[] = [];
  afterEach(async () => {
    await closeAll();
    for (const server of servers.splice(0)) {
      server.closeAllConnections();
      server.close();
    }
  });

  it('quick start: echoes, then shuts down gracefully (1001, then no more connections)', async () => {
    const previous = process.env.PORT;
    process.env.PORT = '0';
    const example = await import('../examples/koa/quick-start.js');
    if (previous === undefined) delete process.env.PORT;
    else process.env.PORT = previous;
    const { server, sockets } = example;
    servers.push(server);
    if (!server.listening) await once(server, 'listening');
    const client = await connect(`ws://127.0.0.1:${port(server)}/echo`);
    client.send('hi');
    expect((await nextMessage(client)).data.toString()).to.equal('echo: hi');
    const gone = closed(client);
    const serverClosed = once(server, 'close');
    await example.shutdown();
    expect(sockets.clients.size).to.equal(0);
    expect(await gone).to.deep.equal({ code: 1001, reason: 'Server restarting' });
    await serverClosed;
  });

  it('routes: app params, nested router with prefix, fall-through page, by hand', async () => {
    const { app, sockets } = await import('../examples/koa/routes.js');
    const served = await serve(app, sockets);
    await request(served.server)
      .ws('/rooms/lobby')
      .expectText('welcome to lobby')
      .sendText('hi')
      .expectText('lobby: hi')
      .close(1000)
      .expectClosed(1000);
    const ws = await request(served.server)
      .ws('/api/orgs/acme/feeds/news', ['feed.v1', 'feed.v2'])
      .expectUpgrade((res) => {
        expect(res.headers['x-feed-version']).to.equal('2');
      })
      .expectJson({ org: 'acme', feed: 'news', path: '/api/orgs/acme/feeds/news' })
      .expectClosed(1000);
    expect(ws.protocol).to.equal('feed.v2');
    const page = await fetch(`${served.http}/api/orgs/acme/feeds/news`);
    expect(await page.text()).to.equal('the news feed of acme');
    await request(served.server).ws('/by-hand').expectText('routed by hand').expectClosed(1000);
    await request(served.server).ws('/nothing-here').expectConnectionError(404);
  });

  it('auth: 401 without a token, 409 for a second connection, hello with a token', async () => {
    const { app } = await import('../examples/koa/auth.js');
    const served = await serve(app, undefined);
    const anonymous = await refusal(`${served.ws}/chat`);
    expect([anonymous.status, anonymous.body]).to.deep.equal([401, 'Log in first']);
    const first = request(served.server).ws('/chat?token=s3cret').expectText('hello ann');
    await first;
    const second = await refusal(`${served.ws}/chat`, { Authorization: 'Bearer s3cret' });
    expect(second.status).to.equal(409);
    expect(second.headers['retry-after']).to.equal('10');
    expect(JSON.parse(second.body)).to.deep.equal({ error: 'Already connected elsewhere' });
    await first.sendText('hi').expectText('ann: hi').close(1000).expectClosed(1000);
  });

  it('attach: the other upgrade listener keeps its path; the app gets the rest', async () => {
    const { server, sockets, legacy } = await import('../examples/koa/attach.js');
    servers.push(server);
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const url = `ws://127.0.0.1:${port(server)}`;
    try {
      const other = new Client(`${url}/legacy`);
      const [greeting] = (await once(other, 'message')) as [Buffer];
      expect(greeting.toString()).to.equal('from ws');
      other.terminate();
      await request(server).ws('/live').expectText('from koa').expectClosed(1000);
      expect((await refusal(`${url}/elsewhere`)).status).to.equal(404);
    } finally {
      await sockets.close();
      legacy.close();
    }
  });
});
