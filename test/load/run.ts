/**
 * Bounded local load test: many concurrent connections through each adapter, each pipelining
 * numbered messages; every echo must come back, in order, without an error. Reports the time
 * and the server's peak RSS. Talks only to 127.0.0.1.
 *
 *   npm run test:load                 2,000 connections × 100 messages per adapter
 *   npm run test:load -- --ci         200 × 20 (what CI runs)
 *   npm run test:load -- --connections 500 --messages 50 --adapter koa
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { WebSocket } from 'ws';

const { values } = parseArgs({
  options: {
    ci: { type: 'boolean', default: false },
    connections: { type: 'string' },
    messages: { type: 'string' },
    adapter: { type: 'string', default: 'both' },
  },
});
const connections = Number(values.connections ?? (values.ci ? 200 : 2000));
const messages = Number(values.messages ?? (values.ci ? 20 : 100));
const adapters = values.adapter === 'both' ? ['express', 'koa'] : [String(values.adapter)];
const TIME_LIMIT_MS = 120_000;
const BATCH = 100; // connections opened at once, to stay inside the listen backlog

const serverScript = fileURLToPath(new URL('./server.ts', import.meta.url));

function peakRssKiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? Number.NaN);
}

/** One client: sends `messages` numbered texts at once, resolves when all echoed in order. */
function converse(url: string, id: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const client = new WebSocket(url);
    let expected = 0;
    client.on('open', () => {
      for (let i = 0; i < messages; i++) client.send(`${id}:${i}`);
    });
    client.on('message', (data: Buffer) => {
      const text = data.toString();
      if (text !== `${id}:${expected}`) {
        reject(new Error(`connection ${id}: expected ${id}:${expected}, got ${text}`));
        client.terminate();
        return;
      }
      if (++expected === messages) client.close(1000);
    });
    client.on('close', (code) => {
      if (expected === messages && code === 1000) resolve();
      else reject(new Error(`connection ${id} closed with ${code} after ${expected} echoes`));
    });
    client.on('error', reject);
  });
}

async function run(adapter: string): Promise<boolean> {
  const server = spawn(process.execPath, ['--import', 'tsx/esm', serverScript, adapter], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  try {
    const lines = createInterface({ input: server.stdout as NodeJS.ReadableStream });
    const first = await lines[Symbol.asyncIterator]().next();
    const { port } = JSON.parse(String(first.value)) as { port: number };
    const url = `ws://127.0.0.1:${port}/echo`;
    const baseline = peakRssKiB(server.pid as number);
    const started = performance.now();
    const all: Promise<void>[] = [];
    const deadline = setTimeout(() => {
      console.error(`${adapter}: over the ${TIME_LIMIT_MS / 1000} s limit`);
      console.log('0 passed, 1 failed');
      server.kill();
      process.exit(1);
    }, TIME_LIMIT_MS);
    for (let i = 0; i < connections; i += BATCH) {
      const batch = [];
      for (let id = i; id < Math.min(i + BATCH, connections); id++) batch.push(converse(url, id));
      all.push(...batch);
      // Open the next batch once this one is connected and talking.
      await Promise.race([Promise.allSettled(batch), new Promise((r) => setTimeout(r, 50))]);
    }
    const results = await Promise.allSettled(all);
    clearTimeout(deadline);
    const failures = results.filter((r) => r.status === 'rejected');
    const seconds = (performance.now() - started) / 1000;
    const peak = peakRssKiB(server.pid as number);
    console.log(
      `${adapter}: ${connections} connections × ${messages} messages in ${seconds.toFixed(2)} s ` +
        `(${Math.round((connections * messages) / seconds)} echoes/s), server peak RSS ` +
        `${(peak / 1024).toFixed(1)} MiB (baseline ${(baseline / 1024).toFixed(1)} MiB), ` +
        `${failures.length} failed connections`,
    );
    for (const failure of failures.slice(0, 5))
      console.log(`  ${(failure as PromiseRejectedResult).reason}`);
    return failures.length === 0;
  } finally {
    server.kill();
  }
}

let passed = 0;
let failed = 0;
for (const adapter of adapters) {
  if (await run(adapter)) passed++;
  else failed++;
}
console.log(`${passed} passed, ${failed} failed`);
process.exitCode = failed === 0 ? 0 : 1;
