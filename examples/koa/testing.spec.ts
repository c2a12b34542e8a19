// The in-memory testing section of docs/koa.md; test/testing-examples.test.ts runs it with mocha.
// #region testing-in-memory
import { expect } from 'chai';
import { connect, WebSocketRefused } from 'wsgate/testing';
import { app } from './broadcast.js';

describe('the Koa chat, in memory', () => {
  it('sends every message to everyone', async () => {
    const [ann, bob] = await Promise.all([connect(app, '/chat'), connect(app, '/chat')]);
    await ann.sendText('hello');
    expect(await ann.receiveText()).to.equal('hello');
    expect(await bob.receiveText()).to.equal('hello');
    await Promise.all([ann.close(), bob.close()]);
  });

  it('gives up waiting for a message after `timeout` ms', async () => {
    const ws = await connect(app, '/chat', { timeout: 100 });
    const error = await ws.receiveText().catch((e: unknown) => e);
    expect(String(error)).to.include('waited 100 ms');
    await ws.close();
  });

  it('answers an upgrade no route takes with 404', async () => {
    const error = await connect(app, '/nowhere').catch((e: unknown) => e);
    if (!(error instanceof WebSocketRefused)) expect.fail('the upgrade was not refused');
    expect(error.status).to.equal(404);
  });
});
// #endregion
