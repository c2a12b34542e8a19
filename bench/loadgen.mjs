/**
 * The load generator: a process (pinned by the runner to its own core) that runs workloads against
 * a server with the `ws` client and reports what it counted.
 *
 * Driven by the runner over IPC: { type: 'run', spec } runs one workload and answers
 * { type: 'result', ... } or { type: 'error', message }; every connection it opened is terminated
 * before the answer. The spec is { workload, url, warmupMs, windowMs, ...workload parameters }.
 * Around the measured window it sends { type: 'mark', name } and waits for { type: 'marked', name }:
 * the runner samples the server's CPU time (and memory) at each mark. Its counters are read just
 * before each mark, so the delay of the round trip falls on both ends of the window alike.
 */
import { hrtime } from 'node:process';
import WebSocket from 'ws';

let spec = {};
// Same client settings for every server: no compression; random masks as browsers send them.
const CLIENT = { perMessageDeflate: false };
const TEXT = { binary: false };
const BINARY = { binary: true };

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const nowNs = () => hrtime.bigint();
const cpuMicros = () => {
  const { user, system } = process.cpuUsage();
  return user + system;
};

let errors = 0;
let firstError;
/** Every connection of the current workload, terminated when it ends. */
const live = new Set();
function noteError(error) {
  errors++;
  firstError ??= String(error?.message ?? error);
}

const waiting = new Map();
process.on('message', (message) => {
  if (message?.type === 'marked') {
    waiting.get(message.name)?.();
    waiting.delete(message.name);
  } else if (message?.type === 'run') {
    run(message.spec);
  } else if (message?.type === 'exit') {
    process.exit(0);
  }
});
process.on('disconnect', () => process.exit(0));

/** Asks the runner to sample the server now; resolves once it has. */
function mark(name) {
  if (typeof process.send !== 'function') return Promise.resolve();
  return new Promise((resolve) => {
    waiting.set(name, resolve);
    process.send({ type: 'mark', name });
  });
}

let connections = 0;

/** Opens a connection to `path`, spread over the server's processes when it has several. */
function connect(path) {
  const urls = spec.urls ?? [spec.url];
  return open(urls[connections++ % urls.length] + path);
}

/** Opens a connection to `url`; it is terminated when the workload ends. */
function open(url) {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, CLIENT);
    const fail = (error) => {
      noteError(error);
      reject(error);
    };
    socket.once('error', fail);
    live.add(socket);
    socket.once('open', () => {
      socket.removeListener('error', fail);
      socket.on('error', noteError);
      resolve(socket);
    });
  });
}

/**
 * Opens `count` connections to `path`, at most `concurrency` handshakes at a time: with `connect`
 * (spread over the server's processes), or with `open` when `path` is a whole URL.
 */
async function openMany(path, count, concurrency = 100, opener = connect) {
  const sockets = [];
  let next = 0;
  async function lane() {
    while (next < count) {
      next++;
      sockets.push(await opener(path));
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, lane));
  return sockets;
}

/**
 * Warms up, then measures `counter()` over the window between the 'start' and 'end' marks, with
 * the wall time and this process's own CPU time (to tell when the client was the bottleneck).
 */
async function measure(counter, hooks = {}) {
  await sleep(spec.warmupMs);
  hooks.start?.();
  const count0 = counter();
  const time0 = nowNs();
  const cpu0 = cpuMicros();
  await mark('start');
  await sleep(spec.windowMs);
  const count1 = counter();
  const time1 = nowNs();
  const cpu1 = cpuMicros();
  hooks.end?.();
  await mark('end');
  const seconds = Number(time1 - time0) / 1e9;
  return { count: count1 - count0, seconds, clientCpuShare: (cpu1 - cpu0) / 1e6 / seconds };
}

/**
 * N connections, each keeping `inflight` messages of `size` bytes in flight (echo, large). With
 * `pairUrl`, {@link pairedEcho}.
 */
async function echo() {
  if (spec.pairUrl) return pairedEcho();
  const { conns, inflight, size, binary, path } = spec;
  const payload = Buffer.alloc(size, 'x');
  const options = binary ? BINARY : TEXT;
  const sockets = await openMany(path, conns);
  let received = 0;
  let wrong = 0;
  let running = true;
  for (const socket of sockets) {
    socket.on('message', (data, isBinary) => {
      received++;
      if (data.length !== size || isBinary !== binary) wrong++;
      if (running) socket.send(payload, options);
    });
    for (let i = 0; i < inflight; i++) socket.send(payload, options);
  }
  const result = await measure(() => received);
  running = false;
  return { ...result, wrong };
}

/**
 * The echo timed in turns: N connections to the server and N to `pairUrl` (a raw `ws` process on
 * the server's core) take turns in blocks of `block` echoes, one side in flight at a time; a side
 * hands over once its last echo is back. Both sides are measured under the same conditions in one
 * window (the machine drifts more between windows than the figure's target), as latency is. The
 * counter is the server's echoes; the result adds the pair's, and the server's time in flight
 * (its rate is over that time, not the window's).
 */
