// The testing section of docs/koa.md; test/koa-docs.test.ts runs it with mocha.
// #region testing
import http from 'node:http';
import request from 'superwstest';
import { app } from './broadcast.js';

describe('the Koa chat', () => {
  const server = http.createServer(app.callback());

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

  it('answers an upgrade no route takes with 404', async () => {
    await request(server).ws('/nowhere').expectConnectionError(404);
  });
});
// #endregion
