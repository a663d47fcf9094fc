/**
 * The checks behind `gatv2 gradcheck`: each produces one row per tensor (output, attention,
 * every parameter gradient, the input gradients) with, per comparison, the max abs and relative
 * error (max|ours - ref| / max|ref|) and whether it is within tolerance. NaN never passes.
 */
import type { GradMode } from '../ops/graph-tensors.js';
import { type Dense64, maxAbsDiff, maxAbs } from './dense.js';
import type { Fixture } from './fixture.js';
import { checkGradsByFiniteDifferences } from './finite-diff.js';
import { runLayer, type LayerResult } from './layer-run.js';
import { randomLayerCase, type RandomLayerOptions } from './random-layer.js';
import { referenceBackward } from './reference.js';

export interface Comparison {
  maxAbs: number;
  rel: number;
  tol: number;
  ok: boolean;
}

export interface CheckRow {
  tensor: string;
  /** Keyed by what is compared, e.g. "analytic vs pyg". */
  comparisons: Record<string, Comparison>;
}

export interface CheckReport {
  /** A fixture file, or a description of the random case. */
  name: string;
  backend: string;
  rows: CheckRow[];
  ok: boolean;
}

export const DEFAULT_TOLERANCE = 1e-5;
/** Fixtures whose scores reach the hundreds: float32 rounding alone moves alpha by ~1e-4. */
export const LARGE_SCORES_TOLERANCE = 1e-3;
export const FINITE_DIFFERENCE_TOLERANCE = 1e-6;

export function toleranceForFixture(file: string): number {
  return /large-scores/.test(file.split('/').pop() ?? file) ? LARGE_SCORES_TOLERANCE : DEFAULT_TOLERANCE;
}

export function compare(ours: Dense64, ref: Dense64, tol: number): Comparison {
  const abs = maxAbsDiff(ours, ref);
  const rel = abs / Math.max(maxAbs(ref), 1e-300);
  return { maxAbs: abs, rel, tol, ok: Number.isFinite(rel) && rel <= tol };
}

function tensorsOf(r: { output: Dense64; alpha: Dense64; grads: Record<string, Dense64> }): Record<string, Dense64> {
  const out: Record<string, Dense64> = { output: r.output, attention: r.alpha };
  for (const [k, v] of Object.entries(r.grads)) out[`grad ${k}`] = v;
  return out;
}

function rowsFrom(named: Record<string, Record<string, Dense64>>, ref: Record<string, Dense64>, tol: number): CheckRow[] {
  return Object.keys(ref).map((tensor) => {
    const comparisons: Record<string, Comparison> = {};
    for (const [label, tensors] of Object.entries(named)) comparisons[label] = compare(tensors[tensor], ref[tensor], tol);
    return { tensor, comparisons };
  });
}

function report(name: string, backend: string, rows: CheckRow[]): CheckReport {
  return { name, backend, rows, ok: rows.every((r) => Object.values(r.comparisons).every((c) => c.ok)) };
}

/** Runs the layer on a fixture in each mode and compares with PyG's numbers. */
export async function checkFixture(fx: Fixture, modes: GradMode[], backend: string): Promise<CheckReport> {
  const ref = tensorsOf({ output: fx.output, alpha: fx.attention.alpha, grads: fx.grads });
  const named: Record<string, Record<string, Dense64>> = {};
  for (const mode of modes) named[`${mode} vs pyg`] = tensorsOf(await runLayer(fx, fx.upstream, mode));
  return report(fx.file, backend, rowsFrom(named, ref, toleranceForFixture(fx.file)));
}

export interface RandomCheckOptions extends RandomLayerOptions {
  /** Finite differences on at most this many entries per tensor. */
  fdEntries?: number;
}

export function describeRandomCase(o: RandomLayerOptions): string {
  const parts = [`random N=${o.numNodes} E=${o.numEdges} F=${o.inChannels} H=${o.heads} C=${o.outChannels}`];
  if (o.isolated) parts.push(`isolated=${o.isolated}`);
  if (o.duplicates) parts.push(`duplicates=${o.duplicates}`);
  if (o.hubInDegree) parts.push(`hub=${o.hubInDegree}`);
  if (o.edgeDim) parts.push(`edge_dim=${o.edgeDim}`);
  if (o.concat === false) parts.push('mean');
  if (o.residual) parts.push('residual');
  if (o.shareWeights) parts.push('share_weights');
  if (o.bias === false) parts.push('no bias');
  if (o.addSelfLoops === false) parts.push('no self loops');
  parts.push(`seed=${o.seed}`);
  return parts.join(' ');
}

/**
 * A random graph and layer: analytic vs autograd (float32, this backend), each vs the float64
 * reference, and the reference vs central finite differences.
 */
export async function checkRandom(opts: RandomCheckOptions, backend: string): Promise<CheckReport> {
  const { input, upstream } = randomLayerCase(opts);
  const ref = referenceBackward(input, upstream);
  const refTensors = tensorsOf({ output: ref.forward.output, alpha: ref.forward.attention.alpha, grads: ref.grads });
  const analytic = tensorsOf(await runLayer(input, upstream, 'analytic'));
  const autograd = tensorsOf(await runLayer(input, upstream, 'autograd'));
  const fd = checkGradsByFiniteDifferences(input, upstream, { maxEntriesPerTensor: opts.fdEntries ?? 64, seed: opts.seed });
  const rows: CheckRow[] = Object.keys(refTensors).map((tensor) => {
    const comparisons: Record<string, Comparison> = {
      'analytic vs autograd': compare(analytic[tensor], autograd[tensor], DEFAULT_TOLERANCE),
      'analytic vs float64': compare(analytic[tensor], refTensors[tensor], DEFAULT_TOLERANCE),
      'autograd vs float64': compare(autograd[tensor], refTensors[tensor], DEFAULT_TOLERANCE),
    };
    const fdRow = fd[tensor.replace(/^grad /, '')];
    if (tensor.startsWith('grad ') && fdRow) {
      const rel = fdRow.rel;
      comparisons['float64 vs finite diff'] = {
        maxAbs: fdRow.maxAbs, rel, tol: FINITE_DIFFERENCE_TOLERANCE, ok: Number.isFinite(rel) && rel <= FINITE_DIFFERENCE_TOLERANCE,
      };
    }
    return { tensor, comparisons };
  });
  return report(describeRandomCase(opts), backend, rows);
}

export type { LayerResult };
