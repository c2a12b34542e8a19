import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { cleanup } from './support/cleanup.js';
import { closed, connect, nextMessage } from './support/clients.js';
import { refusal } from './support/refusal.js';

/*
 * Graceful shutdown with many open sockets, for both adapters: the server runs in a
 * child process (test/fixtures/shutdown-server.ts) with the default heartbeat and handshake
 * timeout; the test opens 500 WebSockets and a few handshakes still waiting on middleware, then
 * signals it to call `server.close()` and `sockets.close()`. Every client must get 1001, the
 * pending handshakes 503, the promise must resolve, and the process must then exit by itself:
 * nothing of wsgate may keep it alive.
 */

const SOCKETS = 500;
const PENDING = 5;
const BATCH = 100;
const EXIT_WITHIN_MS = 5000;

const script = fileURLToPath(new URL('./fixtures/shutdown-server.ts', import.meta.url));

interface Line {
  event: string;
  [key: string]: unknown;
}

/** The child's stdout as JSON lines, awaited one event at a time. */
function lines(child: ChildProcess): (event: string) => Promise<Line> {
  const seen: Line[] = [];
  const waiters = new Set<() => void>();
  createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (text) => {
    seen.push(JSON.parse(text) as Line);
    for (const wake of waiters) wake();
  });
  return async (event) => {
    for (;;) {
      const found = seen.find((line) => line.event === event);
      if (found) return found;
      if (child.exitCode !== null) throw new Error(`the server exited before '${event}'`);
      await new Promise<void>((resolve) => {
        const wake = () => {
          waiters.delete(wake);
          resolve();
        };
        waiters.add(wake);
        child.once('exit', wake);
      });
    }
  };
}

describe('shutdown with 500 open sockets (in a child process)', () => {
  let child: ChildProcess | undefined;

  afterEach(async () => {
    await cleanup();
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    child = undefined;
  });

  for (const framework of ['express', 'koa'] as const) {
    it(`wsgate/${framework}: every client gets 1001, close() resolves, the process exits by itself`, async function () {
      this.timeout(20_000);
      const server = spawn(process.execPath, ['--import', 'tsx/esm', script, framework], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      child = server;
      let stderr = '';
      server.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
        stderr += chunk;
      });
      const exited = once(server, 'exit') as Promise<[number | null, string | null]>;
      const next = lines(server);
      const { port } = (await next('ready')) as Line & { port: number };

      const opened: Awaited<ReturnType<typeof connect>>[] = [];
      for (let i = 0; i < SOCKETS; i += BATCH) {
        const batch = await Promise.all(
          Array.from({ length: Math.min(BATCH, SOCKETS - i) }, () =>
            connect(`ws://127.0.0.1:${port}/echo`),
          ),
        );
        opened.push(...batch);
      }
      // One round trip on the last one: all are served.
      const last = opened.at(-1);
      last?.send('ping');
      expect(last && (await nextMessage(last)).data.toString()).to.equal('ping');
      const pending = Array.from({ length: PENDING }, () =>
        refusal(`ws://127.0.0.1:${port}/pending`).then((answer) => answer.status),
      );
      // All of them wait in the middleware.
      await next(`pending ${PENDING}`);

      const signalled = performance.now();
      server.kill('SIGUSR2');
      const report = await next('closed');
      const codes = await Promise.all(opened.map((client) => closed(client)));
      const byCode: Record<string, number> = {};
      for (const { code, reason } of codes) {
        const key = `${code} ${reason}`;
        byCode[key] = (byCode[key] ?? 0) + 1;
      }
      expect(byCode, 'close codes the clients saw').to.deep.equal({
        '1001 Server restarting': SOCKETS,
      });
      expect(await Promise.all(pending), 'pending handshakes').to.deep.equal(
        Array(PENDING).fill(503),
      );
      expect(report.clients).to.equal(0);
      expect(report.ends, 'what the handlers saw').to.deep.equal({ 1001: SOCKETS });

      // Nothing keeps the process alive: it exits on its own, soon.
      const timeout = new Promise<'timeout'>((resolve) =>
        setTimeout(() => resolve('timeout'), EXIT_WITHIN_MS).unref(),
      );
      const exit = await Promise.race([exited, timeout]);
      expect(exit, `the server process exited by itself within ${EXIT_WITHIN_MS} ms`).to.deep.equal(
        [0, null],
      );
      expect(performance.now() - signalled).to.be.below(EXIT_WITHIN_MS + 1000);
      await next('server closed');
      expect(stderr, 'stderr of the server').to.equal('');
    });
  }
});
