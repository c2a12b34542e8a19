/**
 * The statistics of the report: medians and ranges over the rounds, a figure's ratio to raw `ws`
 * taken per round (both ran in the same round, under the same load from others), and whether a
 * ratio meets its target or beats another's.
 */
import { BASELINE, WORKLOADS } from './workloads.mjs';

export function median(values) {
  const sorted = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

function range(values) {
  const finite = values.filter((v) => Number.isFinite(v));
  return finite.length ? [Math.min(...finite), Math.max(...finite)] : [NaN, NaN];
}

/**
 * Figures of `serverId` for a row, per round, and the ratio to the baseline in the same round (a
 * paired row's figure is that ratio, measured in turns with a raw `ws` process in one window).
 */
export function rowStats(runs, row, serverId, rounds) {
  const workload = WORKLOADS.find((w) => w.id === row.workload);
  const values = [];
  const ratios = [];
  for (let round = 0; round < rounds; round++) {
    const value = runs[round]?.[row.workload]?.[serverId]?.[row.key];
    const base = runs[round]?.[workload.baseline ?? row.workload]?.[BASELINE]?.[row.key];
    if (value === undefined) continue;
    values.push(value);
    if (row.paired) ratios.push(value);
    else if (Number.isFinite(base) && base !== 0) ratios.push(value / base);
  }
  return {
    median: median(values),
    range: range(values),
    ratio: median(ratios),
    ratioRange: range(ratios),
    n: values.length,
  };
}

export function meets(row, ratio) {
  if (!row.target || !Number.isFinite(ratio)) return undefined;
  const [op, limit] = row.target;
  return op === '>=' ? ratio >= limit : ratio <= limit;
}

/** Whether `a` is better than `b` on this row (by the medians of their ratios). */
export function ahead(row, a, b) {
  if (!Number.isFinite(a) || !Number.isFinite(b)) return undefined;
  return row.better === 'higher' ? a > b : a < b;
}
