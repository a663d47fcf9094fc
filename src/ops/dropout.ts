/**
 * Inverted dropout: x * keep / (1 - p), keep ~ Bernoulli(1 - p) from TF.js's seeded uniform. One
 * rule for input and attention dropout, made of ordinary ops in both gradient modes, so the same
 * seed gives the same mask whatever the mode (and the backend: TF.js draws seeded uniforms on the
 * host).
 *
 * Each temporary of the mask is freed as soon as the next one exists, so building the mask holds
 * at most two tensors of x's size besides x (the analytic backward regenerates masks from their
 * seeds, at the point where memory is tightest). In a taped forward the product keeps the mask
 * alive through its saved copy.
 */
import * as tf from '@tensorflow/tfjs-core';

export function dropout<T extends tf.Tensor>(x: T, p: number, seed: number | undefined): T {
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
