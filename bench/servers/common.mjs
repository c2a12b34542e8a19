/**
 * The glue every bench server shares: tells the runner (over the IPC channel `child_process`
 * opens) which port it listens on, and answers the runner's samples of CPU time and memory.
 *
 * The servers under test echo on these paths:
 *   /echo  text echo (the peers echo binary too)     /bin  binary echo
 *   /bc    each message is sent to every open client /pub  (wsgate) published to a topic all are on
 * Framework servers install three no-op middlewares (hooks on fastify) before their routes.
 */
import { fork } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import process from 'node:process';
import { pathToFileURL } from 'node:url';
import { getHeapSpaceStatistics, writeHeapSnapshot } from 'node:v8';

/** A no-op middleware for Express-style (req, res, next) stacks. */
export function noopExpress(_req, _res, next) {
  next();
}

/** A no-op Koa middleware. */
export function noopKoa(_ctx, next) {
  return next();
}

/** Swallows the rejection of a send to a client that left mid-broadcast. */
export function ignore() {}

function sample(gc) {
  if (gc && typeof globalThis.gc === 'function') {
    globalThis.gc();
    globalThis.gc();
  }
  const { user, system } = process.cpuUsage();
  const memory = process.memoryUsage();
  return {
    cpu: user + system,
    rss: memory.rss,
    heapUsed: memory.heapUsed,
    heapTotal: memory.heapTotal,
    external: memory.external,
    arrayBuffers: memory.arrayBuffers,
    // Committed bytes per V8 heap space (RSS also holds pages V8 keeps after a GC).
    spaces: Object.fromEntries(
      getHeapSpaceStatistics().map((space) => [space.space_name, space.space_size]),
    ),
  };
}

/**
 * Imports a wsgate entry point: `specifier` (the built package, through its self-reference), or
 * `file` inside the build in $WSGATE_DIST when set, to measure a candidate change side by side.
 */
export function importWsgate(specifier, file) {
  const dist = process.env.WSGATE_DIST;
  return import(dist ? pathToFileURL(join(dist, file)).href : specifier);
}

/**
 * The plugin options of the wsgate servers: the defaults, with topics through the Redis
 * backplane when the runner passes WSGATE_REDIS_URL or WSGATE_REDIS_CLUSTER (comma-separated
 * node URLs) for its Redis rows.
 */
export async function wsgateOptions() {
  const url = process.env.WSGATE_REDIS_URL;
  const cluster = process.env.WSGATE_REDIS_CLUSTER;
  if (!url && !cluster) return {};
  const { redisPubSub } = await importWsgate('wsgate/redis', 'lib/redis/index.js');
  const rootNodes = cluster?.split(',').map((node) => ({ url: node }));
  return { pubsub: redisPubSub(rootNodes ? { cluster: { rootNodes } } : { url }) };
}

/**
 * With WSGATE_PROCESSES=N (the Redis rows), the server runs as N processes sharing topics
 * through the backplane: this one and N - 1 copies of it, whose ports it resolves with.
 */
async function startPeers() {
  const count = Number(process.env.WSGATE_PROCESSES ?? 1) - 1;
  if (process.env.WSGATE_PEER || !(count > 0)) return [];
  const peers = Array.from({ length: count }, () =>
    fork(process.argv[1], [], {
      execArgv: process.execArgv,
      env: { ...process.env, WSGATE_PEER: '1' },
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    }),
  );
  return Promise.all(peers.map(async (peer) => (await once(peer, 'message'))[0].port));
}

/** Reports `server` (listening) to the runner and serves its requests until it disconnects. */
export async function ready(server, name) {
  if (process.env.WSGATE_PEER) {
    // A copy started by startPeers: it only serves, and goes with the process that started it.
    process.on('disconnect', () => process.exit(0));
    process.send({ type: 'peer', port: server.address().port });
    return;
  }
  const peerPorts = await startPeers();
  if (typeof process.send !== 'function') {
    const { port } = server.address();
    console.log(`${name} listening on ws://127.0.0.1:${port} (no runner attached)`);
    return;
  }
  process.on('message', (message) => {
    if (message?.type === 'sample') {
      const figures = sample(message.gc === true);
      // Profiling (bench/run.mjs --heap-snapshot): after the figures, which it would disturb.
      if (typeof message.snapshot === 'string') writeHeapSnapshot(message.snapshot);
      process.send({ type: 'sample', id: message.id, ...figures });
    } else if (message?.type === 'exit') {
      process.exit(0);
    }
  });
  // The runner is gone: do not linger.
  process.on('disconnect', () => process.exit(0));
  const { port } = server.address();
  process.send({ type: 'ready', name, port, ports: [port, ...peerPorts], pid: process.pid });
}

/** Listens on 127.0.0.1 on a free port. */
export function listen(server) {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(server));
  });
}
