/**
 * SOFTMAX stage (gradients.md eq. 2): alpha_k = exp(e_k - m_i) / sum_{k' -> i} exp(e_k' - m_i),
 * over each destination's incoming edges (contiguous in CSR order), per head. e, alpha: [E, H].
 * softmaxForward and softmaxBackward serve the stage op, the fused layer block and the
 * diagnostics' gradient flow alike (see src/ops/score.ts).
 */
import * as tf from '@tensorflow/tfjs-core';
import { SEGMENT_MAX, SEGMENT_SOFTMAX, SEGMENT_SOFTMAX_GRAD } from '../../kernels/names.js';
import { runGatKernel } from '../../kernels/run-kernel.js';
import { customOp } from './custom-op.js';
import type { GraphTensors } from './graph-tensors.js';

/** alpha [E, H] (gradients.md eq. 2), each destination's row max subtracted first. */
export function softmaxForward(e: tf.Tensor, g: GraphTensors): tf.Tensor2D {
  return runGatKernel(SEGMENT_SOFTMAX, { e, rowPtr: g.rowPtr }) as tf.Tensor2D;
}

/**
 * The softmax stage's backward (gradients.md "Backward", softmax stage: the Jacobian
 * diag(alpha) - alpha alpha^T applied to dAlpha): dE_k = alpha_k (dAlpha_k - sum_{k' -> i}
 * alpha_k' dAlpha_k'). `alpha` is the forward's output, before any attention dropout.
 */
export function softmaxBackward(alpha: tf.Tensor, dAlpha: tf.Tensor, g: GraphTensors): tf.Tensor2D {
  return runGatKernel(SEGMENT_SOFTMAX_GRAD, { alpha, dAlpha, rowPtr: g.rowPtr }) as tf.Tensor2D;
}

/** Analytic op: softmaxForward with softmaxBackward as its gradient (it saves its output). */
export function softmaxAnalytic(e: tf.Tensor2D, g: GraphTensors): tf.Tensor2D {
  const op = customOp(([eT], save) => {
    const alpha = softmaxForward(eT, g);
    save([alpha]);
    return { value: alpha, gradFunc: (dAlpha, [savedAlpha]) => softmaxBackward(savedAlpha, dAlpha, g) };
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
      value: runGatKernel(SEGMENT_MAX, { e: eT, rowPtr: g.rowPtr }) as tf.Tensor,
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
