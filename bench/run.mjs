#!/usr/bin/env node
/**
 * The benchmark runner: starts each server under test in its own process pinned to CPU 0, runs
 * each workload from a load generator pinned to CPU 1, samples the server's CPU time and memory
 * around the measured window, and reports medians, min–max and ratios to raw `ws` of the same
 * run as a markdown table (printed, and written to bench/results/<date>T<HHMM>-<mode>.md).
 *
 *   node bench/run.mjs                 full run (about 10 min, < 15)
 *   node bench/run.mjs --quick         everyday run (< 2 min)
 *   node bench/run.mjs --quick --smoke every server answers an echo, a handshake and a broadcast
 *
 * Options: --rounds N, --servers a,b (ids below), --workloads a,b, --window ms (measured window),
 * --warmup ms, --idle-conns N, --no-write; --candidate <dist> also measures the wsgate servers on
 * another build of wsgate (a copy of dist/ with a change, see bench/README.md), as
 * `wsgate-express-candidate` and `wsgate-koa-candidate`;
 * --cpu-prof (servers run with `node --cpu-prof`) and --heap-snapshot (a heap snapshot of the
 * server at each memory sample) write into bench/profiles/ and no results file.
 * `npm run bench` builds dist/ first: the wsgate servers import the built package.
 */
import { execFileSync, spawn } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { cpus, loadavg } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = dirname(here);

// ---------------------------------------------------------------------------------------------
// What runs

const SERVERS = [
  { id: 'ws', label: 'ws', file: 'ws.mjs' },
  { id: 'express-ws', label: 'express-ws', file: 'express-ws.mjs' },
  { id: 'koa-easy-ws', label: 'koa-easy-ws', file: 'koa-easy-ws.mjs' },
  { id: 'fastify', label: '@fastify/websocket', file: 'fastify.mjs' },
  { id: 'wsgate-express', label: 'wsgate/express', file: 'wsgate-express.mjs', wsgate: true },
  { id: 'wsgate-koa', label: 'wsgate/koa', file: 'wsgate-koa.mjs', wsgate: true },
  // The same servers with the Redis backplane (publish only; needs redis-server on the PATH).
  {
    id: 'wsgate-express-redis',
    label: 'wsgate/express+Redis',
    file: 'wsgate-express.mjs',
    wsgate: true,
    redis: true,
  },
  {
    id: 'wsgate-koa-redis',
    label: 'wsgate/koa+Redis',
    file: 'wsgate-koa.mjs',
    wsgate: true,
    redis: true,
  },
];
const BASELINE = 'ws';

/** Whether `workload` is measured on `server` (the Redis servers are for the publish row only). */
function applies(workload, server) {
  return (!workload.only || workload.only(server)) && (!server.redis || workload.id === 'publish');
}
const PEERS = ['express-ws', 'koa-easy-ws', 'fastify'];

/**
 * `budgetMs`: what a run takes on a quiet machine is well under it. On a busy one, disturbed
 * windows are measured again (up to `retries` times each) as long as the run, at its pace so far,
 * still ends within twice the budget; `quietWaitMs`: how long to wait for other work on the
 * cores to stop before each measurement.
 */
const MODES = {
  full: {
    rounds: 4,
    warmupMs: 700,
    windowMs: 2000,
    idleConns: 5000,
    handshakeWarmupMs: 2000,
    firstWarmupMs: 1500,
    retries: 2,
    quietWaitMs: 5000,
    budgetMs: 840_000,
  },
  quick: {
    rounds: 2,
    warmupMs: 150,
    windowMs: 400,
    idleConns: 2000,
    handshakeWarmupMs: 800,
    firstWarmupMs: 600,
    retries: 1,
    quietWaitMs: 1500,
    budgetMs: 110_000,
  },
};
/** A window during which other work took more than this share of a core is measured again. */
const NOISY = 0.25;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** The workloads; `spec` goes to the load generator, `metrics` turns its result into figures. */
const WORKLOADS = [
  {
    id: 'echo',
    title: 'echo throughput',
    describe: '50 connections × 16 messages in flight, 64 B text',
    spec: { workload: 'echo', conns: 50, inflight: 16, size: 64, binary: false, path: '/echo' },
    metrics: (r, cpu) => ({
      rate: r.count / r.seconds,
      cpuPerOp: cpu / r.count,
    }),
  },
  {
    id: 'latency',
    title: 'latency',
    describe: '1 connection, 1 message in flight, 64 B text, round trip',
    spec: { workload: 'latency', size: 64, path: '/echo' },
    metrics: (r, cpu) => ({ p50: r.p50, p99: r.p99, cpuPerOp: cpu / r.count }),
  },
  {
    id: 'large',
    title: 'large messages',
    describe: '10 connections × 1 message in flight, 64 KiB binary',
    spec: { workload: 'echo', conns: 10, inflight: 1, size: 65536, binary: true, path: '/bin' },
    metrics: (r, cpu) => ({
      rate: (r.count * 65536) / r.seconds / 1e6,
      cpuPerOp: cpu / r.count,
    }),
  },
  {
    id: 'handshakes',
    title: 'handshakes',
    describe: 'open + close, 20 in flight; three no-op middlewares before the route',
    spec: { workload: 'handshakes', inflight: 20, path: '/echo' },
    // Handshakes run through much more code than messages: the JIT needs longer to settle.
    minWarmupMs: (mode) => mode.handshakeWarmupMs,
    metrics: (r, cpu) => ({ rate: r.count / r.seconds, cpuPerOp: cpu / r.count }),
  },
  {
    id: 'idle',
    title: 'idle memory',
    describe: 'idle connections; server memory after GC, above its warmed-up baseline',
    spec: { workload: 'idle', path: '/echo' },
    memory: true,
    metrics: (r, _cpu, samples) => ({
      rssPerConn: (samples.loaded.rss - samples.baseline.rss) / r.conns / 1024,
      heapPerConn: (samples.loaded.heapUsed - samples.baseline.heapUsed) / r.conns / 1024,
      heapCommittedPerConn:
        (samples.loaded.heapTotal - samples.baseline.heapTotal) / r.conns / 1024,
      newSpaceKiB: samples.loaded.spaces?.new_space / 1024,
    }),
  },
  {
    id: 'broadcast',
    title: 'broadcast',
    describe: '1,000 clients; one 64 B text message to all, 2 broadcasts in flight',
    spec: { workload: 'broadcast', clients: 1000, inflight: 2, size: 64, path: '/bc' },
    metrics: (r, cpu) => ({ rate: r.count / r.seconds, cpuPerOp: cpu / r.count }),
  },
  {
    id: 'publish',
    title: 'broadcast (publish)',
    describe: 'as broadcast, with `sockets.publish` to a topic all clients are on (wsgate only)',
    spec: { workload: 'broadcast', clients: 1000, inflight: 2, size: 64, path: '/pub' },
    only: (server) => server.wsgate === true,
    baseline: 'broadcast',
    metrics: (r, cpu) => ({ rate: r.count / r.seconds, cpuPerOp: cpu / r.count }),
  },
];

