#!/usr/bin/env node
/**
 * The presence benchmark (part of `npm run bench`): N entries on one topic, tracked by N sockets
 * spread over the server processes, in one process (the in-process backplane) and in three
 * processes through one Redis. It measures what the presence contract costs:
 *   - track: entries tracked per second (all N sockets tracking at once);
 *   - presence(): time to list the N entries (median of 30);
 *   - change: time from one more socket's `track` (or `untrack`) until every process heard the
 *     change (onPresence), median and p99 of 60;
 *   - Redis commands per change, from `INFO commandstats` (bounded: not per process or socket).
 * No peer has presence: the figures are absolute, in-process beside Redis.
 *
 *   node bench/presence/run.mjs [--entries N] [--no-write] [--smoke]
 *
 * bench/run.mjs (`npm run bench`) runs it after the whole set, and with `--smoke` (CI), which
 * checks the whole path with 30 entries and writes nothing.
 */
import { execFile, fork } from 'node:child_process';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import WebSocket from 'ws';
import { startRedis } from '../lib/processes.mjs';

const args = process.argv.slice(2);
const SMOKE = args.includes('--smoke');
const given = args.includes('--entries') ? Number(args[args.indexOf('--entries') + 1]) : NaN;
const ENTRIES = given > 0 ? given : SMOKE ? 30 : 999;
const CHANGES = SMOKE ? 6 : 60;
const LISTS = SMOKE ? 3 : 30;
const serverFile = fileURLToPath(new URL('./server.mjs', import.meta.url));

async function startServers(count, env) {
  const children = Array.from({ length: count }, () =>
    fork(serverFile, [], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    }),
  );
  const ports = await Promise.all(
    children.map(async (child) => (await once(child, 'message'))[0].port),
  );
  const stop = () => {
    for (const child of children) child.kill('SIGKILL');
  };
  return { ports, stop };
}

/** A client whose next message is awaited with `next()`. */
async function open(url) {
  const socket = new WebSocket(url);
  const queue = [];
  const waiters = [];
  socket.on('message', (data) => {
    const waiter = waiters.shift();
    if (waiter) waiter(String(data));
    else queue.push(String(data));
  });
  await once(socket, 'open');
  return {
    socket,
    next: () =>
      queue.length ? Promise.resolve(queue.shift()) : new Promise((r) => waiters.push(r)),
    async ask(text) {
      socket.send(text);
      return this.next();
    },
  };
}

const percentile = (values, p) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))];
};

async function commandCalls(redisUrl) {
  const port = new URL(redisUrl).port;
  const { stdout } = await promisify(execFile)('redis-cli', ['-p', port, 'INFO', 'commandstats']);
  return [...stdout.matchAll(/calls=(\d+)/g)].reduce((sum, [, calls]) => sum + Number(calls), 0);
}

async function measure(label, processes, redisUrl) {
  const { ports, stop } = await startServers(
    processes,
    redisUrl ? { WSGATE_REDIS_URL: redisUrl } : {},
  );
  try {
    const watchers = await Promise.all(ports.map((port) => open(`ws://127.0.0.1:${port}/watch`)));
    await Promise.all(watchers.map((watcher) => watcher.next()));
    const clients = await Promise.all(
      Array.from({ length: ENTRIES }, (_, i) =>
        open(`ws://127.0.0.1:${ports[i % ports.length]}/p?user=user${i}`),
      ),
    );
    let started = performance.now();
    await Promise.all(clients.map((client) => client.ask('track')));
    const trackRate = ENTRIES / ((performance.now() - started) / 1000);
    // Let every join's change reach every watcher before timing single changes.
    await new Promise((resolve) => setTimeout(resolve, 500));
    for (const watcher of watchers) watcher.socket.removeAllListeners('message');

    const lister = clients[0];
    const listTimes = [];
    for (let i = 0; i < LISTS; i++) {
      started = performance.now();
      const count = Number(await lister.ask('list'));
      listTimes.push(performance.now() - started);
      if (count !== ENTRIES) throw new Error(`presence() listed ${count} keys, not ${ENTRIES}`);
    }

    const probe = await open(`ws://127.0.0.1:${ports[0]}/p?user=probe`);
    const before = redisUrl ? await commandCalls(redisUrl) : 0;
    const changeTimes = [];
    for (let i = 0; i < CHANGES; i++) {
      const heard = watchers.map((watcher) => once(watcher.socket, 'message'));
      started = performance.now();
      probe.socket.send(i % 2 === 0 ? 'track' : 'untrack');
      await Promise.all(heard);
      changeTimes.push(performance.now() - started);
      await probe.next();
    }
    const commands = redisUrl ? ((await commandCalls(redisUrl)) - before - 1) / CHANGES : undefined;
    for (const client of [...clients, ...watchers, probe]) client.socket.terminate();
    return {
      label,
      processes,
      trackRate,
      listMs: percentile(listTimes, 0.5),
      changeP50: percentile(changeTimes, 0.5),
      changeP99: percentile(changeTimes, 0.99),
      commands,
    };
  } finally {
    stop();
  }
}

const rows = [await measure('in-process', 1)];
const redisUrl = await startRedis();
if (redisUrl) rows.push(await measure('3 processes, one Redis', 3, redisUrl));

const fixed = (value, digits) => (value === undefined ? '—' : value.toFixed(digits));
const lines = [
  `### Presence: ${ENTRIES} entries on one topic`,
  '',
  '| backplane | track/s | presence() ms | change → every process, p50 ms | p99 ms | Redis commands/change |',
  '|---|---:|---:|---:|---:|---:|',
  ...rows.map(
    (row) =>
      `| ${row.label} | ${fixed(row.trackRate, 0)} | ${fixed(row.listMs, 2)} | ${fixed(row.changeP50, 2)} | ${fixed(row.changeP99, 2)} | ${fixed(row.commands, 1)} |`,
  ),
  '',
  `Command: \`node bench/presence/run.mjs --entries ${ENTRIES}\` (Node ${process.version}).`,
];
console.log(lines.join('\n'));
if (!SMOKE && !args.includes('--no-write')) {
  const stamp = new Date().toISOString().slice(0, 16).replace(':', '');
  const file = fileURLToPath(new URL(`../results/${stamp}-presence.md`, import.meta.url));
  writeFileSync(file, `${lines.join('\n')}\n`);
  console.log(`written to ${file}`);
}
process.exit(0);
