#!/usr/bin/env node
/**
 * Summarises a V8 CPU profile (`node --cpu-prof`): self and total time per function, the top
 * ones first, so a profile of a bench server can be read without DevTools.
 *
 *   node bench/profile-summary.mjs <file.cpuprofile> [--top 40] [--filter text] [--layers N]
 *
 * Total time counts a function once per sample even when it recurses. With `--layers N` it
 * prints, instead, µs per operation (N operations profiled) by layer: each sample goes to the
 * innermost frame of a known layer on its stack (a wsgate function in dist/, `ws`, Express and
 * its router, Koa), else to Node; idle, GC and (program) stand alone.
 */
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';

const args = process.argv.slice(2);
const file = args.find((a) => !a.startsWith('--'));
const option = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : fallback;
};
if (!file) {
  console.error(
    'usage: node bench/profile-summary.mjs <file.cpuprofile> [--top N] [--filter text]',
  );
  process.exit(2);
}
const top = Number(option('--top', '40'));
const layersOf = option('--layers', undefined);
const filter = option('--filter', undefined);

const profile = JSON.parse(readFileSync(file, 'utf8'));
const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

function name(n) {
  const f = n.callFrame;
  const where = f.url ? relative(process.cwd(), f.url.replace(/^file:\/\//, '')) : '';
  return `${f.functionName || '(anonymous)'} ${where ? `${where}:${f.lineNumber + 1}` : ''}`.trim();
}

// Time per sample: the delta to the next sample.
const deltas = profile.timeDeltas;
const samples = profile.samples;
const selfTime = new Map();
const totalTime = new Map();
let all = 0;
for (let i = 0; i < samples.length; i++) {
  const dt = (deltas[i + 1] ?? 0) / 1000;
  all += dt;
  let id = samples[i];
  const leaf = nodes.get(id);
  selfTime.set(name(leaf), (selfTime.get(name(leaf)) ?? 0) + dt);
  const seen = new Set();
  while (id !== undefined) {
    const key = name(nodes.get(id));
    if (!seen.has(key)) {
      seen.add(key);
      totalTime.set(key, (totalTime.get(key) ?? 0) + dt);
    }
    id = parent.get(id);
  }
}

function table(title, map) {
  console.log(`\n${title} (ms, % of ${all.toFixed(0)} ms sampled)`);
  const rows = [...map.entries()]
    .filter(([k]) => !filter || k.includes(filter))
    .sort((a, b) => b[1] - a[1])
    .slice(0, top);
  for (const [k, v] of rows) {
    console.log(`${v.toFixed(1).padStart(9)} ${((v / all) * 100).toFixed(1).padStart(5)} %  ${k}`);
  }
}

/** The layer a frame belongs to, or undefined (Node and everything else). */
function layer(node) {
  const { url, functionName } = node.callFrame;
  if (url.includes('/node_modules/ws/')) return 'ws';
  if (/\/node_modules\/(express|express4|router|path-to-regexp)\//.test(url)) return 'Express';
  if (/\/node_modules\/(koa|koa-compose|@koa\/router)\//.test(url)) return 'Koa';
  if (url.includes('/dist/') && !url.includes('/node_modules/')) {
    return `wsgate: ${functionName || '(anonymous)'}`;
  }
  return undefined;
}

if (layersOf) {
  const perLayer = new Map();
  for (let i = 0; i < samples.length; i++) {
    const dt = deltas[i + 1] ?? 0;
    const leaf = nodes.get(samples[i]);
    let where = ['(idle)', '(garbage collector)', '(program)'].includes(leaf.callFrame.functionName)
      ? leaf.callFrame.functionName
      : undefined;
    for (let id = samples[i]; where === undefined && id !== undefined; id = parent.get(id)) {
      where = layer(nodes.get(id));
    }
    where ??= 'Node';
    perLayer.set(where, (perLayer.get(where) ?? 0) + dt);
  }
  console.log(`µs per operation by layer (${layersOf} operations)`);
  for (const [where, us] of [...perLayer].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    console.log(`${(us / Number(layersOf)).toFixed(1).padStart(8)}  ${where}`);
  }
} else {
  table('self time', selfTime);
  table('total time', totalTime);
}