/**
 * The rows of the tables: a figure of a workload, which way is better, and the target the issue
 * sets for wsgate (as a ratio to raw ws).
 */
const ROWS = [
  {
    workload: 'echo',
    key: 'rate',
    label: 'echo msgs/s',
    unit: 'msg/s',
    better: 'higher',
    target: ['>=', 0.95],
  },
  { workload: 'echo', key: 'cpuPerOp', label: 'echo CPU µs/msg', unit: 'µs', better: 'lower' },
  {
    workload: 'latency',
    key: 'p50',
    label: 'latency p50 µs',
    unit: 'µs',
    better: 'lower',
    target: ['<=', 1.1],
  },
  {
    workload: 'latency',
    key: 'p99',
    label: 'latency p99 µs',
    unit: 'µs',
    better: 'lower',
    target: ['<=', 1.1],
  },
  {
    workload: 'large',
    key: 'rate',
    label: '64 KiB MB/s',
    unit: 'MB/s',
    better: 'higher',
    target: ['>=', 0.95],
  },
  { workload: 'large', key: 'cpuPerOp', label: '64 KiB CPU µs/msg', unit: 'µs', better: 'lower' },
  {
    workload: 'handshakes',
    key: 'rate',
    label: 'handshakes/s',
    unit: '/s',
    better: 'higher',
    target: ['>=', 0.85],
  },
  {
    workload: 'handshakes',
    key: 'cpuPerOp',
    label: 'handshake CPU µs',
    unit: 'µs',
    better: 'lower',
  },
  {
    workload: 'idle',
    key: 'rssPerConn',
    label: 'idle RSS KiB/conn',
    unit: 'KiB',
    better: 'lower',
    target: ['<=', 1.25],
  },
  {
    workload: 'idle',
    key: 'heapPerConn',
    label: 'idle heap KiB/conn',
    unit: 'KiB',
    better: 'lower',
  },
  {
    workload: 'broadcast',
    key: 'rate',
    label: 'broadcast deliveries/s',
    unit: '/s',
    better: 'higher',
    target: ['>=', 0.95],
  },
  {
    workload: 'broadcast',
    key: 'cpuPerOp',
    label: 'broadcast CPU µs/delivery',
    unit: 'µs',
    better: 'lower',
  },
  {
    workload: 'publish',
    key: 'rate',
    label: 'publish deliveries/s',
    unit: '/s',
    better: 'higher',
    target: ['>=', 0.95],
  },
  {
    workload: 'publish',
    key: 'cpuPerOp',
    label: 'publish CPU µs/delivery',
    unit: 'µs',
    better: 'lower',
  },
];

// ---------------------------------------------------------------------------------------------
// Arguments and environment

function parseArgs(argv) {
  const args = { quick: false, smoke: false, write: true };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--quick') args.quick = true;
    else if (arg === '--smoke') args.smoke = true;
    else if (arg === '--no-write') args.write = false;
    else if (arg === '--candidate') args.candidate = argv[++i];
    else if (arg === '--cpu-prof') args.cpuProf = true;
    else if (arg === '--heap-snapshot') args.heapSnapshot = true;
    else if (arg === '--rounds') args.rounds = Number(argv[++i]);
    else if (arg === '--window') args.windowMs = Number(argv[++i]);
    else if (arg === '--warmup') args.warmupMs = Number(argv[++i]);
    else if (arg === '--idle-conns') args.idleConns = Number(argv[++i]);
    else if (arg === '--servers') args.servers = argv[++i].split(',');
    else if (arg === '--workloads') args.workloads = argv[++i].split(',');
    else if (arg === '--help' || arg === '-h') args.help = true;
    else throw new Error(`unknown argument ${arg} (see --help)`);
  }
  return args;
}

