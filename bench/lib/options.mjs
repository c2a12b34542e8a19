/**
 * What a run is asked to do: the command line, the servers it measures (with the build of wsgate
 * each wsgate server imports, and the Redis backplane when a Redis server is picked), and the
 * plan (mode, rounds, workloads). The options are checked here, so that a bad one fails before
 * anything is measured.
 */
import { resolve } from 'node:path';
import { isBuild, startRedis, startRedisCluster } from './processes.mjs';
import { BASELINE, MODES, REDIS_PROCESSES, SERVERS, WORKLOADS } from './workloads.mjs';

export function parseArgs(argv) {
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
  args.profiling = { cpu: args.cpuProf === true, heap: args.heapSnapshot === true };
  // Profiles slow the servers down: such a run's figures are not results.
  if (args.profiling.cpu || args.profiling.heap) args.write = false;
  return args;
}

/** The entries of `table` named by `ids`, in that order. */
function byIds(ids, table, kind) {
  return ids.map((id) => {
    const entry = table.find((e) => e.id === id);
    if (!entry) throw new Error(`unknown ${kind} ${id}: ${table.map((e) => e.id).join(', ')}`);
    return entry;
  });
}

/** The environment of a Redis row's server: its Redis, and how many processes it runs as. */
function redisEnv(server, redis) {
  if (!server.redis) return {};
  const backplane =
    server.redis === 'cluster'
      ? { WSGATE_REDIS_CLUSTER: redis.cluster }
      : { WSGATE_REDIS_URL: redis.server };
  return { ...backplane, WSGATE_PROCESSES: String(REDIS_PROCESSES) };
}

/**
 * The servers to measure, each with the environment it starts with: the wsgate servers (and the
 * shaped floor) import the copy of dist/ in `snapshot` (the candidates the build in
 * --candidate), the Redis ones also get the URL of a redis-server (or the nodes of a Redis
 * Cluster) started for them, and are left out when there is none.
 */
export async function pickServers(args, snapshot) {
  const wanted = (kind) =>
    SERVERS.some((s) => s.redis === kind && (!args.servers || args.servers.includes(s.id)));
  const redis = {
    server: wanted('server') ? await startRedis() : undefined,
    cluster: wanted('cluster') ? await startRedisCluster() : undefined,
  };
  const known = SERVERS.filter((server) => !server.redis || redis[server.redis]).map((server) =>
    server.wsgate || server.usesBuild
      ? { ...server, env: { ...server.env, WSGATE_DIST: snapshot, ...redisEnv(server, redis) } }
      : server,
  );
  if (args.candidate) {
    // The same wsgate servers on another build (a candidate change), measured in the same run.
    const dist = resolve(args.candidate);
    if (!isBuild(dist)) {
      throw new Error(`--candidate ${args.candidate}: no adapters/express/index.js in it`);
    }
    for (const server of SERVERS.filter((s) => s.wsgate && !s.redis)) {
      known.push({
        ...server,
        id: `${server.id}-candidate`,
        label: `${server.label} (candidate)`,
        env: { ...server.env, WSGATE_DIST: dist },
      });
    }
  }
  const servers = args.servers ? byIds(args.servers, known, 'server') : known;
  if (!args.smoke && !servers.some((s) => s.id === BASELINE)) {
    console.error('bench: without the raw ws server (--servers ws,...) there are no ratios');
  }
  return servers;
}

/** The mode (--quick or full, with the overrides given), the rounds and the workloads. */
export function planRun(args) {
  const modeName = args.quick ? 'quick' : 'full';
  const mode = { ...MODES[modeName] };
  if (args.windowMs > 0) mode.windowMs = args.windowMs;
  if (args.warmupMs >= 0) mode.warmupMs = args.warmupMs;
  if (args.idleConns > 0) mode.idleConns = args.idleConns;
  const workloads = args.workloads ? byIds(args.workloads, WORKLOADS, 'workload') : WORKLOADS;
  if (workloads.some((w) => w.id === 'publish') && !workloads.some((w) => w.id === 'broadcast')) {
    throw new Error('publish is compared with raw ws broadcast: include the broadcast workload');
  }
  return { modeName, mode, rounds: args.rounds ?? mode.rounds, workloads };
}
