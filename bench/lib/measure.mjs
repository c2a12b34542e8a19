/**
 * The measurements: one workload once against a running server (the load generator's result and
 * the server's samples around the window turned into figures, and what else ran on the cores),
 * and the rounds that take every server through every workload, measuring a disturbed window
 * again while the run's time budget allows. The order of the rounds and the fresh processes are
 * part of the method (bench/README.md, "Method"), so they live here and not in the entry point.
 */
import { coreBusy, loadAverage, PINNING } from './machine.mjs';
import { startLoadgen, startServer, stop } from './processes.mjs';
import { fmt } from './report.mjs';
import { median } from './stats.mjs';
import { applies, BASELINE, NOISY, SERVERS } from './workloads.mjs';

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

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

/**
 * Runs `workload` once with `loadgen` against the running `server` (timed in turns with the
 * running `pair` when the workload is paired); resolves with its figures.
 */
async function measureOnce(loadgen, server, workload, mode, pair) {
  const spec = {
    ...workload.spec,
    url: `ws://127.0.0.1:${server.port}`,
    urls: server.urls,
    ...(pair ? { pairUrl: `ws://127.0.0.1:${pair.port}` } : {}),
    warmupMs: Math.max(mode.warmupMs, workload.minWarmupMs?.(mode) ?? 0),
    windowMs: mode.windowMs,
    timeoutMs: 120_000,
  };
  if (workload.id === 'idle') spec.conns = mode.idleConns;
  const { result, samples } = await loadgen.run(spec, server, workload.memory === true, pair);
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
  // The pair's CPU time over the same window (sampled at the same marks), when there is one.
  const pairCpu =
    pair && samples.end && samples.start ? samples.end.pairCpu - samples.start.pairCpu : 0;
  const figures = workload.metrics(result, cpu, samples, pairCpu);
  if (samples.start && samples.end) {
    const seconds = result.seconds;
    figures.serverBusy = cpu / 1e6 / seconds;
    figures.clientBusy = result.clientCpuShare;
    const b0 = samples.start.busy;
    const b1 = samples.end.busy;
    if (b0 && b1 && PINNING) {
      const core0 = (b1['0'] - b0['0']) / 1000 / seconds;
      const core1 = (b1['1'] - b0['1']) / 1000 / seconds;
      const pairBusy = pairCpu / 1e6 / seconds;
      // Time the two cores spent on anything but this server (and its pair) and this load
      // generator.
      figures.otherLoad =
        Math.max(0, core0 - figures.serverBusy - pairBusy) +
        Math.max(0, core1 - figures.clientBusy);
    }
  }
  return figures;
}

/**
 * Runs the plan: `rounds` rounds in which the servers take turns, each measured on every
 * workload that applies to it. Resolves with the figures (`runs[round][workload][server]`), the
 * failed measurements and what the noise control did.
 */
export async function runRounds({ modeName, mode, rounds, workloads }, servers, profiling) {
  const started = Date.now();
  const startedAt = new Date(started).toISOString();
  const loadBefore = loadAverage();
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
    if (!loadgen?.alive) loadgen = await startLoadgen(profiling);
    return loadgen;
  };
  // The raw `ws` process a paired workload times in turns with each server (the baseline's own
  // measurement included: paired with a second `ws`, it shows the method's noise), one per set of
  // node flags the workloads ask for. Started on first use, kept (idle in between) until the run
  // ends; never profiled.
  const pairs = new Map();
  const ensurePair = async (workload) => {
    const args = workload.nodeArgs ?? [];
    const key = args.join(' ');
    let pair = pairs.get(key);
    if (pair === undefined || pair.child.exitCode !== null) {
      pair = await startServer(
        SERVERS.find((s) => s.id === BASELINE),
        {},
        { args },
      );
      pairs.set(key, pair);
    }
    return pair;
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
      const figures = await measureOnce(
        await ensureLoadgen(),
        running,
        workload,
        { ...mode, warmupMs: Math.max(mode.warmupMs, warmupMs) },
        workload.paired ? await ensurePair(workload) : undefined,
      );
      if (best === undefined || (figures.otherLoad ?? 0) < (best.otherLoad ?? 0)) best = figures;
      if (!((best.otherLoad ?? 0) > NOISY) || attempts > mode.retries || !rerunFits()) break;
      retries++;
      await sleep(300);
    }
    if ((best.otherLoad ?? 0) > NOISY) noisyKept++;
    return { figures: best, attempts };
  };

  /** Measures `workload` with `measure` on a fresh process of `server`, started with `options`. */
  const onOwnProcess = async (round, server, workload, options, measure) => {
    const t0 = Date.now();
    try {
      const running = await startServer(server, profiling, options);
      try {
        const { figures, attempts } = await measure(running);
        record(round, workload, server, figures, attempts, t0);
      } finally {
        await stop(running.child);
      }
    } catch (error) {
      fail(round, workload, server, error);
    }
    doneRuns++;
  };

  for (let round = 0; round < rounds; round++) {
    runs[round] = Object.fromEntries(workloads.map((w) => [w.id, {}]));
    for (const server of servers) {
      // Memory first, on a fresh process; then each workload with node flags of its own on a fresh
      // process started with them; then every other workload on one process.
      for (const workload of workloads.filter((w) => w.memory && applies(w, server))) {
        await onOwnProcess(round, server, workload, { memory: true }, async (running) => ({
          figures: await measureOnce(await ensureLoadgen(), running, workload, mode),
          attempts: 1,
        }));
      }
      for (const workload of workloads.filter((w) => w.nodeArgs && applies(w, server))) {
        await onOwnProcess(round, server, workload, { args: workload.nodeArgs }, (running) =>
          measureQuietly(running, workload, mode.firstWarmupMs),
        );
      }
      let running;
      const shared = (w) => !w.memory && !w.nodeArgs && applies(w, server);
      for (const workload of workloads.filter(shared)) {
        const t0 = Date.now();
        try {
          // A fresh process warms up longer: the JIT has all of its message path to compile.
          const fresh = running === undefined;
          running ??= await startServer(server, profiling);
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
  await Promise.all([...pairs.values()].map((pair) => stop(pair.child)));
  return {
    runs,
    failures,
    startedAt,
    seconds: (Date.now() - started) / 1000,
    loadBefore,
    loadAfter: loadAverage(),
    otherLoad: { median: median(otherLoads), max: Math.max(...otherLoads) },
    retries,
    noisyKept,
    quietWaits,
  };
}