function shell(command, args) {
  try {
    return execFileSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  } catch {
    return undefined;
  }
}

function cpuModel() {
  try {
    const line = readFileSync('/proc/cpuinfo', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('model name'));
    if (line) return line.split(':')[1].trim();
  } catch {}
  return cpus()[0]?.model ?? 'unknown';
}

const require = createRequire(import.meta.url);
function versionOf(name, from = root) {
  try {
    const path = require.resolve(`${name}/package.json`, { paths: [from] });
    return JSON.parse(readFileSync(path, 'utf8')).version;
  } catch {
    return 'missing';
  }
}

function resolvable(name) {
  try {
    require.resolve(name, { paths: [root] });
    return true;
  } catch {
    return false;
  }
}

/** Per-core busy time (ms) from /proc/stat, to estimate what else ran during a window. */
function coreBusy() {
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
 * Waits (up to `maxMs`) until the two cores are nearly idle, so a measurement does not start in
 * the middle of someone else's burst. Resolves with the milliseconds waited.
 */
async function waitForQuiet(maxMs) {
  if (!PINNING) return 0;
  const started = Date.now();
  while (true) {
    const b0 = coreBusy();
    await sleep(60);
    const b1 = coreBusy();
    if (!b0 || !b1) return 0;
    const busy = Object.keys(b1).reduce((sum, core) => sum + (b1[core] - b0[core]), 0) / 60;
    const waited = Date.now() - started;
    if (busy < NOISY || waited >= maxMs) return waited > 60 ? waited : 0;
  }
}

function rssFromProc(pid) {
  try {
    const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------------------------------------
// Processes

const NCPU = cpus().length;
const PINNING = NCPU >= 2 && shell('taskset', ['-c', '0', 'true']) !== undefined;
// Enough descriptors for thousands of connections on both sides (up to the hard limit).
const RAISE_FD_LIMIT =
  'ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null; exec "$@"';

function spawnPinned(cpu, script, args, extraNodeArgs = [], env = {}) {
  const node = [process.execPath, ...extraNodeArgs, script, ...args];
  const command = PINNING ? ['taskset', '-c', String(cpu), ...node] : node;
  return spawn('/bin/sh', ['-c', RAISE_FD_LIMIT, 'sh', ...command], {
    cwd: root,
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    env: { ...process.env, NODE_ENV: 'production', ...env },
  });
}

function collectStderr(child) {
  let text = '';
  child.stderr.on('data', (chunk) => {
    text = (text + chunk).slice(-4000);
  });
  return () => text.trim();
}

function stop(child) {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) {
      resolve();
      return;
    }
    const timer = setTimeout(() => child.kill('SIGKILL'), 1500);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    if (child.connected) child.send({ type: 'exit' }, () => {});
    else child.kill('SIGTERM');
  });
}

/** A server under test, started and listening. */
/** Where --cpu-prof and --heap-snapshot put their files (ignored by git). */
const PROFILES = join(here, 'profiles');
let profiling = { cpu: false, heap: false };

/**
 * A throwaway redis-server on a free loopback port for the Redis rows, stopped when the run
 * exits; `undefined` (and the Redis rows left out) when redis-server is not installed.
 */
async function startRedis() {
  const probe = createServer().listen(0, '127.0.0.1');
  await new Promise((done) => probe.once('listening', done));
  const { port } = probe.address();
  await new Promise((done) => probe.close(done));
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    { stdio: ['ignore', 'pipe', 'ignore'] },
  );
  const started = await new Promise((done) => {
    let output = '';
    child.once('error', () => done(false));
    child.once('exit', () => done(false));
    child.stdout.on('data', (chunk) => {
      output += chunk;
      if (output.includes('Ready to accept connections')) done(true);
    });
  });
  if (!started) {
    console.error('bench: redis-server not found or not starting: the Redis rows are left out');
    return undefined;
  }
  child.stdout.resume();
  // Neither the server nor its output pipe may keep the runner alive; it dies with the runner.
  child.unref();
  child.stdout.unref();
  process.on('exit', () => child.kill('SIGKILL'));
  return `redis://127.0.0.1:${port}`;
}

async function startServer(server) {
  const nodeArgs = ['--expose-gc'];
  if (profiling.cpu) {
    mkdirSync(PROFILES, { recursive: true });
    nodeArgs.push(
      '--cpu-prof',
      `--cpu-prof-dir=${PROFILES}`,
      `--cpu-prof-name=${server.id}-${Date.now()}.cpuprofile`,
    );
  }
  const child = spawnPinned(0, join(here, 'servers', server.file), [], nodeArgs, server.env);
  const stderr = collectStderr(child);
  const ready = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('not ready within 20 s')), 20_000);
    child.on('message', (message) => {
      if (message?.type === 'ready') {
        clearTimeout(timer);
        resolve(message);
      }
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`exited (${signal ?? code}) before listening: ${stderr()}`));
    });
  }).catch(async (error) => {
    await stop(child);
    throw error;
  });
  let nextId = 0;
  const replies = new Map();
  child.on('message', (message) => {
    if (message?.type === 'sample') {
      replies.get(message.id)?.(message);
      replies.delete(message.id);
    }
  });
  return {
    child,
    id: server.id,
    port: ready.port,
    pid: child.pid,
    stderr,
    sample(gc = false, snapshot = undefined) {
      const id = nextId++;
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('no sample within 90 s')), 90_000);
        replies.set(id, (message) => {
          clearTimeout(timer);
          const rss = rssFromProc(child.pid);
          resolve({ ...message, rss: rss ?? message.rss, busy: coreBusy(), at: Date.now() });
        });
        child.send({ type: 'sample', id, gc, snapshot });
      });
    },
  };
}

