#!/usr/bin/env node
/**
 * Compares two V8 heap snapshots (`bench/run.mjs --heap-snapshot` writes one before and one after
 * opening the idle connections): what was added, per connection, grouped by kind and constructor
 * or function name, by shallow size.
 *
 *   node --max-old-space-size=4096 bench/heap-summary.mjs <before> <after> <connections> [--top 40]
 */
import { readFileSync } from 'node:fs';

const args = process.argv.slice(2);
const [before, after, conns] = args.filter((a) => !a.startsWith('--'));
const topIndex = args.indexOf('--top');
const top = topIndex >= 0 ? Number(args[topIndex + 1]) : 40;
if (!before || !after || !conns) {
  console.error(
    'usage: node bench/heap-summary.mjs <before.heapsnapshot> <after.heapsnapshot> <connections>',
  );
  process.exit(2);
}

function groups(file) {
  const snapshot = JSON.parse(readFileSync(file, 'utf8'));
  const meta = snapshot.snapshot.meta;
  const fields = meta.node_fields;
  const types = meta.node_types[0];
  const width = fields.length;
  const typeAt = fields.indexOf('type');
  const nameAt = fields.indexOf('name');
  const sizeAt = fields.indexOf('self_size');
  const { nodes, strings } = snapshot;
  const result = new Map();
  for (let i = 0; i < nodes.length; i += width) {
    const type = types[nodes[i + typeAt]];
    let name = strings[nodes[i + nameAt]];
    // Strings, numbers and arrays by kind only; objects and closures by constructor / function.
    if (type === 'string' || type === 'concatenated string' || type === 'sliced string') {
      name = '';
    } else if (type === 'number' || type === 'array') {
      name = name.startsWith('(') ? name : '';
    } else if (name.length > 80) {
      name = `${name.slice(0, 77)}...`;
    }
    const key = `${type}\t${name}`;
    const entry = result.get(key) ?? { count: 0, size: 0 };
    entry.count++;
    entry.size += nodes[i + sizeAt];
    result.set(key, entry);
  }
  return result;
}

const a = groups(before);
const b = groups(after);
const n = Number(conns);
const rows = [];
let total = 0;
for (const [key, entry] of b) {
  const base = a.get(key) ?? { count: 0, size: 0 };
  const size = entry.size - base.size;
  const count = entry.count - base.count;
  total += size;
  if (size > 0 || count > 0) rows.push({ key, size, count });
}
rows.sort((x, y) => y.size - x.size);
console.log(
  `heap growth: ${(total / 1024).toFixed(0)} KiB, ${(total / n).toFixed(0)} B per connection`,
);
console.log('   B/conn  objs/conn  kind / constructor or function');
for (const row of rows.slice(0, top)) {
  const [type, name] = row.key.split('\t');
  console.log(
    `${(row.size / n).toFixed(0).padStart(9)} ${(row.count / n).toFixed(2).padStart(10)}  ${type}${name ? ` ${name}` : ''}`,
  );
}
