import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';

/*
 * Churn: connect/close and connect/destroy cycles through each adapter, in a child
 * process started with --expose-gc (test/fixtures/churn.ts), must leave nothing behind: no open
 * client, no extra listener on the server or the process, no handle or timer still active, the
 * same number of file descriptors, and after a full GC none of a sample of the connections'
 * objects (their WebSocket, request and TCP socket) still alive, and the heap near its baseline.
 *
 * `npm test` runs 500 + 500 cycles per adapter; `npm run test:churn` the full 5,000 + 5,000
 * (CHURN_CYCLES sets the number).
 */

const CYCLES = Number(process.env.CHURN_CYCLES ?? 500);
/** File descriptors the process may hold above its baseline (lazily opened, never per connection). */
const FD_SLACK = 2;
/** Heap growth allowed after a full GC: one-time growth (JIT, pools) measures about 1.5 MiB. */
const HEAP_SLACK = 4 * 1024 * 1024;

const script = fileURLToPath(new URL('./fixtures/churn.ts', import.meta.url));

interface Measure {
  retained: Record<string, number>;
  clients: number;
  serverListeners: Record<string, number>;
  processListeners: Record<string, number>;
  resources: Record<string, number>;
  fds: number;
  heapUsed: number;
}

interface Result {
  cycles: number;
  warmUp: number;
  ms: number;
  ends: Record<string, number>;
  baseline: Measure;
  after: Measure;
  pendingTimers: string[];
  sampled: number;
}

async function churn(framework: string): Promise<Result> {
  const child = spawn(
    process.execPath,
    ['--expose-gc', '--import', 'tsx/esm', script, framework, String(CYCLES)],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  const [code] = (await once(child, 'exit')) as [number | null];
  expect(stderr, 'stderr of the churn process').to.equal('');
  expect(code, 'exit code of the churn process').to.equal(0);
  return JSON.parse(stdout.trim()) as Result;
}

describe(`churn: ${CYCLES} connect/close and ${CYCLES} connect/destroy cycles (in a child process)`, () => {
  for (const framework of ['express', 'koa'] as const) {
    it(`wsgate/${framework}: back to the baseline, nothing retained`, async function () {
      this.timeout(10_000 + CYCLES * 10);
      const result = await churn(framework);
      const { baseline, after, warmUp } = result;
      expect(result.ends, 'what the handlers saw').to.deep.equal({
        1000: CYCLES + warmUp,
        1006: CYCLES + warmUp,
      });
      expect(after.clients, 'sockets.clients').to.equal(0);
      expect(after.serverListeners, 'listeners on the server').to.deep.equal(
        baseline.serverListeners,
      );
      expect(after.processListeners, 'listeners on process').to.deep.equal(
        baseline.processListeners,
      );
      expect(after.resources, 'active handles and timers').to.deep.equal(baseline.resources);
      expect(result.pendingTimers, 'timers still scheduled (unref’d ones too)').to.deep.equal([]);
      expect(after.fds, 'file descriptors').to.be.at.most(baseline.fds + FD_SLACK);
      expect(result.sampled, 'objects sampled').to.be.at.least(3 * Math.min(CYCLES, 500));
      expect(after.retained, 'sampled objects still alive after GC').to.deep.equal({});
      expect(after.heapUsed - baseline.heapUsed, 'heap growth after GC (bytes)').to.be.below(
        HEAP_SLACK,
      );
    });
  }
});
