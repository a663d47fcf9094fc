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
 * The backward is the chain of gradients.md, read bottom up, with the same stage kernels the
 * stage ops (src/ops) run:
 *   activation   dy = dh * act'(h)              ELU: h + 1 where h < 0 (TF.js's EluGrad); ReLU: [h > 0]
 *   output       dbias = sum_i dy_i;  dout = dy (concat) or dy / H on every head (mean)
 *                dW_res = x~^T dy  (residual, x~ the dropped-out input)
 *   aggregation  GatV2AggregateGrad: dAlpha~_k = <dout_i, xl[j]>, dxl[j] += sum_k alpha~_k dout_i
 *   dropout      dAlpha = dropout(dAlpha~)       ("Projections", last paragraph)
 *   softmax      GatV2SegmentSoftmaxGrad: dE = alpha (dAlpha - sum_row alpha dAlpha)
 *   score        GatV2ScoreGrad: dxl[j] += sum delta_k (added to the aggregation's share in the
 *                kernel, input dxlAdd), dxr[i] = sum delta_k, da = sum dE_k u_k
 *   projections  dW_L = x~^T dxl, db_L = sum_i dxl_i (and R); dx = dropout(dxl W_L^T + dxr W_R^T (+ dy W_res^T))
 *
 * Layers with edge features (edgeDim) are not built this way; the network has none (src/model/
 * network.ts), and gatv2-layer.ts handles them for the layer-level tools.
 */
import * as tf from '@tensorflow/tfjs-core';
import {
  GAT_AGGREGATE, GAT_AGGREGATE_GRAD, GAT_SCORE, GAT_SCORE_GRAD, SEGMENT_SOFTMAX, SEGMENT_SOFTMAX_GRAD,
} from '../../kernels/names.js';
import { dropout } from '../ops/dropout.js';
import type { GraphTensors } from '../ops/graph-tensors.js';
import {
  dropNodeInput, isSparse, numCols, project, projectInputGradSum, projectWeightGrads, projectWithBias, type NodeInput,
} from '../ops/linear.js';
import { paramShapes, type LayerParams } from './gatv2-layer.js';
import type { GATv2Config } from './config.js';
import { activate, activationGrad, type Activation } from './activation.js';

export interface BlockOptions {
  cfg: GATv2Config;
  /** Dropout on the block's input (0: none) and its seed. */
  inputDropout: number;
  inputSeed: number;
  /** Seed of the attention dropout (cfg.dropout), when training. */
  attentionSeed: number;
  training: boolean;
  /** After the layer; null for the last layer. */
  activation: Activation | null;
  /** Whether the input gets a gradient (a dense hidden representation, not the features). */
  inputGrad: boolean;
  /**
   * A bipartite block (mini-batch, layer-wise chunks): only the first numDst nodes (its
   * destinations) are outputs. The aggregation still runs over the block's square layout, but its
   * result is cut to those rows before bias, residual and activation, so those run (and are kept
   * for the backward) on numDst rows, not on every source (10x fewer at fanout 10). Absent: all.
   */
  numDst?: number;
}

/** Whether a block can run layer `cfg` (edge features need gatv2-layer.ts). */
export function blockSupports(cfg: GATv2Config): boolean {
  return cfg.edgeDim === null;
}

