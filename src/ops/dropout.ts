/**
 * Inverted dropout: x * keep / (1 - p), keep ~ Bernoulli(1 - p). One rule for input and attention
 * dropout in both gradient modes, so the same seed gives the same mask whatever the mode and the
 * backend.
 *
 * The mask is a counter-based hash of (seed, element index) computed by the GatV2Dropout kernel
 * where the tensor lives (kernels/dropout-hash.ts: TF.js's seeded uniforms are drawn on the host,
 * seconds per step at ogbn-arxiv's size on a GPU). Nothing is stored: dropout's gradient is the
 * same dropout of dy, and the analytic blocks regenerate masks in their backward.
 *
 * A backend without the kernel (tensorflow, whose kernels are TF ops by name) gets the mask from
 * TF.js's seeded uniforms instead: other masks, the same distribution.
 */
import * as tf from '@tensorflow/tfjs-core';
import { DROPOUT, type DropoutAttrs } from '../../kernels/names.js';
import { hasGatKernel, runGatKernel } from '../../kernels/run-kernel.js';

tf.registerGradient({
  kernelName: DROPOUT,
  gradFunc: (dy, _saved, attrs) => ({
    x: () => runGatKernel(DROPOUT, { x: dy as tf.Tensor }, attrs as unknown as DropoutAttrs),
  }),
});

/**
 * dropout(x) with drop probability p and the mask of `seed` (a uint32; a run derives it from its
 * own seed, src/util/prng.ts, so that every mask can be drawn again: there is no unseeded form).
 */
export function dropout<T extends tf.Tensor>(x: T, p: number, seed: number): T {
  if (!Number.isFinite(seed)) throw new Error(`dropout: the seed must be a number, got ${seed}`);
  if (hasGatKernel(DROPOUT)) return runGatKernel(DROPOUT, { x }, { p, seed: seed >>> 0 }) as T;
  // Each temporary freed as soon as the next one exists: at most two of x's size besides x.
  const keep = tf.tidy(() => {
    const u = tf.randomUniform(x.shape, 0, 1, 'float32', seed);
    const kept = tf.greaterEqual(u, p);
    u.dispose();
    const mask = tf.cast(kept, 'float32');
    kept.dispose();
    const scaled = tf.mul(mask, 1 / (1 - p));
    mask.dispose();
    return scaled;
  });
  const y = tf.mul(x, keep) as T;
  keep.dispose();
  return y;
}
