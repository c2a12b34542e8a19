import http from 'node:http';
import { expect } from 'chai';
import type { NextFunction, Request, Response } from 'express';
import request from 'superwstest';
import { websocket } from '../adapters/express/index.js';
import { cleanup } from './support/cleanup.js';
import { express4 } from './support/express-majors.js';
import { refusal } from './support/refusal.js';
import { serve } from './support/servers.js';

describe('wsgate/express with Express 4', () => {
  afterEach(cleanup);

  function app4() {
    const app = express4();
    app.set('env', 'test');
    const sockets = websocket();
    app.use(sockets);
    app.use('/private', (_req: Request, res: Response) => {
      res.status(401).json({ error: 'login first' });
    });
    const router = express4.Router();
    router.websocket('/rooms/:room', async (socket, req) => {
      await socket.accept();
      await socket.sendJson({
        path: socket.url.pathname,
        room: req.params.room,
        params: socket.params,
      });
      for await (const text of socket.iterText())
        await socket.sendText(`${req.params.room}: ${text}`);
    });
    router.get('/rooms/:room', (req: Request, res: Response) => {
      res.send(`page of ${req.params.room}`);
    });
    router.websocket('/fail', () => {
      throw new Error('before accept');
    });
    app.use('/api', router);
    app.websocket('/silent', () => {});
    return { app, sockets };
  }

  it('routes upgrades through app and nested routers (params, full url, echo)', async () => {
    const { app, sockets } = app4();
    const { server } = await serve(app.listen(0, '127.0.0.1'), { sockets, started: true });
    await request(server)
      .ws('/api/rooms/red')
      .expectJson({ path: '/api/rooms/red', room: 'red', params: { room: 'red' } })
      .sendText('hi')
      .expectText('red: hi')
      .close()
      .expectClosed();
  });

  it('falls through for plain GETs; refuses, 404s, 403s and 500s as on Express 5', async () => {
    const { app, sockets } = app4();
    const { http: url } = await serve(http.createServer(app), { sockets });
    const page = await fetch(`${url}/api/rooms/red`);
    expect(await page.text()).to.equal('page of red');
    const refused = await refusal(`${url}/private`);
    expect(refused.status).to.equal(401);
    expect(JSON.parse(refused.body)).to.deep.equal({ error: 'login first' });
    expect((await refusal(`${url}/nowhere`)).status).to.equal(404);
    expect((await refusal(`${url}/silent`)).status).to.equal(403);
    expect((await refusal(`${url}/api/fail`)).status).to.equal(500);
  });

  it('reports a missing websocket() middleware through next(err)', async () => {
    const app = express4();
    app.websocket('/chat', (socket) => socket.accept());
    let message = '';
    app.use((error: Error, _req: Request, res: Response, _next: NextFunction) => {
      message = error.message;
      res.status(500).end();
    });
    const { http: url } = await serve(http.createServer(app));
    // The app's own error response: it may keep the connection alive.
    expect((await refusal(`${url}/chat`, {}, { mayStayOpen: true })).status).to.equal(500);
    expect(message).to.contain('app.use(websocket())');
  });
});