/** h = act(GATv2(dropout(x))), with the analytic backward above. */
export function layerBlock(opts: BlockOptions, params: LayerParams, x: NodeInput, g: GraphTensors): tf.Tensor2D {
  const { cfg } = opts;
  if (!blockSupports(cfg)) throw new Error('layerBlock: layers with edge features go through layerForward');
  if (opts.inputGrad && isSparse(x)) throw new Error('layerBlock: a sparse input cannot get a gradient');
  if (numCols(x) !== cfg.inChannels) {
    throw new Error(`GATv2 layer expects ${cfg.inChannels} input features, got ${numCols(x)}`);
  }
  // ELU and ReLU need their output in the backward; identity and no activation do not.
  const keepsOutput = opts.activation === 'elu' || opts.activation === 'relu';
  const H = cfg.heads, C = cfg.outChannels, N = g.layout.numNodes;
  // Output rows: the block's destinations (the first rows), or every node.
  const R = opts.numDst !== undefined && opts.numDst < N ? opts.numDst : N;
  const cutRows = (t: tf.Tensor2D): tf.Tensor2D => (R < N ? tf.slice(t, [0, 0], [R, t.shape[1]]) : t);
  // The backward's row gradients back to all N rows (zero for the rows not output).
  const padRows = (t: tf.Tensor2D): tf.Tensor2D => (R < N ? tf.pad(t, [[0, N - R], [0, 0]]) : t);
  // The target side's projection xr = x W_R is read only at destinations, so a bipartite block
  // projects only its R destination rows (the first layer of a batch of 1024 at fanout 15,10:
  // 15k rows instead of 170k), and dxr has R rows. The cpu and wasm kernels index xr and dxr by
  // destination (their range checks hold); webgpu's score gradient reduces dxr over every CSR
  // row, so there the block keeps the square form. Dense inputs only (a sparse x is not sliced).
  // Only where no edge enters a row past R (the sampler's blocks: self loops on destinations
  // only), checked on the host layout: an edge into row i >= R would read xr out of range.
  const rectXr = R < N && !cfg.shareWeights && !isSparse(x) && tf.getBackend() !== 'webgpu' &&
    g.layout.rowPtr[R] === g.layout.numEdges;
  const attrs = { heads: H, channels: C, negativeSlope: cfg.negativeSlope };
  const attnDrop = opts.training && cfg.dropout > 0;
  const inDrop = opts.training ? opts.inputDropout : 0;
  const graph = { rowPtr: g.rowPtr, csrSrc: g.csrSrc, csrDst: g.csrDst };
  const bySource = { srcPtr: g.srcPtr, srcOrder: g.srcOrder };
  const names = Object.keys(paramShapes(cfg));
  for (const n of names) if (!params[n]) throw new Error(`layerBlock: parameter ${n} is missing`);

  const op = tf.customGrad(((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const save = args[args.length - 1] as tf.GradSaveFunc;
    const P: Record<string, tf.Tensor> = {};
    names.forEach((n, k) => (P[n] = args[k] as tf.Tensor));
    const input: NodeInput = opts.inputGrad ? (args[names.length] as tf.Tensor2D) : x;
    const bias = (t: tf.Tensor2D, b: tf.Tensor | undefined) => (b ? tf.add(t, b) : t) as tf.Tensor2D;

    // Nested tidies and disposals free each intermediate as soon as it is used: a backend's buffer
    // pool (WebGPU's) then reuses it within the same pass, which keeps the peak low.
    const xd = dropNodeInput(input, inDrop, opts.inputSeed);
    const xl = tf.tidy(() => projectWithBias(xd, P['lin_l.weight'] as tf.Tensor2D, P['lin_l.bias']));
    const xr = cfg.shareWeights ? xl
      : tf.tidy(() => projectWithBias(rectXr ? cutRows(xd as tf.Tensor2D) : xd, P['lin_r.weight'] as tf.Tensor2D, P['lin_r.bias']));
    const alpha = tf.tidy(() => {
      const e = tf.engine().runKernel(GAT_SCORE, { xl, xr, att: P['att']!, ...graph }, attrs) as tf.Tensor2D;
      return tf.engine().runKernel(SEGMENT_SOFTMAX, { e, rowPtr: g.rowPtr }) as tf.Tensor2D;
    });
    const h = tf.tidy(() => {
      const alphaUsed = attnDrop ? tf.tidy(() => dropout(alpha, cfg.dropout, opts.attentionSeed)) : alpha;
      const all = tf.engine().runKernel(GAT_AGGREGATE, { alpha: alphaUsed, xl, rowPtr: g.rowPtr, csrSrc: g.csrSrc }, attrs) as tf.Tensor2D;
      if (alphaUsed !== alpha) alphaUsed.dispose();
      const out = cutRows(all);
      if (out !== all) all.dispose();
      // One head: its mean is itself (a reduction over a size-1 axis is a whole pass on a GPU).
      let y = cfg.concat || H === 1 ? out : (tf.mean(tf.reshape(out, [R, H, C]), 1) as tf.Tensor2D);
      y = bias(y, P['bias']);
      if (cfg.residual) y = tf.add(y, cutRows(project(xd, P['res.weight'] as tf.Tensor2D)));
      return activate(y, opts.activation);
    });
    if (xd !== input) tf.dispose(isSparse(xd) ? xd.values : xd);
    save([xl, xr, alpha, ...(opts.inputGrad ? [input as tf.Tensor2D] : []), ...(keepsOutput ? [h] : [])]);

    const gradFunc = (dhT: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]): tf.Tensor[] => tf.tidy(() => {
      const [sxl, sxr, salpha] = saved as tf.Tensor2D[];
      const sx = opts.inputGrad ? (saved[3] as tf.Tensor2D) : undefined;
      const sh = keepsOutput ? (saved[saved.length - 1] as tf.Tensor2D) : undefined;
      const dh = dhT as tf.Tensor2D;
      const grads: Record<string, tf.Tensor> = {};
      // The saved tensors are this op's own clones (tf.grads frees them only once the whole
      // backward is done): each is freed after its last use here, so the layers below run their
      // backward without this one's.
      const dy = tf.tidy(() => activationGrad(dh, sh, opts.activation));
      sh?.dispose();
      // Without an activation dy is dh itself, the caller's tensor: never ours to free.
      const freeDy = () => {
        if (dy !== dh) dy.dispose();
      };
      if (cfg.bias) grads['bias'] = tf.sum(dy, 0);
      // The residual's gradients read dy on all N rows (x~ has N rows).
      const dyAll = cfg.residual ? padRows(dy) : dy;
      const [dAlphaUsed, dxlAgg] = tf.tidy(() => {
        const dout = padRows(cfg.concat || H === 1 ? dy : (tf.tile(tf.div(dy, H), [1, H]) as tf.Tensor2D));
        const alphaUsed = attnDrop ? tf.tidy(() => dropout(salpha!, cfg.dropout, opts.attentionSeed)) : salpha!;
        return tf.engine().runKernel(GAT_AGGREGATE_GRAD, {
          alpha: alphaUsed, xl: sxl!, dOut: dout, ...graph, ...bySource,
        }, attrs) as tf.Tensor2D[];
      });
      const dE = tf.tidy(() => {
        const dAlpha = attnDrop ? dropout(dAlphaUsed!, cfg.dropout, opts.attentionSeed) : dAlphaUsed!;
        return tf.engine().runKernel(SEGMENT_SOFTMAX_GRAD, { alpha: salpha!, dAlpha, rowPtr: g.rowPtr }) as tf.Tensor2D;
      });
      tf.dispose([dAlphaUsed!, salpha!]);
      // Only the residual's gradients read dy again.
      if (!cfg.residual) freeDy();
      // The score kernel adds the aggregation's share of dL/dxl to its own (dxlAdd).
      const [dxlBoth, dxr, dAtt] = tf.engine().runKernel(GAT_SCORE_GRAD, {
        xl: sxl!, xr: sxr!, att: P['att']!, dE, ...graph, ...bySource, dxlAdd: dxlAgg!,
      }, attrs) as tf.Tensor2D[];
      tf.dispose([dE, sxl!, sxr!, dxlAgg!]);
      grads['att'] = dAtt!;
      let dxl = dxlBoth!;
      if (cfg.shareWeights) {
        dxl = tf.add(dxlBoth!, dxr!) as tf.Tensor2D;
        dxlBoth!.dispose();
      }
      // dW = x~^T d(product) for each product of the dropped-out input x~ (regenerated or read
      // through its mask, see projectWeightGrads).
      const wl = P['lin_l.weight'] as tf.Tensor2D;
      const weighted: Array<[string, tf.Tensor2D, tf.Tensor2D]> = [['lin_l.weight', dxl, wl]];
      if (!cfg.shareWeights && !rectXr) weighted.push(['lin_r.weight', dxr!, P['lin_r.weight'] as tf.Tensor2D]);
      if (cfg.residual) weighted.push(['res.weight', dyAll, P['res.weight'] as tf.Tensor2D]);
      const xIn = opts.inputGrad ? (sx as NodeInput) : x;
      const drop = inDrop > 0 ? { p: inDrop, seed: opts.inputSeed } : null;
      const wGrads = projectWeightGrads(xIn, drop, weighted.map(([, d, w]) => [d, w]));
      weighted.forEach(([name], k) => (grads[name] = wGrads[k]!));
      if (rectXr) {
        // x~[:R]^T dxr: the dropout mask is a function of the element index, so regenerating it on
        // the first R rows gives the first R rows of x~.
        grads['lin_r.weight'] = tf.tidy(() => projectWeightGrads(cutRows(xIn as tf.Tensor2D), drop, [[dxr!, P['lin_r.weight'] as tf.Tensor2D]])[0]!);
      }
      if (cfg.bias) grads['lin_l.bias'] = tf.sum(dxl, 0);
      if (cfg.bias && !cfg.shareWeights) grads['lin_r.bias'] = tf.sum(dxr!, 0);
      const out = names.map((n) => grads[n]!);
      if (opts.inputGrad) {
        const dxd = tf.tidy(() => projectInputGradSum([
          [dxl, wl],
          ...(cfg.shareWeights ? [] : [[rectXr ? padRows(dxr!) : dxr!, P['lin_r.weight'] as tf.Tensor2D] as [tf.Tensor2D, tf.Tensor2D]]),
          ...(cfg.residual ? [[dyAll, P['res.weight'] as tf.Tensor2D] as [tf.Tensor2D, tf.Tensor2D]] : []),
        ]));
        tf.dispose([dxl, dxr!, sx!]);
        if (dyAll !== dy) dyAll.dispose();
        freeDy();
        out.push(inDrop > 0 ? tf.tidy(() => dropout(dxd, inDrop, opts.inputSeed)) : dxd);
      }
      return out;
    });
    return { value: h, gradFunc };
  }) as Parameters<typeof tf.customGrad>[0]);

  const inputs = names.map((n) => params[n]!);
  if (opts.inputGrad) inputs.push(x as tf.Tensor2D);
  return op(...inputs) as tf.Tensor2D;
}
