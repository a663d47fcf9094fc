/**
 * One block of the network, input dropout -> GATv2 layer -> activation, as a single tf.customGrad
 * op: the analytic mode's training path.
 *
 * Why one op: tf.grads keeps every tensor its forward made until the whole backward is done, and
 * a layer written as the three stage ops plus stock ops (bias adds, dropout masks, the activation)
 * leaves about a dozen [N, H*C] tensors alive per layer, most of them needed by nothing. Inside a
 * customGrad forward the tape is off and TF.js disposes what the forward made except the value and
 * what it saves. This op saves xl, xr, alpha and its output, regenerates both dropout masks from
 * their seeds when it needs them (dropout(x, p, seed) is x times a mask fixed by shape and seed,
 * so its backward is dropout(dy, p, seed)), and frees its backward's intermediates as it goes.
 *
 * Forward and backward run each stage through the stage's own functions (src/ops/score.ts,
 * softmax.ts, aggregate.ts: the kernels the stage ops run); the backward, the chain of
 * gradients.md read bottom up, is in ./layer-block-backward.ts.
 *
 * Layers with edge features (edgeDim) are not built this way; the network has none (src/model/
 * network.ts), and gatv2-layer.ts handles them for the layer-level tools.
 */
import * as tf from '@tensorflow/tfjs-core';
import { aggregateForward } from '../ops/aggregate.js';
import { dropout } from '../ops/dropout.js';
import type { GraphTensors } from '../ops/graph-tensors.js';
import { dropNodeInput, isSparse, numCols, project, projectWithBias, type NodeInput } from '../ops/linear.js';
import { scoreForward } from '../ops/score.js';
import { softmaxForward } from '../ops/softmax.js';
import { paramShapes, type LayerParams } from './gatv2-layer.js';
import type { GATv2Config } from './config.js';
import { activate } from './activation.js';
import { blockBackward, type BlockSaved } from './layer-block-backward.js';
import { blockPlan, cutRows, type BlockOptions, type BlockPlan } from './layer-block-plan.js';

export type { BlockOptions } from './layer-block-plan.js';

/** Whether a block can run layer `cfg` (edge features need gatv2-layer.ts). */
export function blockSupports(cfg: GATv2Config): boolean {
  return cfg.edgeDim === null;
}

function checkBlock(opts: BlockOptions, params: LayerParams, x: NodeInput): void {
  const { cfg } = opts;
  if (!blockSupports(cfg)) throw new Error('layerBlock: layers with edge features go through layerForward');
  if (opts.inputGrad && isSparse(x)) throw new Error('layerBlock: a sparse input cannot get a gradient');
  if (numCols(x) !== cfg.inChannels) {
    throw new Error(`GATv2 layer expects ${cfg.inChannels} input features, got ${numCols(x)}`);
  }
  for (const n of Object.keys(paramShapes(cfg))) if (!params[n]) throw new Error(`layerBlock: parameter ${n} is missing`);
}

/** Projections (gradients.md "Forward"): x~ = dropout(x), xl = x~ W_L + b_L, xr = x~ W_R + b_R. */
function projectForward(p: BlockPlan, P: Record<string, tf.Tensor>, input: NodeInput) {
  const xd = dropNodeInput(input, p.inDrop, p.opts.inputSeed);
  const xl = tf.tidy(() => projectWithBias(xd, P['lin_l.weight'] as tf.Tensor2D, P['lin_l.bias']));
  // rectXr: the target side projected on the destinations only (see BlockPlan).
  const xr = p.cfg.shareWeights ? xl
    : tf.tidy(() => projectWithBias(p.rectXr ? cutRows(p, xd as tf.Tensor2D) : xd, P['lin_r.weight'] as tf.Tensor2D, P['lin_r.bias']));
  return { xd, xl, xr };
}

/** Score then softmax stages (eqs. 1, 2): alpha [E, H], before attention dropout. */
function attentionForward(p: BlockPlan, att: tf.Tensor, xl: tf.Tensor2D, xr: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => softmaxForward(scoreForward({ xl, xr, att, edgeProj: null }, p.g, p.shape), p.g));
}

