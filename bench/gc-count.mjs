#!/usr/bin/env node
/**
 * V8's garbage collections in a server during the 64 KiB echo (10 connections × 1 message in
 * flight, binary, as the `large` workload): messages, full GCs (Mark-Compact) and scavenges in the
 * counted seconds, from the server's `--trace-gc`, and its CPU time per message. It shows the
 * cliff bench/README.md describes under "V8 heap": from about 8 MB of heap, full GCs every few
 * hundred messages, whatever the server's code.
 *
 *   taskset -c 1 node bench/gc-count.mjs [--server ws] [--seconds 4] [--ballast-mb 3]
 *     [--dist <build of wsgate>] [-- <node flags for the server>]
 *
 * `--ballast-mb N` keeps N MB of small objects alive in the server from its start (the server
 * loads this file first to make them): a heap of another server's size with `ws`'s code.
 * The server runs pinned to CPU 0, with the runner's allocator settings (`CPU_ENV`).
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import process from 'node:process';
import { fileURLToPath } from 'node:url';
import { CPU_ENV } from './lib/processes.mjs';
import { SERVERS } from './lib/workloads.mjs';

const BENCH = fileURLToPath(new URL('.', import.meta.url));

if (process.env.WSGATE_BALLAST_MB) {
  // Loaded by the server (--import): objects of about 40 B each, kept for its whole life.
  const count = (Number(process.env.WSGATE_BALLAST_MB) * 1e6) / 40;
  globalThis.wsgateBallast = Array.from({ length: count }, (_, i) => ({ i, next: null }));
} else {
  await count();
}

async function count() {
  const { default: WebSocket } = await import('ws');
  const all = process.argv.slice(2);
  const dash = all.indexOf('--');
  const args = dash >= 0 ? all.slice(0, dash) : all;
  const nodeFlags = dash >= 0 ? all.slice(dash + 1) : [];
  const option = (name, fallback) => {
    const i = args.indexOf(name);
    return i >= 0 ? args[i + 1] : fallback;
  };
  const server = SERVERS.find((s) => s.id === option('--server', 'ws'));
  if (!server) throw new Error(`unknown server (ids: ${SERVERS.map((s) => s.id).join(', ')})`);
  const seconds = Number(option('--seconds', '4'));
  const ballast = option('--ballast-mb', undefined);
  const preload = ballast ? ['--import', fileURLToPath(import.meta.url)] : [];
  const child = spawn(
    'taskset',
    [
      '-c',
      '0',
      process.execPath,
      '--trace-gc',
      ...preload,
      ...nodeFlags,
      join(BENCH, 'servers', server.file),
    ],
    {
      stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
      env: {
        ...process.env,
        ...CPU_ENV,
        ...server.env,
        NODE_ENV: 'production',
        WSGATE_DIST: option('--dist', join(BENCH, '..', 'dist')),
        ...(ballast ? { WSGATE_BALLAST_MB: ballast } : {}),
      },
    },
  );
  const counts = { 'Mark-Compact': 0, Scavenge: 0 };
  let counting = false;
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (text) => {
    if (!counting) return;
    for (const kind of Object.keys(counts)) counts[kind] += text.split(`: ${kind} `).length - 1;
  });
  const [ready] = await once(child, 'message');
  const cpu = async () => {
    child.send({ type: 'sample', id: 0 });
    const [sample] = await once(child, 'message');
    return sample.cpu;
  };

  const payload = Buffer.alloc(65536, 'x');
  const sockets = await Promise.all(
    Array.from({ length: 10 }, async () => {
      const socket = new WebSocket(`ws://127.0.0.1:${ready.port}/bin`, {
        perMessageDeflate: false,
      });
      await once(socket, 'open');
      return socket;
    }),
  );
  let received = 0;
  let running = true;
  for (const socket of sockets) {
    socket.on('message', () => {
      received++;
      if (running) socket.send(payload, { binary: true });
    });
    socket.send(payload, { binary: true });
  }
  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
  await sleep(2000);
  counting = true;
  const [received0, cpu0] = [received, await cpu()];
  await sleep(seconds * 1000);
  const [received1, cpu1] = [received, await cpu()];
  counting = false;
  running = false;
  const messages = received1 - received0;
  console.log(
    `${server.id}${ballast ? ` + ${ballast} MB ballast` : ''}${nodeFlags.length ? ` (${nodeFlags.join(' ')})` : ''}: ${messages} messages in ${seconds} s, ${counts['Mark-Compact']} full GCs, ${counts.Scavenge} scavenges, ${((cpu1 - cpu0) / messages).toFixed(0)} µs CPU per message`,
  );
  for (const socket of sockets) socket.terminate();
  child.kill();
}
