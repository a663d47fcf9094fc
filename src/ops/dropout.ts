/**
 * Inverted dropout: x * keep / (1 - p), keep ~ Bernoulli(1 - p) from TF.js's seeded uniform. One
 * rule for input and attention dropout, made of ordinary ops in both gradient modes, so the same
 * seed gives the same mask whatever the mode (and the backend: TF.js draws seeded uniforms on the
 * host).
 */
import * as tf from '@tensorflow/tfjs-core';

export function dropout<T extends tf.Tensor>(x: T, p: number, seed: number | undefined): T {
  const keep = tf.cast(tf.greaterEqual(tf.randomUniform(x.shape, 0, 1, 'float32', seed), p), 'float32');
  return tf.mul(x, tf.mul(keep, 1 / (1 - p))) as T;
}