/** Aggregation (eq. 3, through the attention dropout), the output rows, head mean, bias, residual, activation. */
function outputForward(p: BlockPlan, P: Record<string, tf.Tensor>, xd: NodeInput, xl: tf.Tensor2D, alpha: tf.Tensor2D): tf.Tensor2D {
  const { cfg, R } = p;
  return tf.tidy(() => {
    const alphaUsed = p.attnDrop ? tf.tidy(() => dropout(alpha, cfg.dropout, p.opts.attentionSeed)) : alpha;
    const all = aggregateForward(alphaUsed, xl, p.g, p.shape);
    if (alphaUsed !== alpha) alphaUsed.dispose();
    const out = cutRows(p, all);
    if (out !== all) all.dispose();
    // One head: its mean is itself (a reduction over a size-1 axis is a whole pass on a GPU).
    let y = cfg.concat || p.shape.heads === 1 ? out : (tf.mean(tf.reshape(out, [R, p.shape.heads, p.shape.channels]), 1) as tf.Tensor2D);
    if (P['bias']) y = tf.add(y, P['bias']) as tf.Tensor2D;
    if (cfg.residual) y = tf.add(y, cutRows(p, project(xd, P['res.weight'] as tf.Tensor2D)));
    return activate(y, p.opts.activation);
  });
}

/**
 * The op's forward: runs the block, saves what its backward reads and frees the rest. Nested
 * tidies and disposals free each intermediate as soon as it is used: a backend's buffer pool
 * (WebGPU's) then reuses it within the same pass, which keeps the peak low.
 */
function blockForward(p: BlockPlan, P: Record<string, tf.Tensor>, input: NodeInput, save: tf.GradSaveFunc): tf.Tensor2D {
  const { xd, xl, xr } = projectForward(p, P, input);
  const alpha = attentionForward(p, P['att']!, xl, xr);
  const h = outputForward(p, P, xd, xl, alpha);
  if (xd !== input) tf.dispose(isSparse(xd) ? xd.values : xd);
  save([xl, xr, alpha, ...(p.opts.inputGrad ? [input as tf.Tensor2D] : []), ...(p.keepsOutput ? [h] : [])]);
  return h;
}

/** The tensors blockForward saved, by name. */
function savedByName(p: BlockPlan, saved: tf.Tensor[]): BlockSaved {
  const [xl, xr, alpha] = saved as tf.Tensor2D[];
  return {
    xl: xl!, xr: xr!, alpha: alpha!,
    x: p.opts.inputGrad ? (saved[3] as tf.Tensor2D) : undefined,
    h: p.keepsOutput ? (saved[saved.length - 1] as tf.Tensor2D) : undefined,
  };
}

/** h = act(GATv2(dropout(x))), with the analytic backward of ./layer-block-backward.ts. */
export function layerBlock(opts: BlockOptions, params: LayerParams, x: NodeInput, g: GraphTensors): tf.Tensor2D {
  checkBlock(opts, params, x);
  const p = blockPlan(opts, x, g);
  const op = tf.customGrad(((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const save = args[args.length - 1] as tf.GradSaveFunc;
    const P: Record<string, tf.Tensor> = {};
    p.names.forEach((n, k) => (P[n] = args[k] as tf.Tensor));
    const input: NodeInput = opts.inputGrad ? (args[p.names.length] as tf.Tensor2D) : x;
    const value = blockForward(p, P, input, save);
    const gradFunc = (dh: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]): tf.Tensor[] =>
      blockBackward(p, P, x, dh as tf.Tensor2D, savedByName(p, saved));
    return { value, gradFunc };
  }) as Parameters<typeof tf.customGrad>[0]);

  const inputs = p.names.map((n) => params[n]!);
  if (opts.inputGrad) inputs.push(x as tf.Tensor2D);
  return op(...inputs) as tf.Tensor2D;
}
