/**
 * One gradient evaluation of the training objective, in either gradient mode, and the comparison
 * of the two modes on the same weights and the same dropout masks (same seed).
 */
import * as tf from '@tensorflow/tfjs-core';
import { maxRelError } from '../util/rel-error.js';
import { networkForward, type ForwardOptions, type NetworkConfig, type NetworkInputs } from './network.js';
import type { GradMode } from '../ops/graph-tensors.js';
import { crossEntropy, l2Penalty } from './loss.js';
import { checkAutogradFits } from './autograd-memory.js';

export interface Objective {
  /** splitTargets of the nodes the loss is taken over. */
  targets: tf.Tensor2D;
  weightDecay: number;
}

/** A type alias, not an interface, so that tf.tidy accepts it as a TensorContainer. */
export type LossAndGrads = {
  /** Cross-entropy alone (what progress reports), a scalar. */
  loss: tf.Scalar;
  /** Cross-entropy + L2 term: what the gradients are of. */
  objective: tf.Scalar;
  grads: Record<string, tf.Tensor>;
};

/** Gradients of the objective w.r.t. every parameter. Call inside tf.tidy (or dispose the result). */
export function lossAndGrads(
  net: NetworkConfig, params: Record<string, tf.Tensor>, inputs: NetworkInputs, obj: Objective, opts: ForwardOptions,
): LossAndGrads {
  // Refused before the step, not by "memory access out of bounds" in its middle.
  if (opts.mode === 'autograd') checkAutogradFits(net, inputs.graph.layout.numEdges, 'autograd');
  const names = Object.keys(params);
  let loss: tf.Scalar | null = null;
  const f = (...xs: tf.Tensor[]): tf.Scalar => {
    const p: Record<string, tf.Tensor> = {};
    names.forEach((n, k) => (p[n] = xs[k]));
    const ce = crossEntropy(networkForward(net, p, inputs, opts).logits, obj.targets);
    // Kept past tf.grads' forward tidy, which disposes everything but the returned value.
    loss = tf.keep(ce);
    return obj.weightDecay > 0 ? tf.add(ce, l2Penalty(xs, obj.weightDecay)) : ce;
  };
  const { value, grads } = tf.valueAndGrads(f)(names.map((n) => params[n]));
  const out: Record<string, tf.Tensor> = {};
  names.forEach((n, k) => (out[n] = grads[k]));
  return { loss: loss!, objective: value as tf.Scalar, grads: out };
}

export interface ModeComparison {
  /** Per parameter: max |analytic - autograd| / max |autograd| (src/util/rel-error.ts). */
  relDiff: Record<string, number>;
  /** The largest of relDiff, and its parameter. */
  worst: { param: string; relDiff: number };
  /** Objective (cross-entropy + L2) in each mode. */
  objective: Record<GradMode, number>;
}

/** Host copies of gradients, keyed by parameter. */
export type HostGrads = Record<string, { shape: number[]; values: Float32Array }>;

export async function toHost(grads: Record<string, tf.Tensor>): Promise<HostGrads> {
  const out: HostGrads = {};
  for (const [n, g] of Object.entries(grads)) out[n] = { shape: g.shape, values: (await g.data()) as Float32Array };
  return out;
}

export function compareGrads(analytic: HostGrads, autograd: HostGrads): Pick<ModeComparison, 'relDiff' | 'worst'> {
  const relDiff: Record<string, number> = {};
  let worst = { param: '', relDiff: -Infinity };
  for (const [n, a] of Object.entries(analytic)) {
    const b = autograd[n];
    const r = maxRelError(a.values, b.values);
    relDiff[n] = r;
    if (!(r <= worst.relDiff)) worst = { param: n, relDiff: r };
  }
  return { relDiff, worst };
}

/**
 * Gradients in both modes on the same weights and masks (opts.seed), compared. `already` reuses a
 * gradient the caller has computed in one mode (the training step's), so only the other is added.
 */
export async function compareModes(
  net: NetworkConfig, params: Record<string, tf.Tensor>, inputs: NetworkInputs, obj: Objective,
  opts: Omit<ForwardOptions, 'mode'>, already?: { mode: GradMode; grads: HostGrads; objective: number },
): Promise<ModeComparison & { grads: Record<GradMode, HostGrads> }> {
  const grads = {} as Record<GradMode, HostGrads>;
  const objective = {} as Record<GradMode, number>;
  if (already) {
    grads[already.mode] = already.grads;
    objective[already.mode] = already.objective;
  }
  for (const mode of ['analytic', 'autograd'] as const) {
    if (grads[mode]) continue;
    const r = lossAndGrads(net, params, inputs, obj, { ...opts, mode });
    grads[mode] = await toHost(r.grads);
    objective[mode] = (await r.objective.data())[0];
    tf.dispose([r.loss, r.objective, ...Object.values(r.grads)]);
  }
  return { ...compareGrads(grads.analytic, grads.autograd), objective, grads };
}
