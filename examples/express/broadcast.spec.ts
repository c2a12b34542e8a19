// The testing section of docs/express.md; test/express-docs.test.ts runs it with mocha.
// #region testing
import http from 'node:http';
import request from 'superwstest';
import { app } from './broadcast.js';

describe('the chat', () => {
  const server = http.createServer(app);

  beforeEach((done) => {
    server.listen(0, '127.0.0.1', done);
  });

  afterEach((done) => {
    server.close(done); // superwstest also closes its connections
  });

  it('sends every message to everyone', async () => {
    const bob = request(server).ws('/chat');
    await bob; // connected

    await request(server).ws('/chat').sendText('hello').expectText('hello').close().expectClosed();

    await bob.expectText('hello').close().expectClosed();
  });

  it('refuses what is not a WebSocket route', async () => {
    await request(server).ws('/nowhere').expectConnectionError(404);
  });
});
// #endregion
