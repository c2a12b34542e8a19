// Through attach(), and on the request path once the plugin has seen the server, the Express
// adapter gives each upgrade request the properties Express will store on it before Express
// re-prototypes it (adapters/express/request-shape.ts, lib/server/request-preparation.ts):
// upgrades then share one hidden class, and routing behaves as it does without.

import { execFile } from 'node:child_process';
import http from 'node:http';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { expect } from 'chai';
import express5 from 'express';
import { websocket } from '../adapters/express/index.js';
import { cleanup } from './support/cleanup.js';
import { connect, nextMessage } from './support/clients.js';
import { expressMajors } from './support/express-majors.js';
import { refusal } from './support/refusal.js';
import { base, serve } from './support/servers.js';

const run = promisify(execFile);
const fixture = fileURLToPath(new URL('./fixtures/hidden-classes.ts', import.meta.url));

/** What a handler under a mounted router reads of `req`, as JSON, on `path`. */
async function routedRequest(framework: typeof express5, path: 'request' | 'attach') {
  const app = framework();
  const sockets = websocket({ heartbeat: false });
  app.use(sockets);
  app.use((_req, res, next) => {
    res.locals.user = 'ann';
    next();
  });
  const router = framework.Router();
  router.websocket('/rooms/:room', async (socket, req) => {
    await socket.accept();
    const { params, baseUrl, originalUrl, url, query } = req;
    const seen = { params, baseUrl, originalUrl, url, query, route: req.route?.path };
    await socket.sendJson({ ...seen, user: req.res?.locals.user, secure: req.secure });
  });
  app.use('/api', router);
  const server = http.createServer(app);
  if (path === 'attach') sockets.attach(server);
  const served = await serve(server, { sockets });
  const client = await connect(`${served.url}/api/rooms/red?q=1`);
  const { data } = await nextMessage(client);
  await cleanup();
  return JSON.parse(String(data)) as unknown;
}

describe('Express upgrade requests through attach() and prepared on the request path', () => {
  afterEach(cleanup);

  it('puts one listener in front of the app once a request-path upgrade showed the server', async () => {
    const app = express5();
    const sockets = websocket({ heartbeat: false });
    app.use(sockets);
    app.get('/page', (_req, res) => {
      res.send('page');
    });
    app.websocket('/echo', async (socket) => {
      await socket.accept();
      for await (const text of socket.iterText()) await socket.sendText(text);
    });
    const server = http.createServer(app);
    const served = await serve(server, { sockets });
    const page = await fetch(`${base(server, 'http')}/page`);
    expect(await page.text()).to.equal('page');
    expect(server.listeners('request'), 'before any upgrade').to.deep.equal([app]);
    for (let i = 0; i < 3; i++) {
      const client = await connect(`${served.url}/echo`);
      const echoed = nextMessage(client);
      client.send(`hi ${i}`);
      expect(String((await echoed).data)).to.equal(`hi ${i}`);
      const listeners = server.listeners('request');
      // Found through req.socket.server (see lib/server/request-preparation.ts) on this Node line.
      expect(listeners, `after upgrade ${i + 1}`).to.have.length(2);
      expect(listeners[1]).to.equal(app);
    }
    const again = await fetch(`${base(server, 'http')}/page`);
    expect(await again.text()).to.equal('page');
  });

  for (const writable of [true, false]) {
    it(`answers prepared upgrades as unprepared ones, with a ServerResponse class of the server's (writeHead ${writable ? 'writable' : 'read-only'})`, async () => {
      // Express re-prototypes `res` onto its own response (Node's ServerResponse underneath), so
      // the server's class is gone by the time middleware answers: a prepared response must not
      // keep the class's writeHead as its own either. One that refuses the store stays unprepared.
      class Stamped extends http.ServerResponse {}
      const { writeHead } = http.ServerResponse.prototype;
      Object.defineProperty(Stamped.prototype, 'writeHead', {
        writable,
        value(this: http.ServerResponse, ...args: unknown[]) {
          this.setHeader('X-Stamped', 'yes');
          return (writeHead as (...a: unknown[]) => http.ServerResponse).apply(this, args);
        },
      });
      const app = express5();
      const sockets = websocket({ heartbeat: false });
      app.use(sockets);
      app.use((_req, res) => {
        res.status(401).send('login first');
      });
      const server = http.createServer(
        { ServerResponse: Stamped as typeof http.ServerResponse },
        app,
      );
      const served = await serve(server, { sockets });
      // The first upgrade shows the plugin the server; the second goes through its listener.
      const first = await refusal(served.url);
      const second = await refusal(served.url);
      expect(server.listeners('request')).to.have.length(2);
      expect([first.status, second.status]).to.deep.equal([401, 401]);
      expect([first.headers['x-stamped'], second.headers['x-stamped']]).to.deep.equal([
        undefined,
        undefined,
      ]);
    });
  }

  for (const [name, framework] of expressMajors) {
    it(`${name}: the handler sees the request as Express routed it, as on the request path`, async () => {
      const expected = {
        params: { room: 'red' },
        baseUrl: '/api',
        originalUrl: '/api/rooms/red?q=1',
        url: '/rooms/red?q=1',
        query: { q: '1' },
        route: '/rooms/:room',
        user: 'ann',
        secure: false,
      };
      expect(await routedRequest(framework, 'attach')).to.deep.equal(expected);
      expect(await routedRequest(framework, 'request')).to.deep.equal(expected);
    });
  }

  it('share one hidden class per request and response, on every Node line', async function () {
    this.timeout(30_000);
    const { stdout } = await run(process.execPath, [
      '--allow-natives-syntax',
      '--import',
      'tsx/esm',
      fixture,
    ]);
    const report = JSON.parse(stdout) as Record<string, unknown> & { mapPerAddedProperty: boolean };
    const shared = { handler: { req: true, res: true }, accepted: { req: true, res: true } };
    for (const [framework] of expressMajors) {
      const { attach, request, unprepared } = report[framework] as Record<string, unknown>;
      expect(attach, `${framework}, attach()`).to.deep.equal(shared);
      expect(request, `${framework}, request path`).to.deep.equal(shared);
      // Where V8 gives re-prototyped objects a map per added property (Node 20, 22), the request
      // path without the plugin's listener in front of the app shows it: the check can tell.
      if (report.mapPerAddedProperty) {
        const own = { handler: { req: false, res: false }, accepted: { req: false, res: false } };
        expect(unprepared, `${framework}, unprepared`).to.deep.equal(own);
      }
    }
  });
});
