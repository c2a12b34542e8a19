// README's multi-process example: two cluster workers on one port share rooms through Redis.

import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { WebSocket as Client } from 'ws';
import { freePort, RedisServer } from '../support/redis-server.js';

const example = fileURLToPath(new URL('../../examples/topics/redis.ts', import.meta.url));

describe('examples/topics/redis.ts: cluster workers sharing rooms through Redis', function () {
  this.timeout(30_000);

  it('delivers a message from a client on one worker to clients on the other', async () => {
    const redis = await RedisServer.start();
    const port = await freePort();
    const primary = spawn(process.execPath, ['--import', 'tsx/esm', example], {
      env: { ...process.env, REDIS_URL: redis.url, PORT: String(port), WORKERS: '2' },
      stdio: 'inherit',
    });
    const clients: { client: Client; worker: number; inbox: string[] }[] = [];
    try {
      // Connect until both workers have clients (the cluster round-robins connections).
      for (
        let attempt = 0;
        attempt < 200 && new Set(clients.map((c) => c.worker)).size < 2;
        attempt++
      ) {
        const client = new Client(`ws://127.0.0.1:${port}/rooms/lobby`);
        client.on('error', () => {});
        const opened = await Promise.race([
          once(client, 'message').then(([data]) => JSON.parse(String(data)) as { worker: number }),
          once(client, 'close').then(() => undefined),
        ]).catch(() => undefined);
        if (!opened) {
          await new Promise((resolve) => setTimeout(resolve, 100)); // workers still starting
          continue;
        }
        const inbox: string[] = [];
        client.on('message', (data: Buffer) => inbox.push(data.toString()));
        clients.push({ client, worker: opened.worker, inbox });
      }
      const workers = new Set(clients.map((c) => c.worker));
      expect(workers.size).to.equal(2);
      const [sender, ...others] = clients;
      sender?.client.send('hello from one worker');
      const deadline = Date.now() + 5000;
      while (others.some((c) => c.inbox.length === 0) && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      for (const other of others) expect(other.inbox).to.deep.equal(['hello from one worker']);
      expect(others.some((c) => c.worker !== sender?.worker)).to.equal(true);
      expect(sender?.inbox).to.deep.equal([]);
    } finally {
      for (const { client } of clients) client.terminate();
      const exited = once(primary, 'exit');
      primary.kill('SIGTERM');
      await exited;
      await redis.stop();
    }
  });
});
