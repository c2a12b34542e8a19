import http from 'node:http';
import { expect } from 'chai';
import request from 'superwstest';
import { cleanup } from './support/cleanup.js';
import { connect, nextMessage } from './support/clients.js';
import { checkQuickStart } from './support/examples.js';
import { refusal } from './support/refusal.js';
import { serve } from './support/servers.js';
// The testing section's example is itself a mocha suite: importing it registers it.
import '../examples/koa/broadcast.spec.js';

describe('docs/koa.md', () => {
  afterEach(cleanup);

  it('quick start: echoes, then shuts down gracefully (1001, then no more connections)', () =>
    checkQuickStart(() => import('../examples/koa/quick-start.js')));

  it('routes: app params, nested router with prefix, fall-through page, by hand', async () => {
    const { app, sockets } = await import('../examples/koa/routes.js');
    const served = await serve(http.createServer(app.callback()), { sockets });
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
    const served = await serve(http.createServer(app.callback()));
    const anonymous = await refusal(`${served.url}/chat`);
    expect([anonymous.status, anonymous.body]).to.deep.equal([401, 'Log in first']);
    const first = request(served.server).ws('/chat?token=s3cret').expectText('hello ann');
    await first;
    const second = await refusal(`${served.url}/chat`, { Authorization: 'Bearer s3cret' });
    expect(second.status).to.equal(409);
    expect(second.headers['retry-after']).to.equal('10');
    expect(JSON.parse(second.body)).to.deep.equal({ error: 'Already connected elsewhere' });
    await first.sendText('hi').expectText('ann: hi').close(1000).expectClosed(1000);
  });

  it('attach: the other upgrade listener keeps its path; the app gets the rest', async () => {
    const { server, sockets, legacy } = await import('../examples/koa/attach.js');
    const { url } = await serve(server, { sockets: [sockets, legacy] });
    const other = await connect(`${url}/legacy`);
    expect((await nextMessage(other)).data.toString()).to.equal('from ws');
    other.terminate();
    await request(server).ws('/live').expectText('from koa').expectClosed(1000);
    expect((await refusal(`${url}/elsewhere`)).status).to.equal(404);
  });
});
