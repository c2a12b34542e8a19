/**
 * What the benchmark measures: the servers under test, the run modes (rounds, warm-ups, windows),
 * the workloads with what the load generator is asked to do and how its result becomes figures,
 * and the rows of the report with wsgate's targets. Plain tables: the runner and the report both
 * read them, so what a row means is written once.
 */

/** The servers, in the order they take turns in a round (files in bench/servers/). */
export const SERVERS = [
  { id: 'ws', label: 'ws', file: 'ws.mjs' },
  { id: 'express-ws', label: 'express-ws', file: 'express-ws.mjs' },
  { id: 'koa-easy-ws', label: 'koa-easy-ws', file: 'koa-easy-ws.mjs' },
  { id: 'fastify', label: '@fastify/websocket', file: 'fastify.mjs' },
  // A reference, not a plugin: Express 5's middleware and router in front of `ws`, nothing else
  // (what an Express handshake costs before any plugin runs). Handshakes only.
  {
    id: 'express-floor',
    label: 'Express 5 + ws (no plugin)',
    file: 'express-floor.mjs',
    workloads: ['handshakes'],
  },
  // The same with each request given, before Express sees it, the properties Express will add (as
  // wsgate/express does through attach()): what Express costs when its requests share a shape.
  {
    id: 'express-floor-shaped',
    label: 'Express 5 + ws, shaped requests (no plugin)',
    file: 'express-floor.mjs',
    workloads: ['handshakes'],
    env: { FLOOR_SHAPED: '1' },
    // The shaping is wsgate's own code: from the run's copy of dist/, as the wsgate servers.
    usesBuild: true,
  },
  // A reference, not a plugin: `ws` under the handler the contract asks for (an awaited read per
  // message, awaited sends, the headers kept) and nothing else: what that model costs before a
  // plugin runs. The text row also converts each message to a string and back. Latency, idle
  // and the 64 KiB echo (one message in flight per connection: nothing for a plugin to coalesce).
  {
    id: 'await-floor',
    label: 'ws, awaited reads (no plugin)',
    file: 'await-floor.mjs',
    workloads: ['latency', 'large', 'idle'],
  },
  {
    id: 'await-floor-text',
    label: 'ws, awaited text reads (no plugin)',
    file: 'await-floor.mjs',
    workloads: ['latency'],
    env: { FLOOR_TEXT: '1' },
  },
  { id: 'wsgate-express', label: 'wsgate/express', file: 'wsgate-express.mjs', wsgate: true },
  {
    id: 'wsgate-express-attach',
    label: 'wsgate/express, attach()',
    file: 'wsgate-express.mjs',
    wsgate: true,
    // After the handshake it runs the same code as the request path: measured where the two
    // differ, the handshake and what it leaves behind in memory.
    workloads: ['handshakes', 'idle'],
    env: { WSGATE_ATTACH: '1' },
  },
  { id: 'wsgate-koa', label: 'wsgate/koa', file: 'wsgate-koa.mjs', wsgate: true },
  // The same servers with the Redis backplane (publish only; needs redis-server on the PATH), as
  // REDIS_PROCESSES processes sharing the topic through one Redis or a Redis Cluster.
  {
    id: 'wsgate-express-redis',
    label: 'wsgate/express+Redis',
    file: 'wsgate-express.mjs',
    wsgate: true,
    redis: 'server',
  },
  {
    id: 'wsgate-koa-redis',
    label: 'wsgate/koa+Redis',
    file: 'wsgate-koa.mjs',
    wsgate: true,
    redis: 'server',
  },
  {
    id: 'wsgate-express-cluster',
    label: 'wsgate/express+Redis Cluster',
    file: 'wsgate-express.mjs',
    wsgate: true,
    redis: 'cluster',
  },
];
/**
 * How many processes a Redis row's server runs as: the load generator spreads its clients over
 * them, so a publish reaches subscribers in every process. All of them run on the server's core;
 * its CPU figures are the first process's (which also publishes), its rates all deliveries.
 */
