/**
 * AGGREGATION stage (gradients.md eq. 3): out_i = sum_{k: j -> i} alpha_k xl[j], per head.
 * alpha [E, H] in CSR order, xl and out [N, H*C].
 */
import * as tf from '@tensorflow/tfjs-core';
import { GAT_AGGREGATE, GAT_AGGREGATE_GRAD } from '../../kernels/names.js';
import { customOp } from './custom-op.js';
import type { GraphTensors } from './graph-tensors.js';

export interface AggregateShape {
  heads: number;
  channels: number;
}

/** Analytic op; backward A_k = <G_i, xl[j]> and dxl[j] = sum alpha_k G_i (gradients.md). */
export function aggregateAnalytic(alpha: tf.Tensor2D, xl: tf.Tensor2D, g: GraphTensors, s: AggregateShape): tf.Tensor2D {
  const attrs = { heads: s.heads, channels: s.channels };
  const op = customOp(([alphaT, xlT], save) => {
    save([alphaT, xlT]);
    const value = tf.engine().runKernel(
      GAT_AGGREGATE, { alpha: alphaT, xl: xlT, rowPtr: g.rowPtr, csrSrc: g.csrSrc }, attrs) as tf.Tensor;
    return {
      value,
      gradFunc: (dOut, [a, x]) =>
        tf.engine().runKernel(GAT_AGGREGATE_GRAD, {
          alpha: a, xl: x, dOut, rowPtr: g.rowPtr, csrSrc: g.csrSrc, csrDst: g.csrDst,
          srcPtr: g.srcPtr, srcOrder: g.srcOrder,
        }, attrs) as tf.Tensor[],
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
