// An open WebSocket must not keep the framework's request objects alive: they are several KiB
// per connection (Koa's context holds request, response, cookies, state...).

import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { expect } from 'chai';

const run = promisify(execFile);

/** Runs a memory fixture (test/fixtures/) in a process of its own, and parses the line it prints. */
async function runFixture(name: string): Promise<unknown> {
  const file = fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
  const { stdout } = await run(process.execPath, ['--expose-gc', '--import', 'tsx/esm', file]);
  return JSON.parse(stdout);
}

describe('memory held by open connections', function () {
  this.timeout(30_000);

  it('releases Express req/res and Koa ctx/req/res once the handshake is done', async () => {
    const result = (await runFixture('retention.ts')) as Record<
      string,
      { tracked: number; alive: number }
    >;
    expect(result.express?.tracked).to.equal(400);
    expect(result.koa?.tracked).to.equal(600);
    expect({ express: result.express?.alive, koa: result.koa?.alive }).to.deep.equal({
      express: 0,
      koa: 0,
    });
  });

  it('holds one copy of a header value or request target that repeats across open connections', async () => {
    const result = (await runFixture('header-strings.ts')) as { connections: number } & Record<
      'express' | 'koa',
      Record<string, number>
    >;
    const { connections } = result;
    expect(connections).to.equal(100);
    for (const adapter of ['express', 'koa'] as const) {
      // Counted in the heap: a header outside the shared list is held once per connection (and
      // once by the clients' options), so the snapshot sees the strings the sockets hold.
      expect(result[adapter], adapter).to.deep.equal({
        'user-agent': 2,
        origin: 2,
        'accept-language': 2,
        'x-fixture-tag': connections + 1,
        target: 2,
        // A target with a query is not kept once its connection closed.
        queryLeft: 0,
        sockets: connections,
        unchanged: connections,
      });
    }
  });
});
