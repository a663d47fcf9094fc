/**
 * Which transform features get before the network sees them, and applying it. `auto` (the default)
 * row-normalises non-negative features (the GAT recipe, made for bag-of-words counts). Features
 * with negative values are never divided by their row sums, which blows up rows summing to nearly
 * zero and flips the sign of rows summing below zero: dense ones are standardised per column
 * (measured on planted signed datasets, 3 seeds each: columns on scales 0.1..10, 100% against 59.6%
 * left as they are; principal-component-like scales, 99.8% against 59.8%; unit scales, 100% both),
 * sparse ones are left as they are (centring would fill in every zero). The resolved choice (with
 * the column statistics of `standardize`) is saved in the checkpoint so evaluate, predict, diagnose
 * and gradcheck transform their inputs exactly as training did.
 */
import type { DenseFeatures, SparseFeatures } from './dataset.js';
import { rowNormalize, toDense } from './normalize.js';

export const NORMALIZE_MODES = ['auto', 'row', 'none', 'standardize'] as const;
export type NormalizeMode = (typeof NORMALIZE_MODES)[number];

/** A resolved transform, as saved in a checkpoint. */
export type FeatureNormalization =
  | { mode: 'row' }
  | { mode: 'none' }
  /** Per column: (x - mean) / std, with the training data's statistics (std 1 for a constant column). */
  | { mode: 'standardize'; mean: number[]; std: number[] };

export interface NormalizationChoice {
  normalization: FeatureNormalization;
  /** One line for the user: what was chosen and why. */
  reason: string;
}

/**
 * The mode a config value asks for. Older config.json files hold a boolean (true: row, false:
 * none); a run resumed from one keeps the transform it started with.
 */
export function requestedMode(value: boolean | string | undefined): NormalizeMode {
  if (value === undefined) return 'auto';
  if (value === true) return 'row';
  if (value === false) return 'none';
  return value as NormalizeMode;
}

/** The transform a checkpoint's model config records; checkpoints without the field were row-normalised or not by a boolean. */
export function savedNormalization(mc: { normalizeFeatures: boolean; featureNormalization?: FeatureNormalization }): FeatureNormalization {
  return mc.featureNormalization ?? { mode: mc.normalizeFeatures ? 'row' : 'none' };
}

/**
 * What the choice of a transform needs to know of the features: negative and all stored values
 * (sparse: non-zeros; dense: N*F), and each column's sum and sum of squares in float64. Built by
 * one pass over the rows in node order, whole or in chunks (a store read from its files), with
 * the same sums either way.
 */
export interface FeatureScan {
  kind: 'sparse' | 'dense';
  numNodes: number;
  numFeatures: number;
  negative: number;
  total: number;
  sum: Float64Array;
  sumSq: Float64Array;
}

export function newFeatureScan(kind: 'sparse' | 'dense', numFeatures: number): FeatureScan {
  return { kind, numNodes: 0, numFeatures, negative: 0, total: 0, sum: new Float64Array(numFeatures), sumSq: new Float64Array(numFeatures) };
}

/** Adds the next rows (in node order) to a scan. */
export function scanRows(scan: FeatureScan, f: SparseFeatures | DenseFeatures): FeatureScan {
  const F = f.numFeatures;
  for (let p = 0; p < f.values.length; p++) {
    const v = f.values[p];
    if (v < 0) scan.negative++;
    const j = f.kind === 'sparse' ? f.colIdx[p] : p % F;
    scan.sum[j] += v;
    scan.sumSq[j] += v * v;
  }
  scan.total += f.values.length;
  scan.numNodes += f.numNodes;
  return scan;
}

const share = (a: number, b: number): string => `${a} of ${b} values (${((100 * a) / b).toPrecision(2)}%)`;

export function chooseNormalization(f: SparseFeatures | DenseFeatures, requested: NormalizeMode): NormalizationChoice {
  return chooseFromScan(scanRows(newFeatureScan(f.kind, f.numFeatures), f), requested);
}

/** The transform `requested` resolves to on features described by `scan`, and why. */
export function chooseFromScan(scan: FeatureScan, requested: NormalizeMode): NormalizationChoice {
  const { negative, total } = scan;
  switch (requested) {
    case 'auto':
      if (negative === 0) {
        return {
          normalization: { mode: 'row' },
          reason: 'features: row-normalised (--normalize-features auto: no value is negative, so each row is divided by its sum, the GAT recipe)',
        };
      }
      if (scan.kind === 'dense') {
        return {
          normalization: { mode: 'standardize', ...statsOf(scan) },
          reason:
            `features: standardised per column to mean 0 and standard deviation 1 (--normalize-features auto: ${share(negative, total)} are negative, ` +
            'and dividing a signed row by its sum blows up rows summing near zero; --normalize-features none|row to override)',
        };
      }
      return {
        normalization: { mode: 'none' },
        reason:
          `features: left as they are (--normalize-features auto: ${share(negative, total)} are negative, ` +
          'and dividing a signed row by its sum blows up rows summing near zero; standardising would fill in every zero of these sparse features; --normalize-features row|standardize to override)',
      };
    case 'row':
      return {
        normalization: { mode: 'row' },
        reason:
          negative === 0
            ? 'features: row-normalised (--normalize-features row)'
            : `features: row-normalised as asked (--normalize-features row), although ${share(negative, total)} are negative: rows summing near zero blow up`,
      };
    case 'none':
      return { normalization: { mode: 'none' }, reason: 'features: left as they are (--normalize-features none)' };
    case 'standardize':
      return {
        normalization: { mode: 'standardize', ...statsOf(scan) },
        reason: `features: standardised per column to mean 0 and standard deviation 1 over all ${scan.numNodes} nodes (--normalize-features standardize)`,
      };
  }
}

/** Mean and population standard deviation of each column over all nodes, in float64. */
export function columnStats(f: SparseFeatures | DenseFeatures): { mean: number[]; std: number[] } {
  return statsOf(scanRows(newFeatureScan(f.kind, f.numFeatures), f));
}

function statsOf(scan: FeatureScan): { mean: number[]; std: number[] } {
  const n = scan.numNodes;
  const mean: number[] = [];
  const std: number[] = [];
  for (let j = 0; j < scan.numFeatures; j++) {
    const m = scan.sum[j] / n;
    const s = Math.sqrt(Math.max(0, scan.sumSq[j] / n - m * m));
    mean.push(m);
    // A constant column is only centred: dividing by 0 (or by rounding noise) would invent values.
    std.push(s > 1e-12 * Math.max(1, Math.abs(m)) ? s : 1);
  }
  return { mean, std };
}

/** The features transformed as `n` says; the input is left untouched. */
export function applyNormalization(
  f: SparseFeatures | DenseFeatures, n: FeatureNormalization, o: { inPlace?: boolean } = {},
): SparseFeatures | DenseFeatures {
  if (n.mode === 'none') return f;
  // In place (dense rows the caller owns, such as rows just read from a store): no second copy.
  const reuse = o.inPlace === true && f.kind === 'dense';
  if (n.mode === 'row') return f.kind === 'dense' ? rowNormalize(f, reuse ? f.values : undefined) : rowNormalize(f);
  // Centring fills every zero, so sparse features become dense.
  const d = toDense(f);
  const F = d.numFeatures;
  const values = reuse ? d.values : new Float32Array(d.values.length);
  for (let i = 0; i < d.numNodes; i++) {
    for (let j = 0; j < F; j++) values[i * F + j] = (d.values[i * F + j] - n.mean[j]) / n.std[j];
  }
  return { kind: 'dense', numNodes: d.numNodes, numFeatures: F, values };
}
