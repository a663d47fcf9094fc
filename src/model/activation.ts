/**
 * The nonlinearity between GATv2 layers, h = act(y), and its derivative for the block's analytic
 * backward (gradients.md leaves it to the caller: it sits outside the three stages).
 */
import * as tf from '@tensorflow/tfjs-core';
import { EluGrad, type EluGradInputs } from '@tensorflow/tfjs-core';

export type Activation = 'elu' | 'relu' | 'identity';
export const ACTIVATIONS: Activation[] = ['elu', 'relu', 'identity'];

/** The nonlinearity between layers (both paths of networkForward); null or identity: y itself. */
export function activate(y: tf.Tensor2D, a: Activation | null): tf.Tensor2D {
  if (a === 'elu') return tf.elu(y);
  if (a === 'relu') return tf.relu(y);
  return y;
}

/** dL/dy from dL/dh and the output h = act(y). */
export function activationGrad(dh: tf.Tensor2D, h: tf.Tensor2D | undefined, a: Activation | null): tf.Tensor2D {
  // ELU: h' = 1 where y > 0 (there h > 0) and exp(y) = h + 1 elsewhere: TF.js's EluGrad kernel
  // (dh where h >= 0, dh * (h + 1) below), one pass on every backend instead of min, add, mul.
  if (a === 'elu') {
    const inputs: EluGradInputs = { dy: dh, y: h! };
    return tf.engine().runKernel(EluGrad, inputs as unknown as tf.NamedTensorMap) as tf.Tensor2D;
  }
  if (a === 'relu') {
    // Temporaries are freed as they are made (this runs where memory is tightest).
    const f = tf.step(h!);
    const r = tf.mul(dh, f) as tf.Tensor2D;
    f.dispose();
    return r;
  }
  return dh;
}
