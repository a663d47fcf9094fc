/**
 * The GATv2 network: a stack of GATv2 layers (src/model/gatv2-layer.ts) with dropout on each
 * layer's input and a nonlinearity between layers, as in PyG's GAT example:
 *
 *   x -> dropout -> conv1 -> ELU -> dropout -> conv2 -> logits
 *
 * Parameters live in one flat map under PyG's state_dict names ("conv1.lin_l.weight", ...) in
 * TF.js layouts. All randomness (init, dropout masks) comes from integer seeds, so a seed fixes
 * every number of a run on a given backend.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { DenseFeatures, EdgeFeatures, SparseFeatures } from '../data/dataset.js';
import { InputError } from '../util/errors.js';
import type { GraphLayout } from '../graph/layout.js';
import { graphTensors, type GradMode, type GraphTensors } from '../ops/graph-tensors.js';
import { dropout } from '../ops/dropout.js';
import { isSparse, type NodeInput, type SparseMatrix } from '../ops/linear.js';
import { DEFAULT_CONFIG, outputWidth, type GATv2Config } from './config.js';
import { initParams, layerForward, paramShapes, type LayerParams, type LayerTapPoint } from './gatv2-layer.js';
import { blockSupports, layerBlock } from './layer-block.js';
import { activate, ACTIVATIONS, type Activation } from './activation.js';
import { deriveSeed } from '../util/prng.js';


export interface NetworkConfig {
  /** Layer configs in order; each layer's inChannels is the previous layer's output width. */
  layers: GATv2Config[];
  /** Nonlinearity after every layer but the last. */
  activation: Activation;
  /** Dropout probability on each layer's input features (training only). */
  inputDropout: number;
}

/** The knobs of the GAT recipe; buildNetworkConfig turns them into per-layer configs. */
export interface NetworkShape {
  inFeatures: number;
  numClasses: number;
  /** Number of GATv2 layers (>= 1). */
  layers: number;
  /** Channels per head of the hidden layers. */
  hidden: number;
  /** Heads of the hidden layers (concatenated). */
  heads: number;
  /** Heads of the output layer. */
  outputHeads: number;
  /** Concatenate the output heads (each then has numClasses / outputHeads channels) instead of averaging. */
  outputConcat: boolean;
  activation: Activation;
  inputDropout: number;
  attentionDropout: number;
  negativeSlope: number;
  addSelfLoops: boolean;
  bias: boolean;
  shareWeights: boolean;
  residual: boolean;
  /** Edge feature width (PyG's edge_dim), from the dataset; absent or null: none. */
  edgeDim?: number | null;
}

function checkProbability(name: string, p: number): void {
  if (!(p >= 0 && p < 1)) throw new InputError(`${name} must be in [0, 1), got ${p}`);
}

function checkPositiveInt(name: string, v: number): void {
  if (!(Number.isInteger(v) && v >= 1)) throw new InputError(`${name} must be a positive integer, got ${v}`);
}

/** Checks the options that do not depend on the dataset (flag names in the messages). */
export function checkNetworkShape(s: Omit<NetworkShape, 'inFeatures' | 'numClasses'>): void {
  checkPositiveInt('--layers', s.layers);
  checkPositiveInt('--hidden', s.hidden);
  checkPositiveInt('--heads', s.heads);
  checkPositiveInt('--output-heads', s.outputHeads);
  checkProbability('--dropout', s.inputDropout);
  checkProbability('--attention-dropout', s.attentionDropout);
  if (!ACTIVATIONS.includes(s.activation)) {
    throw new InputError(`--activation must be one of ${ACTIVATIONS.join(', ')}, got "${s.activation}"`);
  }
  if (!(s.negativeSlope >= 0)) throw new InputError(`--negative-slope must be >= 0, got ${s.negativeSlope}`);
}

export function buildNetworkConfig(s: NetworkShape): NetworkConfig {
  checkNetworkShape(s);
  if (s.outputConcat && s.numClasses % s.outputHeads !== 0) {
    throw new InputError(
      `--output-concat with ${s.outputHeads} output heads needs the ${s.numClasses} classes to split evenly over the heads; ` +
        'use --no-output-concat (average the heads) or a number of heads that divides the class count',
    );
  }
  const common = {
    ...DEFAULT_CONFIG,
    negativeSlope: s.negativeSlope,
    dropout: s.attentionDropout,
    addSelfLoops: s.addSelfLoops,
    bias: s.bias,
    shareWeights: s.shareWeights,
    residual: s.residual,
    edgeDim: s.edgeDim ?? null,
  };
  const layers: GATv2Config[] = [];
  let width = s.inFeatures;
  for (let l = 0; l < s.layers; l++) {
    const last = l === s.layers - 1;
    const cfg: GATv2Config = last
      ? {
          ...common,
          inChannels: width,
          heads: s.outputHeads,
          concat: s.outputConcat,
          outChannels: s.outputConcat ? s.numClasses / s.outputHeads : s.numClasses,
        }
      : { ...common, inChannels: width, heads: s.heads, concat: true, outChannels: s.hidden };
    layers.push(cfg);
    width = outputWidth(cfg);
  }
  return { layers, activation: s.activation, inputDropout: s.inputDropout };
}

