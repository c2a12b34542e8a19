#!/usr/bin/env node
/**
 * The benchmark runner: starts each server under test in its own process pinned to CPU 0, runs
 * each workload from a load generator pinned to CPU 1, samples the server's CPU time and memory
 * around the measured window, and reports medians, min–max and ratios to raw `ws` of the same
 * run as a markdown table (printed, and written to bench/results/<date>T<HHMM>-<mode>.md).
 *
 *   node bench/run.mjs                 full run (about 14 min; reruns for other load up to twice that)
 *   node bench/run.mjs --quick         everyday run (< 2 min)
 *   node bench/run.mjs --quick --smoke every server answers an echo, a handshake and a broadcast
 *
 * Options: --rounds N, --servers a,b, --workloads a,b (ids in bench/lib/workloads.mjs),
 * --window ms (measured window), --warmup ms, --idle-conns N, --no-write; --candidate <dist> also
 * measures the wsgate servers on another build of wsgate (a copy of dist/ with a change, see
 * bench/README.md), as `wsgate-express-candidate` and `wsgate-koa-candidate`;
 * --cpu-prof (servers run with `node --cpu-prof`) and --heap-snapshot (a heap snapshot of the
 * server at each memory sample) write into bench/profiles/ and no results file.
 * `npm run bench` builds dist/ first: the wsgate servers import the built package.
 * After the whole set (no --servers, --workloads, --candidate or profiling), and after --smoke,
 * it runs the presence benchmark, bench/presence/run.mjs (wsgate only: no peer has presence).
 */
// The parts are in bench/lib/: workloads.mjs (what is measured), options.mjs (the command line
// and the plan), processes.mjs (spawning and stopping), measure.mjs (measurements and rounds),
// stats.mjs and report.mjs (the results), smoke.mjs (--smoke), machine.mjs (/proc, versions).
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { runRounds } from './lib/measure.mjs';
import { parseArgs, pickServers, planRun } from './lib/options.mjs';
import { snapshotDist } from './lib/processes.mjs';
import { renderReport, runContext, writeResults } from './lib/report.mjs';
import { smoke } from './lib/smoke.mjs';

const PRESENCE = fileURLToPath(new URL('./presence/run.mjs', import.meta.url));

/** Runs the presence benchmark when the whole set was asked for; resolves with its exit code. */
async function presence(args) {
  const subset = args.servers || args.workloads || args.candidate;
  if (subset || args.profiling.cpu || args.profiling.heap) return 0;
  const flags = [...(args.smoke ? ['--smoke'] : []), ...(args.write ? [] : ['--no-write'])];
  const child = spawn(process.execPath, [PRESENCE, ...flags], { stdio: 'inherit' });
  const [code] = await once(child, 'exit');
  return code ?? 1;
}

async function main() {
  const argv = process.argv.slice(2);
  const args = parseArgs(argv);
  if (args.help) {
    console.log(readFileSync(fileURLToPath(import.meta.url), 'utf8').split('*/')[0]);
    return 0;
  }
  const dist = snapshotDist();
  if (!dist) {
    console.error('bench: dist/ is missing; run `npm run build` first (npm run bench does).');
    return 2;
  }
  const servers = await pickServers(args, dist.dir);
  if (args.smoke) return (await smoke(servers, args.profiling)) || presence(args);

  const plan = planRun(args);
  const measured = await runRounds(plan, servers, args.profiling);
  const ctx = runContext({ argv, args, plan, servers, dist, measured });
  const report = renderReport(ctx);
  console.log(report);
  if (args.write) writeResults(ctx, report);
  const presenceCode = await presence(args);
  return ctx.failures.length ? 1 : presenceCode;
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
