#!/usr/bin/env node
/**
 * A CPU profile of exactly `--count` handshakes per server, after a warm-up, with the server's CPU
 * time per handshake: `run.mjs --cpu-prof` profiles a server's whole life (start-up, warm-ups,
 * every workload), so its totals cannot be divided by a number of handshakes. Each server runs
 * pinned to CPU 0 as in a run; this process is the client (run it pinned to CPU 1). The profile
 * is taken inside the server (node:inspector), started and stopped around the counted handshakes.
 *
 *   taskset -c 1 node bench/profile-handshakes.mjs [--servers ws,wsgate-express,wsgate-koa]
 *     [--count 10000] [--warmup 3000] [--dist <build of wsgate>] [--alloc]
 *   node bench/profile-summary.mjs bench/profiles/wsgate-express-handshakes.cpuprofile
 *
 * With --alloc it samples allocations instead (`<server>-handshakes.heapprofile`, every 1 KiB
 * allocated; `node bench/profile-handshakes.mjs --alloc-summary <file> [count]` reads it).
 *
 * Every time in the summary ÷ count = µs per handshake (the profiler's own cost included).
 * When started by the server (`--import` of this file, WSGATE_PROFILE_HOOK set) it is the hook
 * that answers the driver's profile requests.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import process from 'node:process';
import { fileURLToPath } from 'node:url';

const BENCH = fileURLToPath(new URL('.', import.meta.url));

if (process.env.WSGATE_PROFILE_HOOK) {
  const { Session } = await import('node:inspector');
  const session = new Session();
  session.connect();
  const post = (method, params) =>
    new Promise((resolve, reject) =>
      session.post(method, params, (error, result) => (error ? reject(error) : resolve(result))),
    );
  // --alloc: the allocations (sampled by the heap profiler) instead of the CPU time.
  const alloc = process.env.WSGATE_PROFILE_HOOK === 'alloc';
  await post(alloc ? 'HeapProfiler.enable' : 'Profiler.enable');
  process.on('message', async (message) => {
    if (message?.type === 'profile-start') {
      await (alloc
        ? post('HeapProfiler.startSampling', {
            samplingInterval: 1024,
            // Every allocation, not only what is still alive at the end.
            includeObjectsCollectedByMajorGC: true,
            includeObjectsCollectedByMinorGC: true,
          })
        : post('Profiler.start'));
      process.send({ type: 'profile-started', cpu: process.cpuUsage() });
    } else if (message?.type === 'profile-stop') {
      const cpu = process.cpuUsage();
      const { profile } = await post(alloc ? 'HeapProfiler.stopSampling' : 'Profiler.stop');
      writeFileSync(message.file, JSON.stringify(profile));
      process.send({ type: 'profile-stopped', cpu });
    }
  });
} else if (process.argv.includes('--alloc-summary')) {
  allocSummary();
} else {
  await drive();
}

/** Bytes allocated per operation by the innermost function, the largest first. */
function allocSummary() {
  const [file, count = '10000'] = process.argv.slice(process.argv.indexOf('--alloc-summary') + 1);
  const { head } = JSON.parse(readFileSync(file, 'utf8'));
  const bytes = new Map();
  let all = 0;
  const visit = (node) => {
    const f = node.callFrame;
    const where = f.url ? `${f.url.split('/').slice(-3).join('/')}:${f.lineNumber + 1}` : '';
    const key = `${f.functionName || '(anonymous)'} ${where}`.trim();
    bytes.set(key, (bytes.get(key) ?? 0) + node.selfSize);
    all += node.selfSize;
    for (const child of node.children) visit(child);
  };
  visit(head);
  console.log(`${(all / Number(count)).toFixed(0)} B allocated per operation`);
  for (const [key, size] of [...bytes].sort((a, b) => b[1] - a[1]).slice(0, 40)) {
    console.log(`${(size / Number(count)).toFixed(0).padStart(8)}  ${key}`);
  }
}

async function drive() {
  const { default: WebSocket } = await import('ws');
  const args = process.argv.slice(2);
  const option = (name, fallback) => {
    const i = args.indexOf(name);
    return i >= 0 ? args[i + 1] : fallback;
  };
  const servers = option('--servers', 'ws,wsgate-express,wsgate-koa').split(',');
  const count = Number(option('--count', '10000'));
  const warmup = Number(option('--warmup', '3000'));
  const dist = option('--dist', join(BENCH, '..', 'dist'));
  const alloc = args.includes('--alloc');
  const profiles = join(BENCH, 'profiles');
  mkdirSync(profiles, { recursive: true });

  for (const id of servers) {
    const file = id.startsWith('fastify') ? 'fastify.mjs' : `${id}.mjs`;
    const child = spawn(
      'taskset',
      [
        '-c',
        '0',
        process.execPath,
        '--import',
        fileURLToPath(import.meta.url),
        join(BENCH, 'servers', file),
      ],
      {
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
        env: {
          ...process.env,
          NODE_ENV: 'production',
          WSGATE_PROFILE_HOOK: alloc ? 'alloc' : 'cpu',
          WSGATE_DIST: dist,
        },
      },
    );
    const next = (type) =>
      new Promise((resolve) => {
        const listener = (message) => {
          if (message?.type !== type) return;
          child.off('message', listener);
          resolve(message);
        };
        child.on('message', listener);
      });
    const { port } = await next('ready');
    const url = `ws://127.0.0.1:${port}/echo`;
    // As the bench's handshake workload: open, close with 1000 on open, 20 in flight.
    const handshakes = (n) =>
      new Promise((resolve) => {
        let started = 0;
        let done = 0;
        const one = () => {
          started++;
          const socket = new WebSocket(url, { perMessageDeflate: false });
          socket.on('open', () => socket.close(1000));
          socket.on('error', () => {});
          socket.on('close', () => {
            done++;
            if (started < n) one();
            else if (done === n) resolve();
          });
        };
        for (let i = 0; i < Math.min(20, n); i++) one();
      });
    await handshakes(warmup);
    const target = join(profiles, `${id}-handshakes.${alloc ? 'heapprofile' : 'cpuprofile'}`);
    child.send({ type: 'profile-start' });
    const { cpu: before } = await next('profile-started');
    const t0 = performance.now();
    await handshakes(count);
    const wall = performance.now() - t0;
    child.send({ type: 'profile-stop', file: target });
    const { cpu: after } = await next('profile-stopped');
    const cpu = after.user + after.system - before.user - before.system;
    console.log(
      `${id}: ${count} handshakes in ${(wall / 1000).toFixed(2)} s, server CPU ` +
        `${(cpu / count).toFixed(0)} µs/handshake (profiled), ${target}`,
    );
    child.send({ type: 'exit' });
    await new Promise((resolve) => child.once('exit', resolve));
  }
}