export function numClassesOf(net: NetworkConfig): number {
  return outputWidth(net.layers[net.layers.length - 1]);
}

/** PyG's module name of layer l (0-based): conv1, conv2, ... */
export function layerPrefix(l: number): string {
  return `conv${l + 1}.`;
}

export function networkParamShapes(net: NetworkConfig): Record<string, number[]> {
  const shapes: Record<string, number[]> = {};
  net.layers.forEach((cfg, l) => {
    for (const [name, shape] of Object.entries(paramShapes(cfg))) shapes[layerPrefix(l) + name] = shape;
  });
  return shapes;
}

/**
 * Seed streams, deriveSeed's first path element: init (per layer), step (per epoch, the trainer's
 * seed of one training forward pass) and dropout (per layer of a pass, from the pass's seed).
 */
export const SEED_STREAM = { init: 1, step: 2, dropout: 3 } as const;

/** Glorot-uniform weights and zero biases (initParams per layer), each layer from its own seed. */
export function initNetworkParams(net: NetworkConfig, seed: number): Record<string, tf.Tensor> {
  const params: Record<string, tf.Tensor> = {};
  net.layers.forEach((cfg, l) => {
    const p = initParams(cfg, deriveSeed(seed, SEED_STREAM.init, l));
    for (const [name, t] of Object.entries(p)) params[layerPrefix(l) + name] = t;
  });
  return params;
}

/** What the network reads: node features (dense or CSR) and the graph's edge layout, on the backend. */
export interface NetworkInputs {
  x: NodeInput;
  graph: GraphTensors;
  /** Edge features [input edges, edgeDim] in input edge order, when the dataset has them. */
  edgeAttr?: tf.Tensor2D;
  /**
   * Mini-batch inputs (src/train/minibatch.ts): layer l runs on blocks[l].graph instead of graph,
   * x holds the first block's source rows, and each layer's output is cut to its block's first
   * numDst rows (the next block's sources; the last block's are the batch's targets).
   */
  blocks?: Array<{ graph: GraphTensors; numDst: number }>;
  dispose(): void;
}

/** Uploads features (sparse stays sparse: Cora is 1.3% dense) and the layout. */
export function createNetworkInputs(
  features: SparseFeatures | DenseFeatures, layout: GraphLayout, edgeFeatures?: EdgeFeatures,
): NetworkInputs {
  if (features.numNodes !== layout.numNodes) {
    throw new Error(`features have ${features.numNodes} rows but the graph has ${layout.numNodes} nodes`);
  }
  const x: NodeInput =
    features.kind === 'sparse'
      ? {
          kind: 'sparse',
          numRows: features.numNodes,
          numCols: features.numFeatures,
          rowPtr: tf.keep(tf.tensor1d(features.rowPtr, 'int32')),
          colIdx: tf.keep(tf.tensor1d(features.colIdx, 'int32')),
          values: tf.keep(tf.tensor1d(features.values, 'float32')),
        }
      : tf.keep(tf.tensor2d(features.values, [features.numNodes, features.numFeatures]));
  const graph = graphTensors(layout);
  const edgeAttr = edgeFeatures
    ? tf.keep(tf.tensor2d(edgeFeatures.values, [edgeFeatures.values.length / edgeFeatures.dim, edgeFeatures.dim]))
    : undefined;
  return {
    x,
    graph,
    ...(edgeAttr ? { edgeAttr } : {}),
    dispose() {
      releaseInputDropout(x);
      if (isSparse(x)) for (const t of [x.rowPtr, x.colIdx, x.values]) t.dispose();
      else x.dispose();
      graph.dispose();
      edgeAttr?.dispose();
    },
  };
}


/**
 * Dropout of sparse input features acts on the stored values (dropping a zero changes nothing).
 * The sparse projection's backward reads those values after tf.grads has disposed everything its
 * forward made, so the dropped values are kept outside any tidy: one tensor per input, replaced
 * when the seed changes (both gradient modes of one step share it) and freed with the inputs.
 */
const droppedSparse = new WeakMap<SparseMatrix, { key: string; values: tf.Tensor1D }>();

