// docs/migration.md's claims, observed: each before/after pair runs against the same client.

import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import { WebSocket as Client } from 'ws';
import { closed, nextMessage } from './support/clients.js';
import { withPort0 } from './support/examples.js';
import { refusal } from './support/refusal.js';

async function load(path: string): Promise<Server> {
  const { server } = (await withPort0(() => import(path))) as { server: Server };
  if (!server.listening) await once(server, 'listening');
  return server;
}

const examples = [
  {
    name: 'express-ws (before)',
    path: '../examples/migration/express-ws-before.mjs',
    refuses: 'after',
  },
  {
    name: 'wsgate/express (after)',
    path: '../examples/migration/express-ws-after.js',
    refuses: 'http',
  },
  {
    name: 'koa-easy-ws (before)',
    path: '../examples/migration/koa-easy-ws-before.mjs',
    refuses: 'http',
  },
  {
    name: 'wsgate/koa (after)',
    path: '../examples/migration/koa-easy-ws-after.js',
    refuses: 'http',
  },
] as const;

describe('docs/migration.md', () => {
  for (const example of examples) {
    describe(example.name, () => {
      let server: Server;
      let url: string;
      before(async () => {
        server = await load(example.path);
        url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}/echo`;
      });
      after(() => {
        server.closeAllConnections();
        server.close();
      });

      it('echoes with the token', async () => {
        const client = new Client(`${url}?token=secret`);
        await once(client, 'open');
        const reply = nextMessage(client);
        client.send('hi');
        expect((await reply).data.toString()).to.equal('echo: hi');
        client.close();
      });

      if (example.refuses === 'http') {
        it('refuses without the token with HTTP 401, before any upgrade', async () => {
          expect((await refusal(url)).status).to.equal(401);
        });
      } else {
        it('refuses without the token only after upgrading (a close frame, not an HTTP status)', async () => {
          const client = new Client(url);
          const [, opened] = await Promise.all([
            once(client, 'upgrade'),
            new Promise<boolean>((resolve) => client.once('open', () => resolve(true))),
          ]);
          expect(opened).to.equal(true);
          expect((await closed(client)).code).to.equal(4401);
        });
      }
    });
  }
});