/**
 * The load generator, started once and kept for many workloads. `run(spec, server, memory)`
 * runs one workload against `server`, sampling it at each of the load generator's marks (after a
 * full GC when `memory`), and resolves with the load generator's result and the samples.
 */
async function startLoadgen() {
  const child = spawnPinned(1, join(here, 'loadgen.mjs'), []);
  const stderr = collectStderr(child);
  let current;
  let exited = false;
  child.once('exit', (code, signal) => {
    exited = true;
    current?.fail(new Error(`load generator exited (${signal ?? code}): ${stderr()}`));
  });
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('load generator not ready')), 20_000);
    child.once('message', () => {
      clearTimeout(timer);
      resolve();
    });
  });
  child.on('message', (message) => {
    if (current === undefined) return;
    if (message?.type === 'mark') {
      const run = current;
      const { server, memory } = run;
      const snapshot =
        memory && profiling.heap
          ? join(PROFILES, `${server.id}-${message.name}-${Date.now()}.heapsnapshot`)
          : undefined;
      if (snapshot) mkdirSync(PROFILES, { recursive: true });
      server
        .sample(memory, snapshot)
        .then((sample) => {
          run.samples[message.name] = sample;
          if (child.connected) child.send({ type: 'marked', name: message.name });
        })
        .catch((error) => run.fail(error));
    } else if (message?.type === 'result') {
      current.done({ result: message, samples: current.samples });
    } else if (message?.type === 'error') {
      current.fail(new Error(`load generator: ${message.message.split('\n')[0]}`));
    }
  });
  return {
    get alive() {
      return !exited;
    },
    run(spec, server, memory) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          // A load generator stuck in a workload is of no further use.
          child.kill('SIGKILL');
          finish(new Error('load generator did not finish in time'));
        }, spec.timeoutMs + 5000);
        const finish = (error, value) => {
          if (current === undefined) return;
          current = undefined;
          clearTimeout(timer);
          if (error) reject(error);
          else resolve(value);
        };
        current = {
          server,
          memory,
          samples: {},
          done: (value) => finish(undefined, value),
          fail: (error) => finish(error),
        };
        if (exited) finish(new Error('load generator is gone'));
        else child.send({ type: 'run', spec });
      });
    },
    stop: () => stop(child),
  };
}

// ---------------------------------------------------------------------------------------------
// One measurement

/** Runs `workload` once with `loadgen` against the running `server`; resolves with its figures. */
async function measureOnce(loadgen, server, workload, mode) {
  const spec = {
    ...workload.spec,
    url: `ws://127.0.0.1:${server.port}`,
    warmupMs: Math.max(mode.warmupMs, workload.minWarmupMs?.(mode) ?? 0),
    windowMs: mode.windowMs,
    timeoutMs: 120_000,
  };
  if (workload.id === 'idle') spec.conns = mode.idleConns;
  const { result, samples } = await loadgen.run(spec, server, workload.memory === true);
  if (result.errors > 0 && workload.id !== 'handshakes') {
    throw new Error(`${result.errors} client errors (first: ${result.firstError})`);
  }
  if (result.wrong > 0) throw new Error(`${result.wrong} wrong echoes`);
  if (result.failed > 0) {
    throw new Error(`${result.failed} handshakes failed (first: ${result.firstError})`);
  }
  if (workload.id === 'idle' && result.conns !== spec.conns) {
    throw new Error(`only ${result.conns} of ${spec.conns} connections opened`);
  }
  const cpu = samples.end && samples.start ? samples.end.cpu - samples.start.cpu : NaN;
  const figures = workload.metrics(result, cpu, samples);
  if (samples.start && samples.end) {
    const seconds = result.seconds;
    figures.serverBusy = cpu / 1e6 / seconds;
    figures.clientBusy = result.clientCpuShare;
    const b0 = samples.start.busy;
    const b1 = samples.end.busy;
    if (b0 && b1 && PINNING) {
      const core0 = (b1['0'] - b0['0']) / 1000 / seconds;
      const core1 = (b1['1'] - b0['1']) / 1000 / seconds;
      // Time the two cores spent on anything but this server and this load generator.
      figures.otherLoad =
        Math.max(0, core0 - figures.serverBusy) + Math.max(0, core1 - figures.clientBusy);
    }
  }
  return figures;
}

