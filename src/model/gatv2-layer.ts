/**
 * One GATv2 layer, with the options and defaults of PyTorch Geometric's `GATv2Conv`.
 *
 *   xl = x W_L + b_L,  xr = x W_R + b_R              (W_R = W_L when shareWeights)
 *   e_k = a . LeakyReLU(xr[i] + xl[j] + W_e e_(j,i))   score      (gradients.md eq. 1)
 *   alpha_k = softmax over the edges into i of e_k      softmax    (eq. 2)
 *   out_i = sum_k alpha_k xl[j]                         aggregate  (eq. 3)
 *   y_i = concat_h out_i (or mean over heads) + b (+ x_i W_res)
 *
 * Parameters are kept under PyG's names ("lin_l.weight", "att", ...) in TF.js layouts: linear
 * weights as [in, out] (PyG stores [out, in]) and att flattened to [H*C]; src/model/pyg-params.ts
 * converts. Every parameter enters the stages as an input, so customGrad can give it a gradient.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { GATv2Config } from './config.js';
import { outputWidth } from './config.js';
import type { GraphTensors, GradMode } from '../ops/graph-tensors.js';
import { stagesFor } from '../ops/index.js';
import { dropout } from '../ops/dropout.js';
import { matMulInput, numCols, type NodeInput } from '../ops/linear.js';
import { edgeAttrInCsrOrder } from './edge-attr.js';

export type LayerParams = Record<string, tf.Tensor>;

export interface LayerForwardOptions {
  mode: GradMode;
  /** Training applies attention dropout. */
  training: boolean;
  /** Seed of the attention-dropout mask of this call. */
  dropoutSeed?: number;
  /** Edge features in the order of the input edge list [E_in, edgeDim], when edgeDim is set. */
  edgeAttr?: tf.Tensor2D | null;
  /**
   * Observes (and may wrap) the stages' intermediates: xl, xr and alpha (before dropout). The
   * gradient-flow diagnostics (src/diagnostics) pass identities here whose backward records the
   * gradient reaching each one. Returns the tensor the layer goes on with.
   */
  tap?: (name: LayerTapPoint, t: tf.Tensor2D) => tf.Tensor2D;
}

export type LayerTapPoint = 'xl' | 'xr' | 'alpha';

export interface LayerForwardResult {
  output: tf.Tensor2D;
  /** Attention [E, H] in CSR order (before dropout). */
  alpha: tf.Tensor2D;
}

/** TF.js-layout shape of each parameter. */
export function paramShapes(cfg: GATv2Config): Record<string, number[]> {
  const hc = cfg.heads * cfg.outChannels;
  const shapes: Record<string, number[]> = { 'lin_l.weight': [cfg.inChannels, hc] };
  if (cfg.bias) shapes['lin_l.bias'] = [hc];
  if (!cfg.shareWeights) {
    shapes['lin_r.weight'] = [cfg.inChannels, hc];
    if (cfg.bias) shapes['lin_r.bias'] = [hc];
  }
  shapes['att'] = [hc];
  if (cfg.edgeDim !== null) shapes['lin_edge.weight'] = [cfg.edgeDim, hc];
  if (cfg.residual) shapes['res.weight'] = [cfg.inChannels, outputWidth(cfg)];
  if (cfg.bias) shapes['bias'] = [outputWidth(cfg)];
  return shapes;
}

/**
 * Glorot-uniform initialisation as PyG (weights and att), zeros for biases. PyG's glorot for att
 * [1, H, C] uses fan_in + fan_out = H + C.
 */
export function initParams(cfg: GATv2Config, seed: number): LayerParams {
  const params: LayerParams = {};
  let s = seed;
  for (const [name, shape] of Object.entries(paramShapes(cfg))) {
    if (name.endsWith('bias')) {
      params[name] = tf.zeros(shape);
      continue;
    }
    const fans = name === 'att' ? cfg.heads + cfg.outChannels : shape[0] + shape[1];
    const limit = Math.sqrt(6 / fans);
    params[name] = tf.randomUniform(shape, -limit, limit, 'float32', s++);
  }
  return params;
}

function addBias(x: tf.Tensor2D, b: tf.Tensor | undefined): tf.Tensor2D {
  return b ? tf.add(x, b) : x;
}

export function layerForward(
  cfg: GATv2Config, params: LayerParams, x: NodeInput, g: GraphTensors, opts: LayerForwardOptions,
): LayerForwardResult {
  if (numCols(x) !== cfg.inChannels) {
    throw new Error(`GATv2 layer expects ${cfg.inChannels} input features, got ${numCols(x)}`);
  }
  const stages = stagesFor(opts.mode);
  const H = cfg.heads, C = cfg.outChannels, N = g.layout.numNodes;
  const shape = { heads: H, channels: C, negativeSlope: cfg.negativeSlope };

  const tap = opts.tap ?? ((_: LayerTapPoint, t: tf.Tensor2D) => t);
  const xl = tap('xl', addBias(matMulInput(x, params['lin_l.weight'] as tf.Tensor2D), params['lin_l.bias']));
  const xr = cfg.shareWeights ? xl : tap('xr', addBias(matMulInput(x, params['lin_r.weight'] as tf.Tensor2D), params['lin_r.bias']));

  let edgeProj: tf.Tensor2D | null = null;
  if (cfg.edgeDim !== null) {
    if (!opts.edgeAttr) throw new Error('GATv2 layer has edgeDim set but no edge features were given');
    const ea = edgeAttrInCsrOrder(opts.edgeAttr, g);
    edgeProj = matMulInput(ea, params['lin_edge.weight'] as tf.Tensor2D);
  }

  const e = stages.score(xl, xr, params['att'] as tf.Tensor1D, edgeProj, g, shape);
  const alpha = tap('alpha', stages.softmax(e, g));
  let alphaUsed = alpha;
  if (opts.training && cfg.dropout > 0) {
    // Inverted dropout on attention, the same tensor op in both modes, so the softmax backward
    // receives mask * A_k / (1 - p) either way (gradients.md, last paragraph of Projections).
    if (opts.dropoutSeed === undefined) throw new Error('layerForward: training with attention dropout needs opts.dropoutSeed');
    alphaUsed = dropout(alpha, cfg.dropout, opts.dropoutSeed);
  }
  const out = stages.aggregate(alphaUsed, xl, g, shape);

  // One head: its mean is itself (a reduction over a size-1 axis is a whole pass on a GPU).
  let y: tf.Tensor2D = cfg.concat || H === 1 ? out : tf.mean(tf.reshape(out, [N, H, C]), 1) as tf.Tensor2D;
  y = addBias(y, params["bias"]);
  if (cfg.residual) y = tf.add(y, matMulInput(x, params['res.weight'] as tf.Tensor2D));
  return { output: y, alpha };
}
