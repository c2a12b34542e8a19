/** Running the repository's examples (examples/) in tests. */
import { once } from 'node:events';
import type http from 'node:http';
import { expect } from 'chai';
import type { WebSocketPlugin } from '../../lib/server/index.js';
import { closed, connect, nextMessage } from './clients.js';
import { serve } from './servers.js';

/**
 * Imports an example that listens on `process.env.PORT` as it loads, with PORT=0 (a free port);
 * PORT is restored afterwards.
 */
export async function withPort0<M>(load: () => Promise<M>): Promise<M> {
  const previous = process.env.PORT;
  process.env.PORT = '0';
  try {
    return await load();
  } finally {
    if (previous === undefined) delete process.env.PORT;
    else process.env.PORT = previous;
  }
}

/** What a quick-start example exports. */
export interface QuickStart {
  server: http.Server;
  sockets: WebSocketPlugin;
  shutdown(): Promise<void>;
}

/**
 * A quick-start example echoes on `/echo`, then its `shutdown()` closes every client with 1001
 * 'Server restarting', empties `sockets.clients` and closes the server.
 */
export async function checkQuickStart(load: () => Promise<QuickStart>): Promise<void> {
  const example = await withPort0(load);
  const { server, sockets } = example;
  const { url } = await serve(server, { started: true });
  const client = await connect(`${url}/echo`);
  client.send('hi');
  expect((await nextMessage(client)).data.toString()).to.equal('echo: hi');
  const gone = closed(client);
  const serverClosed = once(server, 'close');
  await example.shutdown();
  expect(sockets.clients.size).to.equal(0);
  expect(await gone).to.deep.equal({ code: 1001, reason: 'Server restarting' });
  await serverClosed;
  expect(server.listening).to.equal(false);
}