export function dropSparse(x: SparseMatrix, p: number, seed: number): SparseMatrix {
  const key = `${p}:${seed}`;
  let entry = droppedSparse.get(x);
  if (!entry || entry.key !== key) {
    entry?.values.dispose();
    entry = { key, values: tf.keep(tf.tidy(() => dropout(x.values, p, seed))) };
    droppedSparse.set(x, entry);
  }
  return { ...x, values: entry.values };
}

/** Frees the dropped copy of sparse features kept by a training forward pass, if any. */
export function releaseInputDropout(x: NodeInput): void {
  if (!isSparse(x)) return;
  droppedSparse.get(x)?.values.dispose();
  droppedSparse.delete(x);
}

export interface ForwardOptions {
  mode: GradMode;
  /** Applies input and attention dropout. */
  training: boolean;
  /** Seed of this pass's dropout masks (required when training); the same seed, the same masks. */
  seed?: number;
  /** Layer l's intermediates (xl, xr, alpha) pass through this; see LayerForwardOptions.tap. */
  tap?: (layer: number, point: LayerTapPoint, t: tf.Tensor2D) => tf.Tensor2D;
  /** Return each layer's attention (NetworkOutput.attention); otherwise it may be left empty. */
  keepAttention?: boolean;
}

export interface NetworkOutput {
  /** [N, classes], before softmax. */
  logits: tf.Tensor2D;
  /** Per layer: attention [E, H] in CSR order (before attention dropout); empty unless kept. */
  attention: tf.Tensor2D[];
}

/** Splits the flat parameter map into layer l's own names. */
function layerParams(params: Record<string, tf.Tensor>, l: number): LayerParams {
  const prefix = layerPrefix(l);
  const out: LayerParams = {};
  for (const [name, t] of Object.entries(params)) if (name.startsWith(prefix)) out[name.slice(prefix.length)] = t;
  return out;
}

/**
 * The forward pass. Not wrapped in tidy, so it can run inside tf.grads; call it inside tf.tidy.
 * In training, layer l's input dropout uses deriveSeed(seed, dropout, l, 0) and its attention
 * dropout deriveSeed(seed, dropout, l, 1).
 *
 * The analytic mode runs each block (dropout, layer, activation) as one op with its own backward
 * (src/model/layer-block.ts), which keeps far less memory alive through tf.grads; the layer-wise
 * path (stage ops and stock ops, gatv2-layer.ts) serves the autograd twin, taps (diagnostics),
 * kept attention and edge features.
 */
export function networkForward(
  net: NetworkConfig, params: Record<string, tf.Tensor>, inputs: NetworkInputs, opts: ForwardOptions,
): NetworkOutput {
  if (opts.training && opts.seed === undefined) throw new Error('networkForward: training needs a dropout seed');
  const drop = opts.training && net.inputDropout > 0;
  const seedOf = (l: number, which: number) => deriveSeed(opts.seed ?? 0, SEED_STREAM.dropout, l, which);
  const blocks = opts.mode === 'analytic' && !opts.tap && !opts.keepAttention && net.layers.every(blockSupports);
  const attention: tf.Tensor2D[] = [];
  let h: NodeInput = inputs.x;
  const cut = (l: number, y: tf.Tensor2D): tf.Tensor2D => {
    const b = inputs.blocks?.[l];
    return b && b.numDst < y.shape[0] ? tf.slice(y, [0, 0], [b.numDst, y.shape[1]]) : y;
  };
  net.layers.forEach((cfg, l) => {
    const last = l === net.layers.length - 1;
    const graph = inputs.blocks ? inputs.blocks[l]!.graph : inputs.graph;
    if (blocks) {
      h = cut(l, layerBlock({
        cfg,
        inputDropout: net.inputDropout,
        inputSeed: seedOf(l, 0),
        attentionSeed: seedOf(l, 1),
        training: opts.training,
        activation: last ? null : net.activation,
        inputGrad: l > 0,
        ...(inputs.blocks ? { numDst: inputs.blocks[l]!.numDst } : {}),
      }, layerParams(params, l), h, graph));
      return;
    }
    if (drop) h = isSparse(h) ? dropSparse(h, net.inputDropout, seedOf(l, 0)) : dropout(h, net.inputDropout, seedOf(l, 0));
    const r = layerForward(cfg, layerParams(params, l), h, graph, {
      mode: opts.mode,
      training: opts.training,
      dropoutSeed: seedOf(l, 1),
      edgeAttr: inputs.edgeAttr ?? null,
      ...(opts.tap ? { tap: (point: LayerTapPoint, t: tf.Tensor2D) => opts.tap!(l, point, t) } : {}),
    });
    attention.push(r.alpha);
    h = cut(l, last ? r.output : activate(r.output, net.activation));
  });
  return { logits: h as tf.Tensor2D, attention };
}
