#!/usr/bin/env node
/**
 * V8's garbage collections in a server during the 64 KiB echo (the `large` workload, unpaired):
 * messages, full GCs (Mark-Compact) and scavenges in the measured window, from the server's
 * `--trace-gc`, and its CPU time per message. It shows the cliff bench/README.md describes under
 * "V8 heap": from about 8 MB of heap, full GCs every few hundred messages, whatever the server's
 * code. The server and the load generator start as in a run (lib/processes.mjs).
 *
 *   node bench/gc-count.mjs [--server ws] [--seconds 4] [--ballast-mb 3]
 *     [--dist <build of wsgate>] [-- <node flags for the server>]
 *
 * `--ballast-mb N` keeps N MB of small objects alive in the server from its start (the server
 * loads this file first to make them): a heap of another server's size with `ws`'s code.
 */
import { join } from 'node:path';
import process from 'node:process';
import { fileURLToPath } from 'node:url';
import { startLoadgen, startServer, stop } from './lib/processes.mjs';
import { SERVERS, WORKLOADS } from './lib/workloads.mjs';

const BENCH = fileURLToPath(new URL('.', import.meta.url));

if (process.env.WSGATE_BALLAST_MB) {
  // Loaded by the server (--import): objects of about 40 B each, kept for its whole life.
  const count = (Number(process.env.WSGATE_BALLAST_MB) * 1e6) / 40;
  globalThis.wsgateBallast = Array.from({ length: count }, (_, i) => ({ i, next: null }));
} else {
  await count();
}

async function count() {
  const all = process.argv.slice(2);
  const dash = all.indexOf('--');
  const args = dash >= 0 ? all.slice(0, dash) : all;
  const nodeFlags = dash >= 0 ? all.slice(dash + 1) : [];
  const option = (name, fallback) => {
    const i = args.indexOf(name);
    return i >= 0 ? args[i + 1] : fallback;
  };
  const found = SERVERS.find((s) => s.id === option('--server', 'ws'));
  if (!found) throw new Error(`unknown server (ids: ${SERVERS.map((s) => s.id).join(', ')})`);
  const seconds = Number(option('--seconds', '4'));
  const ballast = option('--ballast-mb', undefined);
  const server = {
    ...found,
    env: {
      ...found.env,
      WSGATE_DIST: option('--dist', join(BENCH, '..', 'dist')),
      ...(ballast ? { WSGATE_BALLAST_MB: ballast } : {}),
    },
  };
  const preload = ballast ? ['--import', fileURLToPath(import.meta.url)] : [];
  const running = await startServer(
    server,
    {},
    {
      args: ['--trace-gc', ...preload, ...nodeFlags],
      stdout: true,
    },
  );
  // When each collection was reported, to count those between the window's two samples.
  const reported = [];
  running.child.stdout.setEncoding('utf8');
  running.child.stdout.on('data', (text) => {
    const at = Date.now();
    for (const kind of ['Mark-Compact', 'Scavenge']) {
      for (let i = 1; i < text.split(`: ${kind} `).length; i++) reported.push({ kind, at });
    }
  });
  const loadgen = await startLoadgen({});
  try {
    const large = WORKLOADS.find((w) => w.id === 'large');
    const spec = {
      ...large.spec,
      url: `ws://127.0.0.1:${running.port}`,
      warmupMs: 2000,
      windowMs: seconds * 1000,
      timeoutMs: 60_000,
    };
    const { result, samples } = await loadgen.run(spec, running, false);
    const inWindow = (kind) =>
      reported.filter((r) => r.kind === kind && r.at >= samples.start.at && r.at <= samples.end.at)
        .length;
    const cpu = (samples.end.cpu - samples.start.cpu) / result.count;
    console.log(
      `${server.id}${ballast ? ` + ${ballast} MB ballast` : ''}${nodeFlags.length ? ` (${nodeFlags.join(' ')})` : ''}: ${result.count} messages in ${seconds} s, ${inWindow('Mark-Compact')} full GCs, ${inWindow('Scavenge')} scavenges, ${cpu.toFixed(0)} µs CPU per message`,
    );
  } finally {
    await Promise.all([loadgen.stop(), stop(running.child)]);
  }
}
