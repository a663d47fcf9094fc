/**
 * SCORE stage (gradients.md eq. 1): e_k = sum_c a[h,c] LeakyReLU(xr[i] + xl[j] (+ W_e e_k))[h,c]
 * for each edge k = (j -> i) in CSR order. Node tensors are [N, H*C]; e is [E, H].
 */
import * as tf from '@tensorflow/tfjs-core';
import { GAT_SCORE, GAT_SCORE_GRAD } from '../../kernels/names.js';
import { customOp } from './custom-op.js';
import type { GraphTensors } from './graph-tensors.js';

export interface ScoreShape {
  heads: number;
  channels: number;
  negativeSlope: number;
}

function graphInputs(g: GraphTensors) {
  return { rowPtr: g.rowPtr, csrSrc: g.csrSrc, csrDst: g.csrDst };
}

/**
 * Analytic op: the forward kernel never materialises the E x H x C pre-activations; the backward
 * kernel recomputes them (gradients.md "Score stage"). edgeProj [E, H*C] is the projected edge
 * features, or null.
 */
export function scoreAnalytic(
  xl: tf.Tensor2D, xr: tf.Tensor2D, att: tf.Tensor1D, edgeProj: tf.Tensor2D | null,
  g: GraphTensors, s: ScoreShape,
): tf.Tensor2D {
  const attrs = { heads: s.heads, channels: s.channels, negativeSlope: s.negativeSlope };
  const withGraph = (xlT: tf.Tensor, xrT: tf.Tensor, attT: tf.Tensor, epT?: tf.Tensor) => {
    const inputs: Record<string, tf.Tensor> = { xl: xlT, xr: xrT, att: attT, ...graphInputs(g) };
    if (epT) inputs['edgeProj'] = epT;
    return inputs;
  };
  const op = customOp(([xlT, xrT, attT, epT], save) => {
    save(epT ? [xlT, xrT, attT, epT] : [xlT, xrT, attT]);
    return {
      value: tf.engine().runKernel(GAT_SCORE, withGraph(xlT, xrT, attT, epT), attrs) as tf.Tensor,
      gradFunc: (dE, [sxl, sxr, satt, sep]) =>
        tf.engine().runKernel(GAT_SCORE_GRAD, {
          ...withGraph(sxl, sxr, satt, sep), dE, srcPtr: g.srcPtr, srcOrder: g.srcOrder,
        }, attrs) as tf.Tensor[],
    };
  });
  return (edgeProj ? op(xl, xr, att, edgeProj) : op(xl, xr, att)) as tf.Tensor2D;
}

/** Autograd twin: gathers both endpoints (E x H x C tensors), LeakyReLU, dot with a. */
export function scoreAutograd(
  xl: tf.Tensor2D, xr: tf.Tensor2D, att: tf.Tensor1D, edgeProj: tf.Tensor2D | null,
  g: GraphTensors, s: ScoreShape,
): tf.Tensor2D {
  return tf.tidy(() => {
    const E = g.layout.numEdges;
    let z = tf.add(tf.gather(xr, g.csrDst), tf.gather(xl, g.csrSrc));
    if (edgeProj) z = tf.add(z, edgeProj);
    const u = tf.leakyRelu(z, s.negativeSlope);
    // att broadcast as a rank-1 [H*C] tensor: TF.js reduces a missing leading axis in Mul's
    // gradient even when E = 0 (a size-1 axis it would not), and tiling it E times makes the
    // gradient a loop of E kernels.
    const weighted = tf.reshape(tf.mul(u, att), [E, s.heads, s.channels]);
    return tf.sum(weighted, 2) as tf.Tensor2D;
  });
}