async function smokeOne(server) {
  const running = await startServer(server);
  const loadgen = await startLoadgen();
  try {
    const spec = {
      workload: 'smoke',
      url: `ws://127.0.0.1:${running.port}`,
      broadcastPaths: server.wsgate ? ['/bc', '/pub'] : ['/bc'],
      timeoutMs: 20_000,
    };
    const { result } = await loadgen.run(spec, running, false);
    return result.failures;
  } finally {
    await Promise.all([loadgen.stop(), stop(running.child)]);
  }
}

// ---------------------------------------------------------------------------------------------
// Statistics and tables

function median(values) {
  const sorted = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

function range(values) {
  const finite = values.filter((v) => Number.isFinite(v));
  return finite.length ? [Math.min(...finite), Math.max(...finite)] : [NaN, NaN];
}

function fmt(value) {
  if (!Number.isFinite(value)) return '–';
  const abs = Math.abs(value);
  if (abs >= 100_000) return `${(value / 1000).toFixed(0)}k`;
  if (abs >= 10_000) return `${(value / 1000).toFixed(1)}k`;
  if (abs >= 100) return value.toFixed(0);
  if (abs >= 10) return value.toFixed(1);
  return value.toFixed(2);
}

const ratioFmt = (value) => (Number.isFinite(value) ? value.toFixed(2) : '–');
const pct = (value) => (Number.isFinite(value) ? `${Math.round(value * 100)} %` : '–');

/** Figures of `serverId` for a row, per round, and the ratio to the baseline in the same round. */
function rowStats(runs, row, serverId, rounds) {
  const workload = WORKLOADS.find((w) => w.id === row.workload);
  const values = [];
  const ratios = [];
  for (let round = 0; round < rounds; round++) {
    const value = runs[round]?.[row.workload]?.[serverId]?.[row.key];
    const base = runs[round]?.[workload.baseline ?? row.workload]?.[BASELINE]?.[row.key];
    if (value === undefined) continue;
    values.push(value);
    if (Number.isFinite(base) && base !== 0) ratios.push(value / base);
  }
  return {
    median: median(values),
    range: range(values),
    ratio: median(ratios),
    ratioRange: range(ratios),
    n: values.length,
  };
}

function meets(row, ratio) {
  if (!row.target || !Number.isFinite(ratio)) return undefined;
  const [op, limit] = row.target;
  return op === '>=' ? ratio >= limit : ratio <= limit;
}

/** Whether `a` is better than `b` on this row (by the medians of their ratios). */
function ahead(row, a, b) {
  if (!Number.isFinite(a) || !Number.isFinite(b)) return undefined;
  return row.better === 'higher' ? a > b : a < b;
}

function renderReport(ctx) {
  const { runs, servers, rounds, workloads } = ctx;
  const lines = [];
  const push = (...l) => lines.push(...l);
  const rows = ROWS.filter((row) => workloads.some((w) => w.id === row.workload));

  push(`# wsgate benchmark: ${ctx.modeName} run, ${ctx.date}`, '');
  push(`- **Command:** \`${ctx.command}\``);
  push(`- **Date:** ${ctx.startedAt} (took ${Math.round(ctx.seconds)} s)`);
  push(`- **Node:** ${process.version} · **CPU:** ${cpuModel()} × ${NCPU} cores`);
  push(
    `- **Pinning:** ${PINNING ? 'each server on CPU 0, the load generator on CPU 1 (`taskset`)' : 'none (taskset missing or < 2 cores): treat the figures with care'}`,
  );
  push(
    `- **Mode:** ${rounds} rounds; in each round the servers take turns (${servers.map((s) => s.label).join(' → ')}): idle memory on a fresh server process, then the other workloads on one process; warm-up ${ctx.mode.warmupMs} ms (the first workload on a fresh process: ${ctx.mode.firstWarmupMs} ms; handshakes: ${ctx.mode.handshakeWarmupMs} ms), window ${ctx.mode.windowMs} ms; idle: ${ctx.mode.idleConns} connections`,
  );
  push(
    `- **Native helpers:** bufferutil ${ctx.bufferutil ? 'installed' : 'not installed'}, utf-8-validate ${ctx.utf8validate ? 'installed' : 'not installed'} (the same for every server; on Node 20 \`ws\` 8 validates UTF-8 with \`buffer.isUtf8\`)`,
  );
  push(`- **Versions:** ${ctx.versions}`);
  push(
    `- **wsgate:** ${ctx.wsgateRev}; the wsgate servers run the built package (\`dist/\` built ${ctx.builtAt}, copied when the run started; plain \`node\`, no tsx)${ctx.candidate ? `; the “(candidate)” servers run the build in \`${ctx.candidate}\`` : ''}`,
  );
  push(
    `- **Noise:** load average ${ctx.loadBefore} before, ${ctx.loadAfter} after; other work on the two cores during the windows: median ${pct(ctx.otherLoad.median)}, max ${pct(ctx.otherLoad.max)} of a core (estimated from /proc/stat); ${ctx.retries} measurement(s) rerun because it exceeded ${pct(NOISY)}, ${ctx.noisyKept} kept above it when reruns ran out; ${(ctx.quietWaits / 1000).toFixed(1)} s spent waiting for the cores to be quiet`,
  );
  if (ctx.failures.length) {
    push(`- **Failed measurements:** ${ctx.failures.length} (listed at the end)`);
  }
  push('');

  push('## Ratios to raw `ws` (same run)', '');
  push(
    'Each cell is the median over the rounds of the figure divided by raw `ws`’s in the same round. Rates: higher is better; times, CPU and memory: lower is better. Targets apply to wsgate.',
    '',
  );
  const head = ['figure', 'target', ...servers.map((s) => s.label)];
  push(`| ${head.join(' | ')} |`, `|${head.map((_, i) => (i < 2 ? '---' : '---:')).join('|')}|`);
  for (const row of rows) {
    const target = row.target ? `${row.target[0] === '>=' ? '≥' : '≤'} ${row.target[1]}` : '';
    const cells = servers.map((server) => {
      const workload = WORKLOADS.find((w) => w.id === row.workload);
      if (!applies(workload, server)) return 'n/a';
      const stats = rowStats(runs, row, server.id, rounds);
      if (stats.n === 0) return 'failed';
      const ok = server.wsgate ? meets(row, stats.ratio) : undefined;
      const flag = ok === undefined ? '' : ok ? ' ✅' : ' ❌';
      return `${ratioFmt(stats.ratio)}${flag}`;
    });
    push(`| ${row.label} | ${target} | ${cells.join(' | ')} |`);
  }
  push('');

  const wsgates = servers.filter((s) => s.wsgate);
  const peers = servers.filter((s) => PEERS.includes(s.id));
  if (wsgates.length && peers.length) {
    push('## wsgate against the peers', '');
    push(
      'For each figure, the peers whose median ratio is better than wsgate’s (empty: wsgate leads). Broadcast (publish) is compared with the peers’ broadcast loops.',
      '',
    );
    push(`| figure | ${wsgates.map((s) => `${s.label}: peers ahead`).join(' | ')} |`);
    push(`|---|${wsgates.map(() => '---').join('|')}|`);
    for (const row of rows) {
      const peerRow = row.workload === 'publish' ? { ...row, workload: 'broadcast' } : row;
      const cells = wsgates.map((server) => {
        const mine = rowStats(runs, row, server.id, rounds).ratio;
        const better = peers.filter(
          (peer) => ahead(row, rowStats(runs, peerRow, peer.id, rounds).ratio, mine) === true,
        );
        return better.length ? better.map((p) => p.label).join(', ') : '—';
      });
      push(`| ${row.label} | ${cells.join(' | ')} |`);
    }
    push('');
  }

  push('## Details', '');
  push(
    'Median (min–max over the rounds); ratio = per-round figure ÷ raw `ws` in the same round, median (min–max). Server busy = server CPU time ÷ window (1.00 = the server’s core was saturated); client busy = the same for the load generator. A rate measured while the server is not saturated is limited by the client or by latency: compare CPU per operation then.',
    '',
  );
  for (const workload of workloads) {
    const wrows = ROWS.filter((r) => r.workload === workload.id);
    push(`### ${workload.title}: ${workload.describe}`, '');
    const cols = ['server'];
    for (const r of wrows) cols.push(r.label, 'ratio');
    if (!workload.memory) cols.push('server busy', 'client busy');
    push(
      `| ${cols.join(' | ')} |`,
      `|---|${cols
        .slice(1)
        .map(() => '---:')
        .join('|')}|`,
    );
    for (const server of servers) {
      if (!applies(workload, server)) continue;
      const cells = [server.label];
      for (const r of wrows) {
        const s = rowStats(runs, r, server.id, rounds);
        if (s.n === 0) {
          cells.push('failed', '');
          continue;
        }
        cells.push(
          `${fmt(s.median)} (${fmt(s.range[0])}–${fmt(s.range[1])})`,
          `${ratioFmt(s.ratio)} (${ratioFmt(s.ratioRange[0])}–${ratioFmt(s.ratioRange[1])})`,
        );
      }
      if (!workload.memory) {
        const per = (key) =>
          median(
            Array.from({ length: rounds }, (_, i) => runs[i]?.[workload.id]?.[server.id]?.[key]),
          );
        cells.push(pct(per('serverBusy')), pct(per('clientBusy')));
      }
      push(`| ${cells.join(' | ')} |`);
    }
    push('');
  }

  if (ctx.failures.length) {
    push('## Failed measurements', '');
    for (const f of ctx.failures)
      push(`- round ${f.round + 1}, ${f.workload}, ${f.server}: ${f.error}`);
    push('');
  }
  return lines.join('\n');
}

