/**
 * AGGREGATION stage (gradients.md eq. 3): out_i = sum_{k: j -> i} alpha_k xl[j], per head.
 * alpha [E, H] in CSR order, xl and out [N, H*C]. aggregateForward and aggregateBackward serve the
 * stage op, the fused layer block and the diagnostics alike (see src/ops/score.ts).
 */
import * as tf from '@tensorflow/tfjs-core';
import { GAT_AGGREGATE, GAT_AGGREGATE_GRAD } from '../../kernels/names.js';
import { runGatKernel } from '../../kernels/run-kernel.js';
import { customOp } from './custom-op.js';
import type { GraphTensors } from './graph-tensors.js';

export interface AggregateShape {
  heads: number;
  channels: number;
}

function aggregateAttrs(s: AggregateShape) {
  return { heads: s.heads, channels: s.channels };
}

/** out [N, H*C] (gradients.md eq. 3). `alpha` is the attention the messages are weighted by. */
export function aggregateForward(alpha: tf.Tensor, xl: tf.Tensor, g: GraphTensors, s: AggregateShape): tf.Tensor2D {
  return runGatKernel(
    GAT_AGGREGATE, { alpha, xl, rowPtr: g.rowPtr, csrSrc: g.csrSrc }, aggregateAttrs(s)) as tf.Tensor2D;
}

/**
 * The aggregation stage's backward (gradients.md "Backward", aggregation stage), given
 * dOut = dL/dout [N, H*C]: dAlpha_k = A_k = <dOut_i, xl[j]> per head, and the message path's
 * dxl[j] = sum_{k: j -> i} alpha_k dOut_i. `alpha` is the one the forward weighted by (after
 * attention dropout, where there is any). Returns [dAlpha [E, H], dxl [N, H*C]].
 */
export function aggregateBackward(
  alpha: tf.Tensor, xl: tf.Tensor, dOut: tf.Tensor, g: GraphTensors, s: AggregateShape,
): [tf.Tensor2D, tf.Tensor2D] {
  return runGatKernel(GAT_AGGREGATE_GRAD, {
    alpha, xl, dOut, rowPtr: g.rowPtr, csrSrc: g.csrSrc, csrDst: g.csrDst, srcPtr: g.srcPtr, srcOrder: g.srcOrder,
  }, aggregateAttrs(s)) as [tf.Tensor2D, tf.Tensor2D];
}

/** Analytic op: aggregateForward with aggregateBackward as its gradient. */
export function aggregateAnalytic(alpha: tf.Tensor2D, xl: tf.Tensor2D, g: GraphTensors, s: AggregateShape): tf.Tensor2D {
  const op = customOp(([alphaT, xlT], save) => {
    save([alphaT, xlT]);
    return {
      value: aggregateForward(alphaT, xlT, g, s),
      gradFunc: (dOut, [a, x]) => aggregateBackward(a, x, dOut, g, s),
    };
  });
  return op(alpha, xl) as tf.Tensor2D;
}

/** Autograd twin: gather messages (E x H x C), weight by alpha, segment sum by destination. */
export function aggregateAutograd(alpha: tf.Tensor2D, xl: tf.Tensor2D, g: GraphTensors, s: AggregateShape): tf.Tensor2D {
  return tf.tidy(() => {
    const E = g.layout.numEdges;
    const msg = tf.reshape(tf.gather(xl, g.csrSrc), [E, s.heads, s.channels]);
    const weighted = tf.reshape(tf.mul(msg, tf.reshape(alpha, [E, s.heads, 1])), [E, s.heads * s.channels]);
    return tf.unsortedSegmentSum(weighted, g.csrDst, g.layout.numNodes) as tf.Tensor2D;
  });
}
