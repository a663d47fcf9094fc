/**
 * What a layer block (./layer-block.ts) decides once, before its forward: the options it runs
 * under, its output rows, whether the target projection is cut to those rows, which dropouts are
 * on, and what its backward must keep. Forward and backward (./layer-block-backward.ts) both read it.
 */
import * as tf from '@tensorflow/tfjs-core';
import { matMulTraits } from '../../kernels/matmul-traits.js';
import type { GraphTensors } from '../ops/graph-tensors.js';
import { isSparse, type NodeInput } from '../ops/linear.js';
import type { ScoreShape } from '../ops/score.js';
import type { Activation } from './activation.js';
import type { GATv2Config } from './config.js';
import { paramShapes } from './gatv2-layer.js';

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

export interface BlockPlan {
  opts: BlockOptions;
  cfg: GATv2Config;
  g: GraphTensors;
  /** Heads, channels and slope: the stage functions' shape. */
  shape: ScoreShape;
  /** Nodes of the layout, and the output rows (numDst, or every node). */
  N: number;
  R: number;
  /** The target projection xr is made (and dxr is) on the R output rows only. */
  rectXr: boolean;
  /** Attention dropout on, and the input dropout's probability (0: off). */
  attnDrop: boolean;
  inDrop: number;
  /** ELU and ReLU need their output in the backward; identity and no activation do not. */
  keepsOutput: boolean;
  /** The layer's parameter names, in the op's input order. */
  names: string[];
}

export function blockPlan(opts: BlockOptions, x: NodeInput, g: GraphTensors): BlockPlan {
  const { cfg } = opts;
  const N = g.layout.numNodes;
  // Output rows: the block's destinations (the first rows), or every node.
  const R = opts.numDst !== undefined && opts.numDst < N ? opts.numDst : N;
  // The target side's projection xr = x W_R is read only at destinations, so a bipartite block
  // projects only its R destination rows (the first layer of a batch of 1024 at fanout 15,10:
  // 15k rows instead of 170k), and dxr has R rows. The cpu and wasm kernels index xr and dxr by
  // destination (their range checks hold); a backend whose score gradient reduces dxr over every CSR
  // row (webgpu: its squareXr trait) keeps the square form. Dense inputs only (a sparse x is not sliced).
  // Only where no edge enters a row past R (the sampler's blocks: self loops on destinations
  // only), checked on the host layout: an edge into row i >= R would read xr out of range.
  const rectXr = R < N && !cfg.shareWeights && !isSparse(x) && !matMulTraits().squareXr &&
    g.layout.rowPtr[R] === g.layout.numEdges;
  return {
    opts, cfg, g, N, R, rectXr,
    shape: { heads: cfg.heads, channels: cfg.outChannels, negativeSlope: cfg.negativeSlope },
    attnDrop: opts.training && cfg.dropout > 0,
    inDrop: opts.training ? opts.inputDropout : 0,
    keepsOutput: opts.activation === 'elu' || opts.activation === 'relu',
    names: Object.keys(paramShapes(cfg)),
  };
}

/** The output rows of a node tensor (itself when every node is an output). */
export function cutRows(p: BlockPlan, t: tf.Tensor2D): tf.Tensor2D {
  return p.R < p.N ? tf.slice(t, [0, 0], [p.R, t.shape[1]]) : t;
}

/** A row gradient back on all N rows (zero for the rows not output). */
export function padRows(p: BlockPlan, t: tf.Tensor2D): tf.Tensor2D {
  return p.R < p.N ? tf.pad(t, [[0, p.N - p.R], [0, 0]]) : t;
}
