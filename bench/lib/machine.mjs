/**
 * What the runner reads from the machine and the checkout it runs in: the cores and whether
 * `taskset` can pin to them, per-core busy time and a process's RSS from /proc, the CPU model,
 * the versions of the packages measured and wsgate's git revision. Linux-only readers answer
 * `undefined` elsewhere, so the run still works unpinned and says so in its report.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus, loadavg } from 'node:os';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

/** bench/, and the repository holding it. */
export const BENCH = dirname(dirname(fileURLToPath(import.meta.url)));
export const ROOT = dirname(BENCH);

function shell(command, args) {
  try {
    return execFileSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  } catch {
    return undefined;
  }
}

export const NCPU = cpus().length;
export const PINNING = NCPU >= 2 && shell('taskset', ['-c', '0', 'true']) !== undefined;

/** The 1, 5 and 15 minute load averages, as the report prints them. */
export function loadAverage() {
  return loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
}

export function cpuModel() {
  try {
    const line = readFileSync('/proc/cpuinfo', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('model name'));
    if (line) return line.split(':')[1].trim();
  } catch {}
  return cpus()[0]?.model ?? 'unknown';
}

/** Per-core busy time (ms) from /proc/stat, to estimate what else ran during a window. */
export function coreBusy() {
  try {
    const busy = {};
    for (const line of readFileSync('/proc/stat', 'utf8').split('\n')) {
      const match = /^cpu(\d+) (.*)$/.exec(line);
      if (!match) continue;
      const [user, nice, system, , , irq, softirq, steal] = match[2].split(' ').map(Number);
      busy[match[1]] = ((user + nice + system + irq + softirq + steal) * 1000) / 100;
    }
    return busy;
  } catch {
    return undefined;
  }
}

/**
 * A process's resident memory in bytes, from `/proc/<pid>/smaps_rollup` (a walk of its page
 * tables). Not `VmRSS` from `/proc/<pid>/status`: the kernel keeps that count per CPU and syncs
 * it lazily (proc(5): "inaccurate ... use /proc/pid/smaps or /proc/pid/smaps_rollup instead"),
 * and here it was seen up to 28 MiB above smaps_rollup in the same sample, after 5,000
 * connections. `VmRSS` only where smaps_rollup is missing (Linux before 4.14).
 */
export function rssFromProc(pid) {
  for (const [file, pattern] of [
    ['smaps_rollup', /^Rss:\s+(\d+) kB/m],
    ['status', /^VmRSS:\s+(\d+) kB/m],
  ]) {
    try {
      const match = pattern.exec(readFileSync(`/proc/${pid}/${file}`, 'utf8'));
      if (match) return Number(match[1]) * 1024;
    } catch {
      // Try the next source.
    }
  }
  return undefined;
}

const require = createRequire(import.meta.url);
function versionOf(name, from = ROOT) {
  try {
    const path = require.resolve(`${name}/package.json`, { paths: [from] });
    return JSON.parse(readFileSync(path, 'utf8')).version;
  } catch {
    return 'missing';
  }
}

export function resolvable(name) {
  try {
    require.resolve(name, { paths: [ROOT] });
    return true;
  } catch {
    return false;
  }
}

export function versions() {
  const expressWsDir = dirname(require.resolve('express-ws/package.json', { paths: [ROOT] }));
  return [
    `ws ${versionOf('ws')}`,
    `express ${versionOf('express')} (wsgate/express)`,
    `express ${versionOf('express4')} (express-ws)`,
    `express-ws ${versionOf('express-ws')} (with ws ${versionOf('ws', expressWsDir)})`,
    `koa ${versionOf('koa')}`,
    `koa-easy-ws ${versionOf('koa-easy-ws')}`,
    `fastify ${versionOf('fastify')}`,
    `@fastify/websocket ${versionOf('@fastify/websocket')}`,
  ].join(', ');
}

export function wsgateRevision() {
  const rev = shell('git', ['-C', ROOT, 'rev-parse', '--short', 'HEAD'])?.trim();
  if (!rev) return 'not a git checkout';
  const dirty = shell('git', [
    '-C',
    ROOT,
    'status',
    '--porcelain',
    '--',
    'lib',
    'adapters',
  ])?.trim();
  return `git ${rev}${dirty ? ' with uncommitted changes in lib/ or adapters/' : ''}`;
}
