/**
 * The processes of a run: the copy of dist/ the wsgate servers import, the servers under test
 * (pinned to CPU 0) and the load generator (pinned to CPU 1) with the IPC each speaks, the
 * throwaway redis-server of the Redis rows, and stopping them. Everything that spawns or kills a
 * process is here, so that every child is started the same way and none outlives the runner.
 */
import { execFile, spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { BENCH, coreBusy, PINNING, ROOT, rssFromProc } from './machine.mjs';

/** Where --cpu-prof and --heap-snapshot put their files (ignored by git). */
const PROFILES = join(BENCH, 'profiles');

/**
 * The environment of the processes that CPU is measured on. glibc gives the top of its heap back
 * to the kernel once more than its trim threshold is free, and that threshold moves with the
 * process's own history: at 64 KiB per message some processes of the same server then fault their
 * buffers' pages in again and again (bench/README.md, "Method"). A fixed threshold, the same for
 * every server, keeps that luck out of the CPU figures; memory is measured on processes with
 * glibc's defaults, as users run them.
 */
export const CPU_ENV = { MALLOC_TRIM_THRESHOLD_: String(128 << 20) };

// Enough descriptors for thousands of connections on both sides (up to the hard limit).
const RAISE_FD_LIMIT =
  'ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null; exec "$@"';

/** Whether `dir` holds a build of wsgate (what the wsgate servers import). */
export function isBuild(dir) {
  return existsSync(join(dir, 'adapters', 'express', 'index.js'));
}

/**
 * Copies dist/ for this run and removes the copy when the run exits; returns where it is
 * and when dist/ was built, or `undefined` when there is no dist/.
 */
export function snapshotDist() {
  if (!isBuild(join(ROOT, 'dist'))) return undefined;
  // Others may rebuild dist/ while this runs: measure a copy taken now (inside the repository, so
  // the copy still resolves express, koa and ws from node_modules).
  const dir = join(BENCH, '.dist', String(process.pid));
  // JavaScript only: tsconfig.json includes bench/, and a copy of the .d.ts files would be
  // type-checked (and clash) while a run is in progress.
  cpSync(join(ROOT, 'dist'), dir, {
    recursive: true,
    filter: (source) => !source.endsWith('.d.ts') && !source.endsWith('.map'),
  });
  const cleanup = () => rmSync(dir, { recursive: true, force: true });
  process.on('exit', cleanup);
  for (const signal of ['SIGINT', 'SIGTERM']) {
    process.on(signal, () => {
      cleanup();
      process.exit(130);
    });
  }
  return { dir, builtAt: statSync(join(ROOT, 'dist', 'lib', 'index.js')).mtime.toISOString() };
}

function spawnPinned(cpu, script, args, extraNodeArgs = [], env = {}, stdout = 'ignore') {
  const node = [process.execPath, ...extraNodeArgs, script, ...args];
  const command = PINNING ? ['taskset', '-c', String(cpu), ...node] : node;
  return spawn('/bin/sh', ['-c', RAISE_FD_LIMIT, 'sh', ...command], {
    cwd: ROOT,
    stdio: ['ignore', stdout, 'pipe', 'ipc'],
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

export function stop(child) {
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

/**
 * A throwaway redis-server on a free loopback port for the Redis rows (with `options`, more
 * command-line options), stopped when the run exits; `undefined` (and the Redis rows left out)
 * when redis-server is not installed.
 */
export async function startRedis(options = []) {
  const probe = createServer().listen(0, '127.0.0.1');
  await new Promise((done) => probe.once('listening', done));
  const { port } = probe.address();
  await new Promise((done) => probe.close(done));
  const child = spawn(
    'redis-server',
    [
      ...['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      ...options,
    ],
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

const run = promisify(execFile);

/**
 * A throwaway Redis Cluster of three masters (no replicas: the rows measure publishing, not
 * failover) for the cluster row; resolves with its nodes' URLs, comma-separated, or `undefined`
 * when it cannot be made.
 */
export async function startRedisCluster() {
  const dir = mkdtempSync(join(tmpdir(), 'wsgate-bench-cluster-'));
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  const urls = [];
  for (let i = 0; i < 3; i++) {
    const url = await startRedis([
      ...['--cluster-enabled', 'yes', '--cluster-config-file', `nodes-${i}.conf`, '--dir', dir],
    ]);
    if (!url) return undefined;
    urls.push(url);
  }
  const addresses = urls.map((url) => new URL(url).host);
  try {
    await run('redis-cli', ['--cluster', 'create', ...addresses, '--cluster-yes'], {
      timeout: 30_000,
    });
    const [host, port] = addresses[0].split(':');
    for (let waited = 0; ; waited += 100) {
      const { stdout } = await run('redis-cli', ['-h', host, '-p', port, 'CLUSTER', 'INFO']);
      if (stdout.includes('cluster_state:ok')) break;
      if (waited > 10_000) throw new Error('cluster_state is not ok after 10 s');
      await new Promise((done) => setTimeout(done, 100));
    }
  } catch (error) {
    console.error(`bench: no Redis Cluster (${error.message}): the cluster row is left out`);
    return undefined;
  }
  return urls.join(',');
}

/**
 * A server under test, started and listening (under `node --cpu-prof` when `profiling.cpu`);
 * `sample()` asks it for its CPU time and memory (after a full GC when `gc`) and adds its RSS
 * and the cores' busy time. A process for the memory workloads (`memory`) keeps glibc's
 * defaults; the others run with `CPU_ENV`. `args`: more flags for node (a workload's own);
 * `stdout`: the server's standard output is piped (`child.stdout`) instead of dropped.
 */
export async function startServer(
  server,
  profiling,
  { memory = false, args = [], stdout = false } = {},
) {
  const nodeArgs = ['--expose-gc', ...args];
  if (profiling.cpu) {
    mkdirSync(PROFILES, { recursive: true });
    nodeArgs.push(
      '--cpu-prof',
      `--cpu-prof-dir=${PROFILES}`,
      `--cpu-prof-name=${server.id}-${Date.now()}.cpuprofile`,
    );
  }
  const env = memory ? server.env : { ...CPU_ENV, ...server.env };
  const script = join(BENCH, 'servers', server.file);
  const child = spawnPinned(0, script, [], nodeArgs, env, stdout ? 'pipe' : 'ignore');
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
    // A server spread over processes: the URLs of all of them, its own first.
    urls: (ready.ports ?? [ready.port]).map((port) => `ws://127.0.0.1:${port}`),
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
 * The load generator, started once and kept for many workloads. `run(spec, server, memory, pair)`
 * runs one workload against `server`, sampling it at each of the load generator's marks (after a
 * full GC when `memory`, with a heap snapshot too when `profiling.heap`), and resolves with the
 * load generator's result and the samples. A `pair` (the process a paired workload times in
 * turns with the server) is sampled at the same marks, for its CPU time (`pairCpu`).
 */
export async function startLoadgen(profiling) {
  const child = spawnPinned(1, join(BENCH, 'loadgen.mjs'), []);
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
      Promise.all([server.sample(memory, snapshot), run.pair?.sample()])
        .then(([sample, pairSample]) => {
          run.samples[message.name] = { ...sample, pairCpu: pairSample?.cpu };
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
    run(spec, server, memory, pair) {
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
          pair,
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
