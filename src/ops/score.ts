/**
 * SCORE stage (gradients.md eq. 1): e_k = sum_c a[h,c] LeakyReLU(xr[i] + xl[j] (+ W_e e_k))[h,c]
 * for each edge k = (j -> i) in CSR order. Node tensors are [N, H*C]; e is [E, H].
 *
 * scoreForward and scoreBackward are the stage's kernels as functions of tensors: the stage op
 * below, the fused layer block (src/model/layer-block.ts) and the diagnostics' gradient flow
 * (src/diagnostics/layer-flow.ts) all run the stage through them, so one backward serves all three.
 */
import * as tf from '@tensorflow/tfjs-core';
import { GAT_SCORE, GAT_SCORE_GRAD, type ScoreInputs } from '../../kernels/names.js';
import { runGatKernel } from '../../kernels/run-kernel.js';
import { customOp } from './custom-op.js';
import type { GraphTensors } from './graph-tensors.js';

export interface ScoreShape {
  heads: number;
  channels: number;
  negativeSlope: number;
}

/** What the score's backward reads of its forward: both projections, a, and the edge term or null. */
export interface ScoreSaved {
  xl: tf.Tensor;
  xr: tf.Tensor;
  att: tf.Tensor;
  edgeProj: tf.Tensor | null;
}

function scoreInputs(t: ScoreSaved, g: GraphTensors): ScoreInputs<tf.Tensor> {
  const inputs: ScoreInputs<tf.Tensor> = { xl: t.xl, xr: t.xr, att: t.att, rowPtr: g.rowPtr, csrSrc: g.csrSrc, csrDst: g.csrDst };
  if (t.edgeProj) inputs.edgeProj = t.edgeProj;
  return inputs;
}

function scoreAttrs(s: ScoreShape) {
  return { heads: s.heads, channels: s.channels, negativeSlope: s.negativeSlope };
}

/** e [E, H] (gradients.md eq. 1); the kernel never materialises the E x H x C pre-activations. */
export function scoreForward(t: ScoreSaved, g: GraphTensors, s: ScoreShape): tf.Tensor2D {
  return runGatKernel(GAT_SCORE, scoreInputs(t, g), scoreAttrs(s)) as tf.Tensor2D;
}

/**
 * The score stage's backward (gradients.md "Backward", score stage), the pre-activations
 * recomputed from xl and xr: delta_k = dE_k a s_k, dxr[i] = sum_{k -> i} delta_k,
 * dxl[j] = sum_{k: j -> ...} delta_k, da = sum_k dE_k u_k (and dEdgeProj_k = delta_k with edge
 * features). `dxlAdd` (optional, not with edge features on webgpu) is added to dxl inside the
 * kernel: the fused block hands it the aggregation's share of dL/dxl, saving an add and a tensor.
 * Returns [dxl, dxr, dAtt] and, with edge features, dEdgeProj.
 */
export function scoreBackward(t: ScoreSaved, dE: tf.Tensor, g: GraphTensors, s: ScoreShape, dxlAdd?: tf.Tensor): tf.Tensor[] {
  const inputs = { ...scoreInputs(t, g), dE, srcPtr: g.srcPtr, srcOrder: g.srcOrder, ...(dxlAdd ? { dxlAdd } : {}) };
  return runGatKernel(GAT_SCORE_GRAD, inputs, scoreAttrs(s)) as tf.Tensor[];
}

/** Analytic op: scoreForward with scoreBackward as its gradient. edgeProj [E, H*C] or null. */
export function scoreAnalytic(
  xl: tf.Tensor2D, xr: tf.Tensor2D, att: tf.Tensor1D, edgeProj: tf.Tensor2D | null,
  g: GraphTensors, s: ScoreShape,
): tf.Tensor2D {
  const op = customOp(([xlT, xrT, attT, epT], save) => {
    save(epT ? [xlT, xrT, attT, epT] : [xlT, xrT, attT]);
    return {
      value: scoreForward({ xl: xlT, xr: xrT, att: attT, edgeProj: epT ?? null }, g, s),
      gradFunc: (dE, [sxl, sxr, satt, sep]) => scoreBackward({ xl: sxl, xr: sxr, att: satt, edgeProj: sep ?? null }, dE, g, s),
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