// ---------------------------------------------------------------------------------------------
// Main

function commandLine(argv) {
  if (process.env.npm_lifecycle_event?.startsWith('bench')) {
    const script = process.env.npm_lifecycle_event;
    return `npm run ${script}${argv.length ? ` -- ${argv.join(' ')}` : ''}`;
  }
  return ['node', relative(root, fileURLToPath(import.meta.url)), ...argv].join(' ');
}

function wsgateRevision() {
  const rev = shell('git', ['-C', root, 'rev-parse', '--short', 'HEAD'])?.trim();
  if (!rev) return 'not a git checkout';
  const dirty = shell('git', [
    '-C',
    root,
    'status',
    '--porcelain',
    '--',
    'lib',
    'adapters',
  ])?.trim();
  return `git ${rev}${dirty ? ' with uncommitted changes in lib/ or adapters/' : ''}`;
}

function versions() {
  const expressWsDir = dirname(require.resolve('express-ws/package.json', { paths: [root] }));
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

async function main() {
  const argv = process.argv.slice(2);
  const args = parseArgs(argv);
  profiling = { cpu: args.cpuProf === true, heap: args.heapSnapshot === true };
  // Profiles slow the servers down: such a run's figures are not results.
  if (profiling.cpu || profiling.heap) args.write = false;
  if (args.help) {
    console.log(readFileSync(fileURLToPath(import.meta.url), 'utf8').split('*/')[0]);
    return 0;
  }
  if (!existsSync(join(root, 'dist', 'adapters', 'express', 'index.js'))) {
    console.error('bench: dist/ is missing; run `npm run build` first (npm run bench does).');
    return 2;
  }
  // Others may rebuild dist/ while this runs: measure a copy taken now (inside the repository, so
  // the copy still resolves express, koa and ws from node_modules).
  const snapshot = join(here, '.dist', String(process.pid));
  // JavaScript only: tsconfig.json includes bench/, and a copy of the .d.ts files would be
  // type-checked (and clash) while a run is in progress.
  cpSync(join(root, 'dist'), snapshot, {
    recursive: true,
    filter: (source) => !source.endsWith('.d.ts') && !source.endsWith('.map'),
  });
  const cleanup = () => rmSync(snapshot, { recursive: true, force: true });
  process.on('exit', cleanup);
  for (const signal of ['SIGINT', 'SIGTERM']) {
    process.on(signal, () => {
      cleanup();
      process.exit(130);
    });
  }
  const builtAt = statSync(join(root, 'dist', 'lib', 'index.js')).mtime.toISOString();
  const redisUrl = SERVERS.some((s) => s.redis && (!args.servers || args.servers.includes(s.id)))
    ? await startRedis()
    : undefined;
  const known = SERVERS.filter((server) => !server.redis || redisUrl).map((server) =>
    server.wsgate
      ? {
          ...server,
          env: { WSGATE_DIST: snapshot, ...(server.redis ? { WSGATE_REDIS_URL: redisUrl } : {}) },
        }
      : server,
  );
  if (args.candidate) {
    // The same wsgate servers on another build (a candidate change), measured in the same run.
    const dist = resolve(args.candidate);
    if (!existsSync(join(dist, 'adapters', 'express', 'index.js'))) {
      throw new Error(`--candidate ${args.candidate}: no adapters/express/index.js in it`);
    }
    for (const server of SERVERS.filter((s) => s.wsgate && !s.redis)) {
      known.push({
        ...server,
        id: `${server.id}-candidate`,
        label: `${server.label} (candidate)`,
        env: { WSGATE_DIST: dist },
      });
    }
  }
  const servers = args.servers
    ? args.servers.map((id) => {
        const server = known.find((s) => s.id === id);
        if (!server) throw new Error(`unknown server ${id}: ${known.map((s) => s.id).join(', ')}`);
        return server;
      })
    : known;
  if (!args.smoke && !servers.some((s) => s.id === BASELINE)) {
    console.error('bench: without the raw ws server (--servers ws,...) there are no ratios');
  }

  if (args.smoke) {
    let failed = 0;
    for (const server of servers) {
      const started = Date.now();
      let failures;
      try {
        failures = await smokeOne(server);
      } catch (error) {
        failures = [String(error?.message ?? error)];
      }
      failed += failures.length ? 1 : 0;
      const status = failures.length ? `FAIL\n    ${failures.join('\n    ')}` : 'ok';
      console.log(`smoke ${server.label.padEnd(20)} ${status} (${Date.now() - started} ms)`);
    }
    console.log(failed ? `smoke: ${failed} server(s) failed` : 'smoke: every server answered');
    return failed ? 1 : 0;
  }

  const modeName = args.quick ? 'quick' : 'full';
  const mode = { ...MODES[modeName] };
  if (args.windowMs > 0) mode.windowMs = args.windowMs;
  if (args.warmupMs >= 0) mode.warmupMs = args.warmupMs;
  if (args.idleConns > 0) mode.idleConns = args.idleConns;
  const rounds = args.rounds ?? mode.rounds;
  const workloads = args.workloads
    ? args.workloads.map((id) => {
        const workload = WORKLOADS.find((w) => w.id === id);
        if (!workload)
          throw new Error(`unknown workload ${id}: ${WORKLOADS.map((w) => w.id).join(', ')}`);
        return workload;
      })
    : WORKLOADS;
  if (workloads.some((w) => w.id === 'publish') && !workloads.some((w) => w.id === 'broadcast')) {
    throw new Error('publish is compared with raw ws broadcast: include the broadcast workload');
  }

  const started = Date.now();
  const startedAt = new Date(started).toISOString();
  const loadBefore = loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
  const runs = [];
  const failures = [];
  const otherLoads = [];
  let retries = 0;
  let noisyKept = 0;
  let quietWaits = 0;

  const totalRuns =
    rounds * workloads.reduce((n, w) => n + servers.filter((s) => applies(w, s)).length, 0);
  let doneRuns = 0;
  /** A rerun fits if the runs left, at the pace so far, still end within the mode's budget. */
  const rerunFits = () => {
    const elapsed = Date.now() - started;
    const pace = elapsed / Math.max(1, doneRuns);
    return elapsed + pace * (totalRuns - doneRuns + 1) < 2 * mode.budgetMs;
  };
  console.error(
    `bench: ${modeName}, ${rounds} rounds, ${servers.length} servers, ${workloads.length} workloads${PINNING ? '' : ' (no CPU pinning)'}`,
  );

  let loadgen;
  const ensureLoadgen = async () => {
    if (!loadgen?.alive) loadgen = await startLoadgen();
    return loadgen;
  };
  const record = (round, workload, server, figures, attempts, t0) => {
    runs[round][workload.id][server.id] = figures;
    if (Number.isFinite(figures.otherLoad)) otherLoads.push(figures.otherLoad);
    const shown = Object.entries(figures)
      .map(([k, v]) => `${k}=${fmt(v)}`)
      .join(' ');
    console.error(
      `  r${round + 1} ${workload.id.padEnd(10)} ${server.label.padEnd(19)} ${shown}${attempts > 1 ? ` [${attempts} tries]` : ''} (${((Date.now() - t0) / 1000).toFixed(1)} s)`,
    );
  };
  const fail = (round, workload, server, error) => {
    const message = String(error?.message ?? error).split('\n')[0];
    failures.push({ round, workload: workload.id, server: server.label, error: message });
    console.error(
      `  r${round + 1} ${workload.id.padEnd(10)} ${server.label.padEnd(19)} FAILED: ${message}`,
    );
  };
  /** Measures, rerunning while other work on the cores disturbed the window (and time allows). */
  const measureQuietly = async (running, workload, warmupMs) => {
    let best;
    let attempts = 0;
    while (true) {
      attempts++;
      quietWaits += await waitForQuiet(mode.quietWaitMs);
      const figures = await measureOnce(await ensureLoadgen(), running, workload, {
        ...mode,
        warmupMs: Math.max(mode.warmupMs, warmupMs),
      });
      if (best === undefined || (figures.otherLoad ?? 0) < (best.otherLoad ?? 0)) best = figures;
      if (!((best.otherLoad ?? 0) > NOISY) || attempts > mode.retries || !rerunFits()) break;
      retries++;
      await sleep(300);
    }
    if ((best.otherLoad ?? 0) > NOISY) noisyKept++;
    return { figures: best, attempts };
  };

  for (let round = 0; round < rounds; round++) {
    runs[round] = Object.fromEntries(workloads.map((w) => [w.id, {}]));
    for (const server of servers) {
      // Memory first, on a fresh process; then every other workload on one process.
      for (const workload of workloads.filter((w) => w.memory && applies(w, server))) {
        const t0 = Date.now();
        try {
          const running = await startServer(server);
          try {
            const figures = await measureOnce(await ensureLoadgen(), running, workload, mode);
            record(round, workload, server, figures, 1, t0);
          } finally {
            await stop(running.child);
          }
        } catch (error) {
          fail(round, workload, server, error);
        }
        doneRuns++;
      }
      let running;
      for (const workload of workloads.filter((w) => !w.memory && applies(w, server))) {
        const t0 = Date.now();
        try {
          // A fresh process warms up longer: the JIT has all of its message path to compile.
          const fresh = running === undefined;
          running ??= await startServer(server);
          const warmupMs = fresh ? mode.firstWarmupMs : mode.warmupMs;
          const { figures, attempts } = await measureQuietly(running, workload, warmupMs);
          record(round, workload, server, figures, attempts, t0);
        } catch (error) {
          fail(round, workload, server, error);
          // Start afresh for the next workload.
          if (running) await stop(running.child);
          running = undefined;
        }
        doneRuns++;
      }
      if (running) await stop(running.child);
    }
  }
  await loadgen?.stop();
  const ctx = {
    runs,
    servers,
    rounds,
    workloads,
    mode,
    modeName,
    failures,
    command: commandLine(argv),
    date: startedAt.slice(0, 10),
    startedAt,
    seconds: (Date.now() - started) / 1000,
    loadBefore,
    loadAfter: loadavg()
      .map((l) => l.toFixed(2))
      .join(' '),
    otherLoad: { median: median(otherLoads), max: Math.max(...otherLoads) },
    retries,
    noisyKept,
    quietWaits,
    bufferutil: resolvable('bufferutil'),
    utf8validate: resolvable('utf-8-validate'),
    versions: versions(),
    wsgateRev: wsgateRevision(),
    builtAt,
    candidate: args.candidate,
  };
  const report = renderReport(ctx);
  console.log(report);
  if (args.write) {
    const dir = join(here, 'results');
    mkdirSync(dir, { recursive: true });
    // One file per run (UTC start time): a later run of the same day keeps the earlier ones.
    const stamp = `${ctx.startedAt.slice(0, 13)}${ctx.startedAt.slice(14, 16)}`;
    const file = join(dir, `${stamp}-${modeName}.md`);
    writeFileSync(file, `${report}\n`);
    writeFileSync(file.replace(/\.md$/, '.json'), `${JSON.stringify({ ...ctx, ROWS }, null, 1)}\n`);
    console.error(`bench: wrote ${relative(root, file)}`);
  }
  return failures.length ? 1 : 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error) => {
    console.error(`bench: ${error?.stack ?? error}`);
    process.exitCode = 2;
  },
);
