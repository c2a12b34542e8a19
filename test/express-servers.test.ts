import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';
import express, { type Express } from 'express';
import supertest from 'supertest';
import request from 'superwstest';
import { type WebSocketMiddleware, websocket } from '../adapters/express/index.js';
import { WebSocketDisconnect } from '../lib/index.js';
import { cleanup } from './support/cleanup.js';
import { closed, connect, nextMessage } from './support/clients.js';
import { handshakeHeaders, refusal } from './support/refusal.js';
import { serve } from './support/servers.js';
import { deferred } from './support/waiting.js';

/** A throwaway self-signed certificate for 127.0.0.1, made with openssl. */
async function selfSignedCertificate(): Promise<{ key: string; cert: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'wsgate-cert-'));
  try {
    await promisify(execFile)('openssl', [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-days',
      '1',
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
      '-keyout',
      join(dir, 'key.pem'),
      '-out',
      join(dir, 'cert.pem'),
    ]);
    return {
      key: await readFile(join(dir, 'key.pem'), 'utf8'),
      cert: await readFile(join(dir, 'cert.pem'), 'utf8'),
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

// Sharing a server with another `upgrade` listener (sockets.attach) is in test/adapters.test.ts.
describe('wsgate/express on different servers', () => {
  afterEach(cleanup);

  /** The app every server here runs: an auth check, an echo route and a no-accept route. */
  function chatApp(): { app: Express; sockets: WebSocketMiddleware } {
    const app = express();
    app.set('env', 'test');
    const sockets = websocket();
    app.use(sockets);
    app.use('/private', (_req, res) => {
      res.status(401).json({ error: 'login first' });
    });
    app.websocket('/echo', async (socket) => {
      await socket.accept();
      await socket.sendText(`${socket.url.protocol} ${socket.url.pathname}${socket.url.search}`);
      for await (const text of socket.iterText()) await socket.sendText(`echo: ${text}`);
    });
    app.websocket('/silent', () => {});
    return { app, sockets };
  }

  it('works with app.listen()', async () => {
    const { app, sockets } = chatApp();
    const { server, http: url } = await serve(app.listen(0, '127.0.0.1'), {
      sockets,
      started: true,
    });
    await request(server)
      .ws('/echo')
      .expectText('ws: /echo')
      .sendText('hi')
      .expectText('echo: hi')
      .close()
      .expectClosed();
    expect((await refusal(`${url}/private`)).status).to.equal(401);
  });

  it('works with http.createServer(app)', async () => {
    const { app, sockets } = chatApp();
    const { server, http: url } = await serve(http.createServer(app), { sockets });
    await request(server)
      .ws('/echo')
      .expectText('ws: /echo')
      .sendText('hi')
      .expectText('echo: hi')
      .close()
      .expectClosed();
    expect((await refusal(`${url}/silent`)).status).to.equal(403);
  });

  it('works with https.createServer(options, app) (wss:)', async () => {
    const { key, cert } = await selfSignedCertificate();
    const { app, sockets } = chatApp();
    const served = await serve(https.createServer({ key, cert }, app), { sockets });
    const { server } = served;
    await request(server)
      .ws('/echo', { ca: cert })
      .expectText('wss: /echo')
      .sendText('secret')
      .expectText('echo: secret')
      .close()
      .expectClosed();
    expect(served.http).to.match(/^https:/);
    const answer = await refusal(`${served.http}/private`, {}, { ca: cert });
    expect(answer.status).to.equal(401);
    expect(JSON.parse(answer.body)).to.deep.equal({ error: 'login first' });
  });

  it("works with supertest's own server (refusals are plain HTTP responses)", async () => {
    const { app } = chatApp();
    const refused = await supertest(app).get('/private').set(handshakeHeaders()).expect(401);
    expect(refused.body).to.deep.equal({ error: 'login first' });
    await supertest(app).get('/silent').set(handshakeHeaders()).expect(403);
    await supertest(app).get('/nowhere').set(handshakeHeaders()).expect(404);
  });

  it('keeps a request-path connection alive past small server timeouts', async () => {
    const left = deferred<number>();
    const app = express();
    const sockets = websocket({ heartbeat: false });
    app.use(sockets);
    app.websocket('/slow', async (socket) => {
      await socket.accept();
      try {
        for await (const text of socket.iterText()) await socket.sendText(`echo: ${text}`);
        left.resolve(1000);
      } catch (error) {
        left.resolve(error instanceof WebSocketDisconnect ? error.code : -1);
      }
    });
    const server = http.createServer(
      {
        requestTimeout: 150,
        headersTimeout: 100,
        keepAliveTimeout: 50,
        connectionsCheckingInterval: 25,
      },
      app,
    );
    server.timeout = 100;
    expect(server.listenerCount('upgrade')).to.equal(0);
    const { url } = await serve(server, { sockets });
    const client = await connect(`${url}/slow`);
    const gone = closed(client);
    client.send('before');
    expect((await nextMessage(client)).data.toString()).to.equal('echo: before');
    // Outlive every timeout several times over (here only time can show nothing fires).
    const outcome = await Promise.race([
      gone.then(({ code }) => `closed ${code}`),
      new Promise((resolve) => setTimeout(resolve, 500, 'alive')),
    ]);
    expect(outcome).to.equal('alive');
    client.send('after');
    expect((await nextMessage(client)).data.toString()).to.equal('echo: after');
    client.close(1000);
    expect((await gone).code).to.equal(1000);
    expect(await left.promise).to.equal(1000);
  });
});