async function pairedEcho() {
  const { conns, inflight, size, binary, path, pairUrl, block } = spec;
  const payload = Buffer.alloc(size, 'x');
  const options = binary ? BINARY : TEXT;
  const pairSockets = await openMany(pairUrl + path, conns, conns, open);
  const sides = [await openMany(path, conns), pairSockets].map((sockets) => ({
    sockets,
    count: 0,
  }));
  let wrong = 0;
  let running = true;
  let recording = false;
  let active = 0;
  let left = block;
  let pending = 0;
  // The server's time in flight within the window: its turns, from `since` to each hand-over.
  let since = 0n;
  let activeNs = 0n;
  const endTurn = () => {
    if (recording && active === 0) activeNs += nowNs() - since;
  };
  const kick = () => {
    since = nowNs();
    for (const socket of sides[active].sockets) {
      for (let i = 0; i < inflight; i++) socket.send(payload, options);
    }
    pending = sides[active].sockets.length * inflight;
  };
  for (const side of sides) {
    for (const socket of side.sockets) {
      socket.on('message', (data, isBinary) => {
        pending--;
        side.count++;
        if (data.length !== size || isBinary !== binary) wrong++;
        if (left > 0) {
          left--;
          if (running) {
            socket.send(payload, options);
            pending++;
          }
        } else if (pending === 0 && running) {
          endTurn();
          active = 1 - active;
          left = block;
          kick();
        }
      });
    }
  }
  kick();
  let pairCount = 0;
  const result = await measure(() => sides[0].count, {
    start: () => {
      recording = true;
      since = nowNs();
      pairCount = -sides[1].count;
    },
    end: () => {
      endTurn();
      recording = false;
      pairCount += sides[1].count;
    },
  });
  running = false;
  return { ...result, wrong, pairCount, activeSeconds: Number(activeNs) / 1e9 };
}

/**
 * One connection, one message in flight: round-trip times. With `pairUrl` (a raw `ws` process
 * running beside the server, on its core) a second connection, to it, takes turns with the first
 * in blocks of `block` round trips, so that both are timed under the same conditions (the
 * machine's state drifts more between two windows than a few per cent); the result then has the
 * pair's percentiles too. The counter is the server's round trips alone.
 */
async function latency() {
  const { size, path, pairUrl, block } = spec;
  const payload = Buffer.alloc(size, 'x');
  const sides = [{ socket: await connect(path), samples: [] }];
  if (pairUrl) sides.push({ socket: await open(pairUrl + path), samples: [] });
  let recording = false;
  let running = true;
  let received = 0;
  let active = 0;
  let left = block;
  let sentAt = 0n;
  const send = () => {
    sentAt = nowNs();
    sides[active].socket.send(payload, TEXT);
  };
  sides.forEach((side, index) => {
    side.socket.on('message', () => {
      const now = nowNs();
      if (index === 0) received++;
      if (recording) side.samples.push(Number(now - sentAt) / 1e3);
      if (!running) return;
      if (sides.length > 1 && --left === 0) {
        left = block;
        active = 1 - active;
      }
      send();
    });
  });
  send();
  const result = await measure(() => received, {
    start: () => {
      recording = true;
    },
    end: () => {
      recording = false;
      running = false;
    },
  });
  const [own, pair] = sides.map(({ samples }) => {
    samples.sort((a, b) => a - b);
    const at = (q) => samples[Math.min(samples.length - 1, Math.floor(q * samples.length))] ?? NaN;
    return { samples: samples.length, p50: at(0.5), p99: at(0.99) };
  });
  return { ...result, ...own, ...(pair ? { pairP50: pair.p50, pairP99: pair.p99 } : {}) };
}

/** Open + close, `inflight` at a time: each client closes (1000) as soon as it is open. */
async function handshakes() {
  const { inflight, path } = spec;
  let completed = 0;
  let failed = 0;
  let running = true;
  let active = 0;
  let allClosed;
  function one() {
    active++;
    let opened = false;
    const socket = new WebSocket(spec.url + path, CLIENT);
    live.add(socket);
    socket.on('open', () => {
      opened = true;
      socket.close(1000);
    });
    socket.on('error', noteError);
    socket.on('close', () => {
      live.delete(socket);
      active--;
      if (opened) completed++;
      else failed++;
      if (running) one();
      else if (active === 0) allClosed?.();
    });
  }
  for (let i = 0; i < inflight; i++) one();
  const result = await measure(() => completed);
  running = false;
  if (active > 0) {
    await Promise.race([new Promise((resolve) => (allClosed = resolve)), sleep(2000)]);
  }
  return { ...result, failed };
}

