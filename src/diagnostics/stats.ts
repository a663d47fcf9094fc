/** Small descriptive statistics for the diagnostics: summaries, histograms, norms. */
import type { DegreeHistogram, Histogram, NormPair, Summary } from '../run/diagnostics-record.js';

/** Quantile q of sorted values, linear interpolation between order statistics. */
function quantileSorted(sorted: Float64Array, q: number): number {
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos), hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

export function summarize(values: ArrayLike<number>): Summary {
  const n = values.length;
  if (n === 0) {
    return { count: 0, mean: null, min: null, q10: null, q25: null, median: null, q75: null, q90: null, max: null };
  }
  const sorted = Float64Array.from(values).sort();
  let sum = 0;
  for (let k = 0; k < n; k++) sum += sorted[k];
  return {
    count: n,
    mean: sum / n,
    min: sorted[0],
    q10: quantileSorted(sorted, 0.1),
    q25: quantileSorted(sorted, 0.25),
    median: quantileSorted(sorted, 0.5),
    q75: quantileSorted(sorted, 0.75),
    q90: quantileSorted(sorted, 0.9),
    max: sorted[n - 1],
  };
}

/** Equal-width bins over [lo, hi]; values outside are clamped into the end bins. */
export function histogram(values: ArrayLike<number>, bins: number, lo: number, hi: number): Histogram {
  const counts = new Array<number>(bins).fill(0);
  const width = (hi - lo) / bins;
  for (let k = 0; k < values.length; k++) {
    const b = Math.floor((values[k] - lo) / width);
    counts[Math.min(bins - 1, Math.max(0, b))]++;
  }
  const edges = Array.from({ length: bins + 1 }, (_, b) => lo + b * width);
  return { edges, counts };
}

/**
 * In-degree histogram with one bin per degree up to 7 (where in-degree 1 and 2 matter for the
 * paper's argument), then power-of-two ranges 8-15, 16-31, ... up to the largest degree.
 */
export function degreeHistogram(deg: Int32Array): DegreeHistogram {
  let max = 0;
  for (const d of deg) max = Math.max(max, d);
  const labels: string[] = [];
  const upper: number[] = [];
  for (let d = 0; d <= Math.min(7, max); d++) {
    labels.push(String(d));
    upper.push(d);
  }
  for (let lo = 8; lo <= max; lo *= 2) {
    labels.push(`${lo}-${2 * lo - 1}`);
    upper.push(2 * lo - 1);
  }
  const counts = new Array<number>(labels.length).fill(0);
  for (const d of deg) {
    let b = 0;
    while (upper[b] < d) b++;
    counts[b]++;
  }
  return { labels, counts };
}

export function sumSquares(a: ArrayLike<number>): number {
  let s = 0;
  for (let k = 0; k < a.length; k++) s += a[k] * a[k];
  return s;
}

export function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let k = 0; k < a.length; k++) m = Math.max(m, Math.abs(a[k]));
  return m;
}

/** max |a - b| / max |b|; 0 when both are all zero. */
export function relDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`relDiff: lengths ${a.length} and ${b.length} differ`);
  let d = 0;
  for (let k = 0; k < a.length; k++) d = Math.max(d, Math.abs(a[k] - b[k]));
  const scale = maxAbs(b);
  return d === 0 ? 0 : d / Math.max(scale, 1e-300);
}

/** Norm pair from sums of squares. */
export function normPair(gradSq: number, weightSq: number): NormPair {
  const grad = Math.sqrt(gradSq), weight = Math.sqrt(weightSq);
  return { grad, weight, ratio: weight > 0 ? grad / weight : null };
}

/** a / b, or null when b is 0. */
export function share(a: number, b: number): number | null {
  return b > 0 ? a / b : null;
}
