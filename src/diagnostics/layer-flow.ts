/**
 * Gradient flow through one GATv2 layer's attention, from the layer's own intermediates: xl, xr
 * (and the edge projection), att, alpha (before attention dropout) and the upstream dL/dalpha of
 * the pass, all tensors on the current backend.
 *
 * The backward of the softmax and score stages runs there, through the very functions the stage
 * ops and the fused layer block run (softmaxBackward, src/ops/softmax.ts; scoreBackward,
 * src/ops/score.ts): dL/dxr here is the analytic path's, bit for bit, on every backend (on webgpu
 * it is the GPU's). The results are then read back and counted on the host
 * (./layer-flow-counts.ts), after gradients.md "The paper's main insight":
 *   dL/dxr[i,h,c] = a[h,c] * sum_{k -> i} dL/de_k s_k[c]
 *                 = a[h,c] / 2 * sum_{j,k in N(i)} alpha_ij alpha_ik (A_ij - A_ik)(s_ij[c] - s_ik[c])
 * - in-degree 1: the pair sum is empty, dL/dxr[i] = 0 exactly (alpha = 1, dL/de = 1*(A - A) = 0);
 * - one-side triples (i, h, c): every s_k[c] equal, every pair term 0, so dL/dxr[i,h,c] = 0 up to
 *   rounding;
 * - the share of pre-activations z on the negative side, where s = c (the slope);
 * - the attention entropy per (node, head), normalised by log(in-degree).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { GraphTensors } from '../ops/graph-tensors.js';
import { scoreBackward } from '../ops/score.js';
import { softmaxBackward } from '../ops/softmax.js';
import { attentionStats, leakySides, starvation, type HostFlow } from './layer-flow-counts.js';
import type { AttentionStats, LeakySides, Starvation, Thresholds } from '../run/diagnostics-record.js';

export interface LayerFlowInput {
  /** The layer's graph: its layout for the host counts, its tensors for the stage kernels. */
  graph: GraphTensors;
  heads: number;
  channels: number;
  negativeSlope: number;
  /** [N, H*C] source and target projections. */
  xl: tf.Tensor;
  xr: tf.Tensor;
  /** [E, H*C] projected edge features in CSR order, or null. */
  edgeProj: tf.Tensor | null;
  /** [H*C] attention vector. */
  att: tf.Tensor;
  /** [E, H] attention in CSR order, before attention dropout. */
  alpha: tf.Tensor;
  /** [E, H] upstream dL/dalpha (with attention dropout: the mask and 1/(1-p) are already in it). */
  dAlpha: tf.Tensor;
}

export interface LayerFlowOptions {
  thresholds: Thresholds;
  /** Bins of the entropy histogram over [0, 1]. */
  entropyBins: number;
}

export interface LayerFlow {
  /** [E, H] dL/de (softmax backward). */
  dE: Float32Array;
  /** [N, H*C] dL/dxr: node i's contribution to Theta_R's gradient is x_i^T dxr[i] (and dxr[i] for b_R). */
  dxr: Float32Array;
  /** [N, H*C] dL/dxl through the score stage only (the message path is not included). */
  dxlScore: Float32Array;
  /** [H*C] dL/da. */
  dAtt: Float32Array;
  starvation: Starvation;
  leaky: LeakySides;
  attention: AttentionStats;
  /** See Consistency.oneSideResidual. */
  oneSideResidual: number | null;
}

type StageGradients = Pick<LayerFlow, 'dE' | 'dxr' | 'dxlScore' | 'dAtt'>;

function read(t: tf.Tensor): Promise<Float32Array> {
  return t.data() as Promise<Float32Array>;
}

/** The softmax then the score stage's backward (gradients.md "Backward") on the backend, read back. */
async function stageGradients(inp: LayerFlowInput): Promise<StageGradients> {
  const shape = { heads: inp.heads, channels: inp.channels, negativeSlope: inp.negativeSlope };
  const out = tf.tidy(() => {
    const dE = softmaxBackward(inp.alpha, inp.dAlpha, inp.graph);
    // With edge features a fourth gradient (the edge term's) comes back: the tidy frees it.
    const [dxlScore, dxr, dAtt] = scoreBackward({ xl: inp.xl, xr: inp.xr, att: inp.att, edgeProj: inp.edgeProj }, dE, inp.graph, shape);
    return [dE, dxr!, dxlScore!, dAtt!];
  });
  try {
    const [dE, dxr, dxlScore, dAtt] = await Promise.all(out.map(read));
    return { dE: dE!, dxr: dxr!, dxlScore: dxlScore!, dAtt: dAtt! };
  } finally {
    tf.dispose(out);
  }
}

export async function layerFlow(inp: LayerFlowInput, opts: LayerFlowOptions): Promise<LayerFlow> {
  const back = await stageGradients(inp);
  const { layout } = inp.graph;
  const host: HostFlow = {
    rowPtr: layout.rowPtr, csrSrc: layout.csrSrc, heads: inp.heads, channels: inp.channels,
    xl: await read(inp.xl), xr: await read(inp.xr), edgeProj: inp.edgeProj ? await read(inp.edgeProj) : null,
    alpha: await read(inp.alpha), dAlpha: await read(inp.dAlpha), dxr: back.dxr,
  };
  const starved = starvation(host);
  const { leaky, oneSideResidual } = leakySides(host);
  return { ...back, starvation: starved, leaky, attention: attentionStats(host, starved.inDegreeOne, opts), oneSideResidual };
}