/** Many idle connections: the runner samples the server's memory before and after opening them. */
async function idle() {
  const { conns, path } = spec;
  // Warm the server's code paths first, so what loads lazily is not counted per connection.
  const warm = await openMany(path, 100, 50);
  await Promise.all(
    warm.map(
      (socket) =>
        new Promise((resolve) => {
          socket.once('message', resolve);
          socket.send('warm');
        }),
    ),
  );
  await Promise.all(
    warm.map(
      (socket) =>
        new Promise((resolve) => {
          socket.once('close', resolve);
          socket.close(1000);
        }),
    ),
  );
  await sleep(300);
  await mark('baseline');
  const started = nowNs();
  const sockets = await openMany(path, conns, 100);
  const openSeconds = Number(nowNs() - started) / 1e9;
  await sleep(spec.settleMs ?? 500);
  await mark('loaded');
  return { conns: sockets.length, openSeconds };
}

/**
 * `clients` connections; the first one sends a 64-byte message that the server sends to all
 * (itself included). At most `inflight` broadcasts are outstanding; every delivery counts.
 */
async function broadcast() {
  const { clients, inflight, size, path } = spec;
  const payload = Buffer.alloc(size, 'b');
  const sockets = await openMany(path, clients, 100);
  const trigger = sockets[0];
  let delivered = 0;
  let sent = 0;
  let running = false;
  const window = inflight * clients;
  function pump() {
    while (running && sent * clients - delivered < window) {
      sent++;
      trigger.send(payload, TEXT);
    }
  }
  for (const socket of sockets) {
    socket.on('message', () => {
      delivered++;
      pump();
    });
  }
  // Until every client gets a broadcast (subscriptions settle right after the handshakes).
  let ready = false;
  for (let attempt = 0; attempt < 10 && !ready; attempt++) {
    delivered = 0;
    trigger.send(payload, TEXT);
    for (let waited = 0; waited < 2000 && delivered < clients; waited += 10) await sleep(10);
    ready = delivered === clients;
    if (!ready) await sleep(200);
  }
  if (!ready) throw new Error(`only ${delivered} of ${clients} clients received a broadcast`);
  delivered = 0;
  running = true;
  pump();
  const result = await measure(() => delivered);
  running = false;
  return result;
}

function expectMessage(socket, send, check, what) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what}: no answer within 3 s`)), 3000);
    socket.once('message', (data, isBinary) => {
      clearTimeout(timer);
      const problem = check(data, isBinary);
      if (problem) reject(new Error(`${what}: ${problem}`));
      else resolve();
    });
    send();
  });
}

/** Smoke test: each path answers as it should. Resolves with the failures (empty when fine). */
async function smoke() {
  const failures = [];
  async function check(what, test) {
    try {
      await test();
    } catch (error) {
      failures.push(`${what}: ${error?.message ?? error}`);
    }
  }
  await check('text echo', async () => {
    const socket = await connect('/echo');
    await expectMessage(
      socket,
      () => socket.send('hello wsgate'),
      (data, isBinary) =>
        isBinary || data.toString() !== 'hello wsgate' ? `got ${String(data)}` : undefined,
      'text echo',
    );
    socket.close();
  });
  await check('binary echo', async () => {
    const socket = await connect('/bin');
    const bytes = Buffer.from([0, 1, 2, 250, 255]);
    await expectMessage(
      socket,
      () => socket.send(bytes),
      (data, isBinary) => (!isBinary || !bytes.equals(data) ? 'wrong bytes' : undefined),
      'binary echo',
    );
    socket.close();
  });
  await check('handshake', async () => {
    const socket = await connect('/echo');
    await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no close within 3 s')), 3000);
      socket.once('close', (code) => {
        clearTimeout(timer);
        if (code === 1000) resolve();
        else reject(new Error(`closed with ${code}`));
      });
      socket.close(1000);
    });
  });
  for (const path of spec.broadcastPaths ?? ['/bc']) {
    await check(`broadcast ${path}`, async () => {
      const [a, b] = await Promise.all([connect(path), connect(path)]);
      await sleep(50);
      const got = new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('b received nothing within 3 s')), 3000);
        b.once('message', (data) => {
          clearTimeout(timer);
          if (data.toString() === 'to all') resolve();
          else reject(new Error(`b got ${String(data)}`));
        });
      });
      a.send('to all');
      await got;
      a.close();
      b.close();
    });
  }
  return { failures };
}

const workloads = { echo, latency, handshakes, idle, broadcast, smoke };

async function run(next) {
  spec = next;
  errors = 0;
  firstError = undefined;
  let message;
  let timer;
  try {
    const workload = workloads[spec.workload];
    if (workload === undefined) throw new Error(`unknown workload ${spec.workload}`);
    const timeout = new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error('timed out')), spec.timeoutMs ?? 60_000);
    });
    const result = await Promise.race([workload(), timeout]);
    message = { type: 'result', ...result, errors, firstError };
  } catch (error) {
    message = { type: 'error', message: String(error?.stack ?? error), errors, firstError };
  } finally {
    clearTimeout(timer);
  }
  for (const socket of live) socket.terminate();
  live.clear();
  process.send?.(message);
}

if (typeof process.send !== 'function') {
  console.error('bench/loadgen.mjs is driven by bench/run.mjs over IPC');
  process.exit(2);
}
process.send({ type: 'ready' });