export const REDIS_PROCESSES = 2;
/** The server every figure is divided by, in the same round. */
export const BASELINE = 'ws';

/**
 * Whether `workload` is measured on `server`: the Redis servers are for the publish row only,
 * a server with `workloads` for those.
 */
export function applies(workload, server) {
  return (
    (!workload.only || workload.only(server)) &&
    (!server.redis || workload.id === 'publish') &&
    (!server.workloads || server.workloads.includes(workload.id))
  );
}

/** The plugins users would otherwise pick, which the report ranks wsgate against. */
export const PEERS = ['express-ws', 'koa-easy-ws', 'fastify'];

/**
 * `budgetMs`: what a run takes on a quiet machine is well under it. On a busy one, disturbed
 * windows are measured again (up to `retries` times each) as long as the run, at its pace so far,
 * still ends within twice the budget; `quietWaitMs`: how long to wait for other work on the
 * cores to stop before each measurement.
 */
export const MODES = {
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
export const NOISY = 0.25;

/** Figures of a workload that counts operations: operations per second and CPU µs per one. */
const perOperation = (r, cpu) => ({ rate: r.count / r.seconds, cpuPerOp: cpu / r.count });
/** What the load generator does in the broadcast rows (`path` says how the server sends). */
const BROADCAST = { workload: 'broadcast', clients: 1000, inflight: 2, size: 64 };

/**
 * The workloads; `spec` goes to the load generator, `metrics(result, cpu, samples, pairCpu)` turns
 * its result into figures (CPU times in µs over the window: the server's, and a paired workload's
 * pair's).
 */
export const WORKLOADS = [
  {
    id: 'echo',
    title: 'echo throughput',
    describe: '50 connections × 16 messages in flight, 64 B text',
    spec: { workload: 'echo', conns: 50, inflight: 16, size: 64, binary: false, path: '/echo' },
    metrics: perOperation,
  },
  {
    id: 'latency',
    title: 'latency',
    describe:
      '1 connection, 1 message in flight, 64 B text, round trip; timed in turns (blocks of 200) with a connection to a raw `ws` process on the same core',
    spec: { workload: 'latency', size: 64, path: '/echo', block: 200 },
    // Timed in turns with the pair (a raw `ws` process beside the server): windows minutes apart
    // differ by more than the target's 5 %, two connections taking turns within one do not.
    paired: true,
    metrics: (r, cpu) => ({
      p50: r.p50,
      p99: r.p99,
      cpuPerOp: cpu / r.count,
      p50Paired: r.p50 / r.pairP50,
      p99Paired: r.p99 / r.pairP99,
    }),
  },
  {
    id: 'large',
    title: 'large messages',
    describe:
      '10 connections × 1 message in flight, 64 KiB binary; timed in turns (blocks of 500 echoes) with 10 connections to a raw `ws` process on the same core',
    spec: {
      workload: 'echo',
      conns: 10,
      inflight: 1,
      size: 65536,
      binary: true,
      path: '/bin',
      block: 500,
    },
    // Timed in turns with the pair, as latency is: between two windows of the same server its CPU
    // per message differs by more than the target's margin (bench/README.md, "Method").
    paired: true,
    // On a process of its own (and a pair of its own) with the same initial old generation. V8
    // counts the buffers allocated since its last full GC against the old generation's limit,
    // which it sets from the heap's size: from about 8 MB of heap the limit is one that 64 KiB
    // messages reach between two scavenges, and a full GC then runs every few hundred messages
    // whatever the server's code (raw `ws` with 3 MB of inert objects pays it as wsgate does;
    // bench/README.md, "Method"). Fixed, the limit keeps that cliff out of the figure.
    nodeArgs: ['--initial-old-space-size=64'],
    // A fresh process, warming up in turns with the pair: three times a fresh process's warm-up
    // (it has half of it). Its CPU per message is still coming down after that, raw `ws`'s too
    // (bench/README.md, "Where it stands": 64 KiB); longer would not fit the run's budget.
    minWarmupMs: (mode) => 3 * mode.firstWarmupMs,
    metrics: (r, cpu, _samples, pairCpu) => ({
      rate: (r.count * 65536) / r.activeSeconds / 1e6,
      cpuPerOp: cpu / r.count,
      cpuPerOpPaired: cpu / r.count / (pairCpu / r.pairCount),
    }),
  },
  {
    id: 'handshakes',
    title: 'handshakes',
    describe: 'open + close, 20 in flight; three no-op middlewares before the route',
    spec: { workload: 'handshakes', inflight: 20, path: '/echo' },
    // Handshakes run through much more code than messages: the JIT needs longer to settle.
    minWarmupMs: (mode) => mode.handshakeWarmupMs,
    metrics: perOperation,
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
    spec: { ...BROADCAST, path: '/bc' },
    metrics: perOperation,
  },
  {
    id: 'publish',
    title: 'broadcast (publish)',
    describe: 'as broadcast, with `sockets.publish` to a topic all clients are on (wsgate only)',
    spec: { ...BROADCAST, path: '/pub' },
    only: (server) => server.wsgate === true,
    baseline: 'broadcast',
    metrics: perOperation,
  },
];

/**
 * A row of the tables: figure `key` of `workload`, which way is better, wsgate's target. A
 * `paired` row's figure is a ratio to raw `ws` already (measured in turns with it in one window),
 * and is its own ratio.
 */
function row(workload, key, label, unit, better, target, paired = false) {
  return { workload, key, label, unit, better, ...(target ? { target } : {}), paired };
}

/**
 * The rows of the tables, in their order, with wsgate's targets as a ratio to raw ws (the
 * cheapest handshake and smallest idle connection of any ws-based plugin, without giving up
 * the per-message lead; bench/README.md says where each stands).
 */
export const ROWS = [
  row('echo', 'rate', 'echo msgs/s', 'msg/s', 'higher', ['>=', 0.95]),
  row('echo', 'cpuPerOp', 'echo CPU µs/msg', 'µs', 'lower', ['<=', 1.0]),
  row('latency', 'p50Paired', 'latency p50 ÷ ws, paired', '×', 'lower', ['<=', 1.05], true),
  row('latency', 'p99Paired', 'latency p99 ÷ ws, paired', '×', 'lower', ['<=', 1.1], true),
  row('latency', 'p50', 'latency p50 µs', 'µs', 'lower'),
  row('latency', 'p99', 'latency p99 µs', 'µs', 'lower'),
  // The server's CPU per round trip: what its share of the round trip costs, without the wake-ups.
  row('latency', 'cpuPerOp', 'latency CPU µs/round trip', 'µs', 'lower'),
  row('large', 'rate', '64 KiB MB/s', 'MB/s', 'higher', ['>=', 0.95]),
  // Each server's CPU per message over the pair's in the same window, then (as every other row)
  // over raw ws's figure of the round: the pair's drift between windows cancels out.
  row('large', 'cpuPerOpPaired', '64 KiB CPU ÷ pair', '×', 'lower', ['<=', 1.0]),
  row('large', 'cpuPerOp', '64 KiB CPU µs/msg', 'µs', 'lower'),
  row('handshakes', 'rate', 'handshakes/s', '/s', 'higher', ['>=', 0.85]),
  row('handshakes', 'cpuPerOp', 'handshake CPU µs', 'µs', 'lower', ['<=', 1.5]),
  row('idle', 'rssPerConn', 'idle RSS KiB/conn', 'KiB', 'lower', ['<=', 1.3]),
  row('idle', 'heapPerConn', 'idle heap KiB/conn', 'KiB', 'lower'),
  row('broadcast', 'rate', 'broadcast deliveries/s', '/s', 'higher', ['>=', 0.95]),
  row('broadcast', 'cpuPerOp', 'broadcast CPU µs/delivery', 'µs', 'lower'),
  row('publish', 'rate', 'publish deliveries/s', '/s', 'higher', ['>=', 0.95]),
  row('publish', 'cpuPerOp', 'publish CPU µs/delivery', 'µs', 'lower'),
];
