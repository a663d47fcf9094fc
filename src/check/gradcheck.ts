/**
 * The checks behind `gatv2 gradcheck`: each produces one row per tensor (output, attention,
 * every parameter gradient, the input gradients) with, per comparison, the max abs difference and
 * the worst per-element relative error (src/util/rel-error.ts: |ours - ref| over the sum of the
 * absolute terms that make the element, from src/check/reference-magnitude.ts), where it is, and
 * whether it is within tolerance. NaN never passes.
 */
import type { GradMode } from '../ops/graph-tensors.js';
import { formatIndex, worstElementError } from '../util/rel-error.js';
import { type Dense64, maxAbsDiff } from './dense.js';
import type { Fixture } from './fixture.js';
import { checkGradsByFiniteDifferences } from './finite-diff.js';
import { runLayer, type LayerResult } from './layer-run.js';
import { randomLayerCase, type RandomLayerOptions } from './random-layer.js';
import { referenceBackward, type ReferenceInput } from './reference.js';
import { referenceMagnitudes } from './reference-magnitude.js';

export interface Comparison {
  maxAbs: number;
  /** The worst per-element relative error. */
  rel: number;
  /** Where it is, "[row,col]" in the tensor's shape ("-" when every element agrees exactly). */
  at: string;
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

/**
 * Float32 (analytic or autograd) against float64 or each other, per element relative to its terms'
 * magnitude. Float32's unit roundoff is 6e-8; a sum of n terms can carry up to n of them, typically
 * sqrt(n). Measured worst, cpu and wasm: 5.2e-7 (attention at a hub of 500 in-edges, 8 heads),
 * 1.5e-7 for gradients (trained Cora layers), 1.0e-7 on the PyG fixtures (large scores included).
 * 1e-5 leaves a factor of 20 for other graphs and backends, and is still 170 roundoffs.
 */
export const DEFAULT_TOLERANCE = 1e-5;
/**
 * The float64 reference against central finite differences, per element relative to the
 * gradient's magnitude plus the difference's own rounding (finiteDifferenceMagnitudes): both are
 * float64, so what is left is truncation (eps^2) and a step that nears a kink. Measured worst:
 * 3.5e-8 (random cases, hub of 500 included).
 */
export const FINITE_DIFFERENCE_TOLERANCE = 1e-6;

/** One comparison: `magnitude` holds, per element, the scale its error is measured against. */
export function compare(ours: Dense64, ref: Dense64, magnitude: Dense64, tol: number): Comparison {
  const abs = maxAbsDiff(ours, ref);
  const worst = worstElementError(ours.data, ref.data, magnitude.data);
  return { maxAbs: abs, rel: worst.value, at: formatIndex(worst.index, ref.shape), tol, ok: Number.isFinite(worst.value) && worst.value <= tol };
}

/** output, attention and "grad NAME" for every gradient, as the rows are named. */
export function tensorsOf(r: { output: Dense64; alpha: Dense64; grads: Record<string, Dense64> }): Record<string, Dense64> {
  const out: Record<string, Dense64> = { output: r.output, attention: r.alpha };
  for (const [k, v] of Object.entries(r.grads)) out[`grad ${k}`] = v;
  return out;
}

/** The reference's tensors and, under the same names, their magnitudes. */
export function referenceTensors(input: ReferenceInput, upstream: Dense64): { ref: Record<string, Dense64>; mag: Record<string, Dense64> } {
  const r = referenceBackward(input, upstream);
  const m = referenceMagnitudes(input, upstream);
  return {
    ref: tensorsOf({ output: r.forward.output, alpha: r.forward.attention.alpha, grads: r.grads }),
    mag: tensorsOf(m),
  };
}

function report(name: string, backend: string, rows: CheckRow[]): CheckReport {
  return { name, backend, rows, ok: rows.every((r) => Object.values(r.comparisons).every((c) => c.ok)) };
}

/**
 * Runs the layer on a fixture in each mode and compares with PyG's numbers, each element against
 * the magnitude of its terms (the fixture is a complete layer input, so the reference has them).
 */
export async function checkFixture(fx: Fixture, modes: GradMode[], backend: string): Promise<CheckReport> {
  const ref = tensorsOf({ output: fx.output, alpha: fx.attention.alpha, grads: fx.grads });
  const mag = tensorsOf(referenceMagnitudes(fx, fx.upstream));
  const named: Record<string, Record<string, Dense64>> = {};
  for (const mode of modes) named[`${mode} vs pyg`] = tensorsOf(await runLayer(fx, fx.upstream, mode));
  const rows = Object.keys(ref).map((tensor) => {
    const comparisons: Record<string, Comparison> = {};
    for (const [label, tensors] of Object.entries(named)) comparisons[label] = compare(tensors[tensor]!, ref[tensor]!, mag[tensor]!, DEFAULT_TOLERANCE);
    return { tensor, comparisons };
  });
  return report(fx.file, backend, rows);
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
 * reference, and the reference vs central finite differences. Analytic vs autograd are two float32
 * evaluations of the same terms, so they are measured against the same magnitudes.
 */
export async function checkRandom(opts: RandomCheckOptions, backend: string): Promise<CheckReport> {
  const { input, upstream } = randomLayerCase(opts);
  const { ref, mag } = referenceTensors(input, upstream);
  const analytic = tensorsOf(await runLayer(input, upstream, 'analytic'));
  const autograd = tensorsOf(await runLayer(input, upstream, 'autograd'));
  const fd = checkGradsByFiniteDifferences(input, upstream, { maxEntriesPerTensor: opts.fdEntries ?? 64, seed: opts.seed });
  const rows: CheckRow[] = Object.keys(ref).map((tensor) => {
    const comparisons: Record<string, Comparison> = {
      'analytic vs autograd': compare(analytic[tensor]!, autograd[tensor]!, mag[tensor]!, DEFAULT_TOLERANCE),
      'analytic vs float64': compare(analytic[tensor]!, ref[tensor]!, mag[tensor]!, DEFAULT_TOLERANCE),
      'autograd vs float64': compare(autograd[tensor]!, ref[tensor]!, mag[tensor]!, DEFAULT_TOLERANCE),
    };
    const fdRow = fd[tensor.replace(/^grad /, '')];
    if (tensor.startsWith('grad ') && fdRow) {
      const rel = fdRow.rel;
      comparisons['float64 vs finite diff'] = {
        maxAbs: fdRow.maxAbs, rel, at: formatIndex(fdRow.at, ref[tensor]!.shape), tol: FINITE_DIFFERENCE_TOLERANCE,
        ok: Number.isFinite(rel) && rel <= FINITE_DIFFERENCE_TOLERANCE,
      };
    }
    return { tensor, comparisons };
  });
  return report(describeRandomCase(opts), backend, rows);
}

export type { LayerResult };
