/**
 * The report of a run: what it measured and on what (the run's context, also written as JSON
 * with every figure), the markdown tables of ratios to raw `ws`, wsgate against the peers and the
 * details per workload, and the files in bench/results/. Only figures the rounds produced go in:
 * nothing here measures.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import {
  BENCH,
  cpuModel,
  NCPU,
  PINNING,
  ROOT,
  resolvable,
  versions,
  wsgateRevision,
} from './machine.mjs';
import { CPU_ENV } from './processes.mjs';
import { ahead, median, meets, rowStats } from './stats.mjs';
import { applies, NOISY, PEERS, ROWS, WORKLOADS } from './workloads.mjs';

/** A figure with three significant digits or so (thousands as `k`). */
export function fmt(value) {
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

/** The markdown report of a run (`ctx` as `runContext` makes it). */
export function renderReport(ctx) {
  const { runs, servers, rounds, workloads } = ctx;
  const lines = [];
  const push = (...l) => lines.push(...l);
  const rows = ROWS.filter((row) => workloads.some((w) => w.id === row.workload));
  const ownProcess = workloads.filter((w) => w.nodeArgs);

  push(`# wsgate benchmark: ${ctx.modeName} run, ${ctx.date}`, '');
  push(`- **Command:** \`${ctx.command}\``);
  push(`- **Date:** ${ctx.startedAt} (took ${Math.round(ctx.seconds)} s)`);
  push(`- **Node:** ${process.version} · **CPU:** ${cpuModel()} × ${NCPU} cores`);
  push(
    `- **Pinning:** ${PINNING ? 'each server on CPU 0, the load generator on CPU 1 (`taskset`)' : 'none (taskset missing or < 2 cores): treat the figures with care'}`,
  );
  push(
    `- **Mode:** ${rounds} rounds; in each round the servers take turns (${servers.map((s) => s.label).join(' → ')}): idle memory on a fresh server process, ${ownProcess.length ? `${ownProcess.map((w) => `${w.title} on one of its own`).join(', ')}, ` : ''}then the other workloads on one process; warm-up ${ctx.mode.warmupMs} ms (the first workload on a fresh process: ${ctx.mode.firstWarmupMs} ms; handshakes: ${ctx.mode.handshakeWarmupMs} ms), window ${ctx.mode.windowMs} ms; idle: ${ctx.mode.idleConns} connections`,
  );
  push(
    `- **Native helpers:** bufferutil ${ctx.bufferutil ? 'installed' : 'not installed'}, utf-8-validate ${ctx.utf8validate ? 'installed' : 'not installed'} (the same for every server; on Node 20 \`ws\` 8 validates UTF-8 with \`buffer.isUtf8\`)`,
  );
  const allocator = Object.entries(CPU_ENV).map(([name, value]) => `\`${name}=${value}\``);
  push(
    `- **Allocator:** the processes CPU is measured on run with ${allocator.join(' ')} (glibc's heap trimming pinned, bench/README.md "Method"); the idle-memory processes with glibc's defaults`,
  );
  for (const w of ownProcess) {
    push(
      `- **V8 heap:** the ${w.title} processes (and their pair) run with \`${w.nodeArgs.join(' ')}\` (the same old-generation limit for every server, bench/README.md "Method"); every other process with V8's defaults`,
    );
  }
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
    'Each cell is the median over the rounds of the figure divided by raw `ws`’s in the same round; the paired latency rows divide by a raw `ws` process timed in turns with the server in the same window (for `ws` itself a second `ws` process: the method’s own noise); the 64 KiB CPU ÷ pair row is timed in turns the same way and then, as the other rows, divided by raw `ws`’s in the same round. Rates: higher is better; times, CPU and memory: lower is better. Targets apply to wsgate.',
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

/** The command that started the run (npm's, when `npm run bench` did). */
function commandLine(argv) {
  if (process.env.npm_lifecycle_event?.startsWith('bench')) {
    const script = process.env.npm_lifecycle_event;
    return `npm run ${script}${argv.length ? ` -- ${argv.join(' ')}` : ''}`;
  }
  return ['node', relative(ROOT, process.argv[1]), ...argv].join(' ');
}

/**
 * Everything the report and the JSON file say about a run, in the order the JSON lists it:
 * `measured` is what `runRounds` resolved with.
 */
export function runContext({ argv, args, plan, servers, dist, measured }) {
  const { modeName, mode, rounds, workloads } = plan;
  return {
    runs: measured.runs,
    servers,
    rounds,
    workloads,
    mode,
    modeName,
    failures: measured.failures,
    command: commandLine(argv),
    date: measured.startedAt.slice(0, 10),
    startedAt: measured.startedAt,
    seconds: measured.seconds,
    loadBefore: measured.loadBefore,
    loadAfter: measured.loadAfter,
    otherLoad: measured.otherLoad,
    retries: measured.retries,
    noisyKept: measured.noisyKept,
    quietWaits: measured.quietWaits,
    bufferutil: resolvable('bufferutil'),
    utf8validate: resolvable('utf-8-validate'),
    versions: versions(),
    wsgateRev: wsgateRevision(),
    builtAt: dist.builtAt,
    candidate: args.candidate,
  };
}

/** Writes the report and the JSON of a run to bench/results/<date>T<HHMM>-<mode>.{md,json}. */
export function writeResults(ctx, report) {
  const dir = join(BENCH, 'results');
  mkdirSync(dir, { recursive: true });
  // One file per run (UTC start time): a later run of the same day keeps the earlier ones.
  const stamp = `${ctx.startedAt.slice(0, 13)}${ctx.startedAt.slice(14, 16)}`;
  const file = join(dir, `${stamp}-${ctx.modeName}.md`);
  writeFileSync(file, `${report}\n`);
  writeFileSync(file.replace(/\.md$/, '.json'), `${JSON.stringify({ ...ctx, ROWS }, null, 1)}\n`);
  console.error(`bench: wrote ${relative(ROOT, file)}`);
}
