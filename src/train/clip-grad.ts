/**
 * `--clip-norm`: torch.nn.utils.clip_grad_norm_ over all parameters at once. The global L2 norm
 * is the norm of every gradient entry of every parameter; when it exceeds maxNorm, every gradient
 * is multiplied by maxNorm / (norm + 1e-6) (torch's coefficient, eps included). Below it the
 * gradients are returned as they are (torch multiplies by a coefficient clamped to 1: the same
 * numbers). Weight decay is added by the optimizer afterwards, as in torch, so it is not clipped.
 */
import * as tf from '@tensorflow/tfjs-core';

export interface ClippedGrads {
  grads: Record<string, tf.Tensor>;
  /** The global norm before clipping. */
  norm: number;
  clipped: boolean;
}

/** Global L2 norm of the gradients (accumulated in float32 on the backend, then read back). */
export async function globalGradNorm(grads: Record<string, tf.Tensor>): Promise<number> {
  // Pairwise adds, not addN: WebGPU binds every input of AddN at once (see loss.ts l2Penalty).
  const sq = tf.tidy(() => Object.values(grads).map((g) => tf.sum(tf.square(g))).reduce((a, b) => tf.add(a, b)));
  const v = (await sq.data())[0];
  sq.dispose();
  return Math.sqrt(v);
}

/**
 * Clipped copies of the gradients when their norm exceeds maxNorm (the inputs are then disposed),
 * else the inputs themselves.
 */
export async function clipGradNorm(grads: Record<string, tf.Tensor>, maxNorm: number): Promise<ClippedGrads> {
  const norm = await globalGradNorm(grads);
  if (!(norm > maxNorm)) return { grads, norm, clipped: false };
  const coef = maxNorm / (norm + 1e-6);
  const out: Record<string, tf.Tensor> = {};
  for (const [name, g] of Object.entries(grads)) {
    out[name] = tf.mul(g, coef);
    g.dispose();
  }
  return { grads: out, norm, clipped: true };
}
