// The in-memory testing section of docs/express.md and README.md; test/testing-examples.test.ts
// runs it with mocha.
// #region testing-in-memory
import { expect } from 'chai';
import { connect, WebSocketRefused } from 'wsgate/testing';
import { app } from './auth.js';

describe('the chat, in memory', () => {
  const signedIn = { headers: { Authorization: 'Bearer s3cret' } };

  it('greets a signed-in user, then answers', async () => {
    const ws = await connect(app, '/chat', signedIn);
    expect(await ws.receiveText()).to.equal('hello ann');
    await ws.sendText('hi');
    expect(await ws.receiveText()).to.equal('ann: hi');
    await ws.close();
  });

  it("refuses anonymous users with the middleware's 401", async () => {
    const error = await connect(app, '/chat').catch((e: unknown) => e);
    if (!(error instanceof WebSocketRefused)) expect.fail('the upgrade was not refused');
    expect(error.status).to.equal(401);
    expect(JSON.parse(error.body)).to.deep.equal({ error: 'Log in first' });
  });

  it('refuses a second connection of the same user with 409 and Retry-After', async () => {
    const first = await connect(app, '/chat', signedIn);
    const error = await connect(app, '/chat', signedIn).catch((e: unknown) => e);
    if (!(error instanceof WebSocketRefused)) expect.fail('the upgrade was not refused');
    expect(error.status).to.equal(409);
    expect(error.headers['retry-after']).to.equal('10');
    await first.close();
  });
});
// #endregion
