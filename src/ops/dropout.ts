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
import { DROPOUT } from '../../kernels/names.js';

tf.registerGradient({
  kernelName: DROPOUT,
  gradFunc: (dy, _saved, attrs) => ({
    x: () => tf.engine().runKernel(DROPOUT, { x: dy as tf.Tensor }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor,
  }),
});

export function dropout<T extends tf.Tensor>(x: T, p: number, seed: number | undefined): T {
  const s = seed ?? Math.floor(Math.random() * 4294967296);
  if (tf.getKernel(DROPOUT, tf.getBackend())) {
    return tf.engine().runKernel(DROPOUT, { x }, { p, seed: s >>> 0 }) as T;
  }
  // Each temporary freed as soon as the next one exists: at most two of x's size besides x.
  const keep = tf.tidy(() => {
    const u = tf.randomUniform(x.shape, 0, 1, 'float32', s);
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
