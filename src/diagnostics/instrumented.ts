/**
 * One forward + backward of the network that keeps what the diagnostics need: per layer the
 * projections xl and xr, the attention alpha (before attention dropout), and the gradients
 * dL/dalpha, dL/dxr and dL/dxl the tape computes for them.
 *
 * It is the training step's own pass (lossAndGrads, so the same stages, seeds and dropout), with
 * the layer's tap hook (LayerForwardOptions.tap) wrapping each intermediate in an identity whose
 * backward records the gradient reaching it: TF.js cannot differentiate with respect to a tensor
 * made inside the function.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { LayerTapPoint } from '../model/gatv2-layer.js';
import { releaseInputDropout, type ForwardOptions, type NetworkConfig, type NetworkInputs } from '../model/network.js';
import { customOp } from '../ops/custom-op.js';
import { lossAndGrads } from '../model/objective.js';

/** What one layer left behind: forward values and the gradients that reached them (null: none did). */
export interface LayerCapture {
  xl: tf.Tensor2D;
  /** null with share_weights (xr is xl). */
  xr: tf.Tensor2D | null;
  alpha: tf.Tensor2D;
  dxl: tf.Tensor | null;
  dxr: tf.Tensor | null;
  dAlpha: tf.Tensor | null;
}

export interface InstrumentedPass {
  /** Cross-entropy of the pass. */
  loss: tf.Scalar;
  /** d(cross-entropy)/d(parameter) for every parameter. */
  grads: Record<string, tf.Tensor>;
  layers: LayerCapture[];
  dispose(): void;
}

/** Identity whose backward hands a copy of the incoming gradient to onGrad. */
function tap(x: tf.Tensor, onGrad: (dy: tf.Tensor) => void): tf.Tensor {
  return customOp(([t]) => ({
    value: tf.clone(t),
    gradFunc: (dy) => {
      onGrad(tf.keep(tf.clone(dy)));
      return tf.clone(dy);
    },
  }))(x);
}

const GRAD_OF: Record<LayerTapPoint, 'dxl' | 'dxr' | 'dAlpha'> = { xl: 'dxl', xr: 'dxr', alpha: 'dAlpha' };

/**
 * Runs the pass. The caller owns the result (dispose() frees every tensor it holds). Gradients
 * are of the cross-entropy against `targets` alone (no weight decay).
 */
export function instrumentedPass(
  net: NetworkConfig, params: Record<string, tf.Tensor>, inputs: NetworkInputs, targets: tf.Tensor2D, opts: ForwardOptions,
): InstrumentedPass {
  const caps: Partial<LayerCapture>[] = net.layers.map(() => ({}));
  const onTap = (l: number, point: LayerTapPoint, t: tf.Tensor2D): tf.Tensor2D => {
    caps[l][point] = tf.keep(t);
    return tap(t, (d) => (caps[l][GRAD_OF[point]] = d)) as tf.Tensor2D;
  };
  const captured = () => caps.flatMap((c) => [c.xl, c.xr, c.alpha, c.dxl, c.dxr, c.dAlpha]).filter((t): t is tf.Tensor => !!t);
  let r: ReturnType<typeof lossAndGrads>;
  try {
    r = lossAndGrads(net, params, inputs, { targets, weightDecay: 0 }, { ...opts, tap: onTap });
  } catch (err) {
    tf.dispose(captured());
    throw err;
  } finally {
    // The dropped copy of sparse features networkForward keeps for its backward: this pass's
    // gradients are computed, and the next training pass makes its own (a new seed).
    releaseInputDropout(inputs.x);
  }
  const layers: LayerCapture[] = caps.map((c) => ({
    xl: c.xl!, xr: c.xr ?? null, alpha: c.alpha!, dxl: c.dxl ?? null, dxr: c.dxr ?? null, dAlpha: c.dAlpha ?? null,
  }));
  return {
    loss: r.loss,
    grads: r.grads,
    layers,
    dispose() {
      tf.dispose([r.loss, r.objective, ...Object.values(r.grads), ...captured()]);
    },
  };
}
