/**
 * SOFTMAX stage (gradients.md eq. 2): alpha_k = exp(e_k - m_i) / sum_{k' -> i} exp(e_k' - m_i),
 * over each destination's incoming edges (contiguous in CSR order), per head. e, alpha: [E, H].
 */
import * as tf from '@tensorflow/tfjs-core';
import { SEGMENT_MAX, SEGMENT_SOFTMAX, SEGMENT_SOFTMAX_GRAD } from '../../kernels/names.js';
import { customOp } from './custom-op.js';
import type { GraphTensors } from './graph-tensors.js';

/** Analytic op; backward dE = alpha (dAlpha - sum_row alpha dAlpha) (gradients.md "Softmax stage"). */
export function softmaxAnalytic(e: tf.Tensor2D, g: GraphTensors): tf.Tensor2D {
  const op = customOp(([eT], save) => {
    const alpha = tf.engine().runKernel(SEGMENT_SOFTMAX, { e: eT, rowPtr: g.rowPtr }) as tf.Tensor;
    save([alpha]);
    return {
      value: alpha,
      gradFunc: (dAlpha, [savedAlpha]) =>
        tf.engine().runKernel(SEGMENT_SOFTMAX_GRAD, { alpha: savedAlpha, dAlpha, rowPtr: g.rowPtr }) as tf.Tensor,
    };
  });
  return op(e) as tf.Tensor2D;
}

/**
 * The per-destination max, treated as a constant: the softmax is invariant to the shift, so its
 * exact gradient contribution is zero. TF.js has no segment max and no stopGradient, hence the
 * customGrad returning zeros.
 */
function segmentMaxConstant(e: tf.Tensor2D, g: GraphTensors): tf.Tensor2D {
  const op = customOp(([eT], save) => {
    save([eT]);
    return {
      value: tf.engine().runKernel(SEGMENT_MAX, { e: eT, rowPtr: g.rowPtr }) as tf.Tensor,
      gradFunc: (_dy, [savedE]) => tf.zerosLike(savedE),
    };
  });
  return op(e) as tf.Tensor2D;
}

/** Autograd twin: shift, exp, segment sum by destination, gather back, divide. */
export function softmaxAutograd(e: tf.Tensor2D, g: GraphTensors): tf.Tensor2D {
  return tf.tidy(() => {
    const N = g.layout.numNodes;
    const m = segmentMaxConstant(e, g);
    const ex = tf.exp(tf.sub(e, tf.gather(m, g.csrDst)));
    const denom = tf.unsortedSegmentSum(ex, g.csrDst, N);
    return tf.div(ex, tf.gather(denom, g.csrDst)) as tf.Tensor2D;
  });
}
