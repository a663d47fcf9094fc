/**
 * GATv2Conv for TF.js users: PyTorch Geometric's `GATv2Conv` (same options, same defaults, same
 * parameter names) as a layer holding tf.Variables, whose forward is this project's layer
 * (src/model/gatv2-layer.ts) and whose backward is the analytic one: the stage ops' customGrad
 * backward (src/ops), not TF.js autodiff. tf.variableGrads and optimizer.minimize therefore train
 * it in a user's own loop exactly as the CLI's layer-wise path does.
 *
 * Weights are kept in TF.js layouts (Linear weights [in, out], att [H*C]) under PyG's names;
 * stateDict() / loadStateDict() convert from and to PyG's layouts ([out, in], att [1, H, C]).
 */
import * as tf from '@tensorflow/tfjs-core';
import { InputError } from '../util/errors.js';
import { DEFAULT_CONFIG, outputWidth, pygParamShapes, type GATv2Config } from '../model/config.js';
import { initParams, layerForward } from '../model/gatv2-layer.js';
import { deriveSeed } from '../util/prng.js';
import type { GradMode } from '../ops/graph-tensors.js';
import type { NodeInput } from '../ops/linear.js';
import type { Graph } from './graph.js';

/** Node features: a dense [N, F] tensor, or the sparse CSR matrix loadDataset gives for sparse data. */
export type Features = NodeInput;

/** PyG's GATv2Conv arguments in camelCase; all but the channel counts have PyG's defaults. */
export interface GATv2ConvOptions extends Partial<Omit<GATv2Config, 'inChannels' | 'outChannels'>> {
  inChannels: number;
  outChannels: number;
  /** Seed of the Glorot initialisation and of the attention-dropout masks (default 0). */
  seed?: number;
  /** Prefix of the variables' names in TF.js's registry (unique; default gatv2conv_<k>). */
  name?: string;
}

export interface ApplyOptions {
  /** Attention dropout on (default false: inference). */
  training?: boolean;
  /** Edge features [E, edgeDim] (or [E] when edgeDim is 1), in the order of the graph's edges. */
  edgeAttr?: tf.Tensor;
  /** Also return the attention coefficients, as PyG's return_attention_weights. */
  returnAttention?: boolean;
  /**
   * Seed of this call's attention-dropout mask. Default: derived from the layer's seed and a count
   * of its training calls, so a run is reproducible without passing seeds.
   */
  seed?: number;
  /** 'analytic' (default): the hand-derived backward; 'autograd': TF.js autodiff, to compare. */
  grad?: GradMode;
}

export interface Attention {
  /** [2, E'] int32: the edges attended over in PyG's order (input edges kept, then added loops). */
  edgeIndex: tf.Tensor2D;
  /** [E', heads]: attention of each edge and head (before dropout). */
  alpha: tf.Tensor2D;
}

let instances = 0;

export class GATv2Conv {
  readonly config: GATv2Config;
  readonly name: string;
  /** Every parameter under its PyG name ("lin_l.weight", "att", ...), in TF.js layouts. */
  readonly params: Readonly<Record<string, tf.Variable>>;
  readonly lin_l: { weight: tf.Variable; bias?: tf.Variable };
  /** lin_l itself when shareWeights. */
  readonly lin_r: { weight: tf.Variable; bias?: tf.Variable };
  readonly att: tf.Variable;
  readonly bias?: tf.Variable;
  readonly lin_edge?: { weight: tf.Variable };
  readonly res?: { weight: tf.Variable };
  readonly #seed: number;
  #trainingCalls = 0;

  constructor(options: GATv2ConvOptions) {
    const { seed = 0, name, ...rest } = options;
    const cfg: GATv2Config = { ...DEFAULT_CONFIG, ...rest };
    checkConfig(cfg);
    this.config = cfg;
    this.#seed = seed;
    this.name = name ?? `gatv2conv_${instances++}`;
    const init = initParams(cfg, deriveSeed(seed, 0));
    const vars: Record<string, tf.Variable> = {};
    for (const [n, t] of Object.entries(init)) {
      vars[n] = tf.variable(t, true, `${this.name}.${n}`);
      t.dispose();
    }
    this.params = vars;
    this.lin_l = { weight: vars['lin_l.weight'], ...(vars['lin_l.bias'] ? { bias: vars['lin_l.bias'] } : {}) };
    this.lin_r = cfg.shareWeights ? this.lin_l : { weight: vars['lin_r.weight'], ...(vars['lin_r.bias'] ? { bias: vars['lin_r.bias'] } : {}) };
    this.att = vars['att'];
    if (vars['bias']) this.bias = vars['bias'];
    if (vars['lin_edge.weight']) this.lin_edge = { weight: vars['lin_edge.weight'] };
    if (vars['res.weight']) this.res = { weight: vars['res.weight'] };
  }

  /** Width of the output: heads * outChannels when concatenating, outChannels otherwise. */
  get outputChannels(): number {
    return outputWidth(this.config);
  }

  /** The trainable variables (for optimizer.minimize's varList or tf.variableGrads). */
  trainableWeights(): tf.Variable[] {
    return Object.values(this.params);
  }

  /** The layer on node features x ([N, inChannels]) over `graph`: [N, outputChannels]. */
  apply(x: Features, graph: Graph, options?: ApplyOptions & { returnAttention?: false }): tf.Tensor2D;
  apply(x: Features, graph: Graph, options: ApplyOptions & { returnAttention: true }): { output: tf.Tensor2D; attention: Attention };
  apply(x: Features, graph: Graph, options: ApplyOptions = {}): tf.Tensor2D | { output: tf.Tensor2D; attention: Attention } {
    const cfg = this.config;
    const training = options.training ?? false;
    const g = graph.tensors(cfg.addSelfLoops);
    let edgeAttr: tf.Tensor2D | null = null;
    if (cfg.edgeDim !== null) {
      if (!options.edgeAttr) throw new InputError(`${this.name}: edgeDim is ${cfg.edgeDim}, so apply() needs options.edgeAttr`);
      const ea = options.edgeAttr;
      edgeAttr = (ea.rank === 1 ? tf.reshape(ea, [ea.shape[0], 1]) : ea) as tf.Tensor2D;
      if (edgeAttr.rank !== 2 || edgeAttr.shape[0] !== graph.numEdges || edgeAttr.shape[1] !== cfg.edgeDim) {
        throw new InputError(`${this.name}: edgeAttr must have shape [${graph.numEdges}, ${cfg.edgeDim}], got [${ea.shape}]`);
      }
    } else if (options.edgeAttr) {
      throw new InputError(`${this.name}: edgeAttr given, but the layer was made without edgeDim`);
    }
    let dropoutSeed = options.seed;
    if (training && dropoutSeed === undefined) dropoutSeed = deriveSeed(this.#seed, 1, this.#trainingCalls++);
    const r = layerForward(cfg, this.params, x, g, {
      mode: options.grad ?? 'analytic',
      training,
      edgeAttr,
      ...(dropoutSeed !== undefined ? { dropoutSeed } : {}),
    });
    if (!options.returnAttention) {
      r.alpha.dispose();
      return r.output;
    }
    const E = g.layout.numEdges;
    const alpha = tf.gather(r.alpha, graph.positionOfEdge(cfg.addSelfLoops)) as tf.Tensor2D;
    const edgeIndex = tf.tensor2d(graph.attentionEdgeIndex(cfg.addSelfLoops), [2, E], 'int32');
    return { output: r.output, attention: { edgeIndex, alpha } };
  }

  /** The parameters in PyG's layouts and names (new tensors; the caller disposes them). */
  stateDict(): Record<string, tf.Tensor> {
    const shapes = pygParamShapes(this.config);
    return tf.tidy(() => {
      const out: Record<string, tf.Tensor> = {};
      for (const [n, shape] of Object.entries(shapes)) {
        const v = this.params[n];
        out[n] = n.endsWith('.weight') ? tf.transpose(v) : tf.reshape(v, shape);
      }
      return out;
    });
  }

  /** Assigns parameters given in PyG's layouts and names (e.g. a torch state_dict's tensors). */
  loadStateDict(state: Record<string, tf.Tensor>): void {
    const shapes = pygParamShapes(this.config);
    for (const n of Object.keys(state)) {
      if (!(n in shapes)) throw new InputError(`${this.name}: "${n}" is not a parameter of this layer (it has ${Object.keys(shapes).join(', ')})`);
    }
    for (const [n, shape] of Object.entries(shapes)) {
      const t = state[n];
      if (!t) throw new InputError(`${this.name}: the state has no "${n}"`);
      if (t.shape.join(',') !== shape.join(',')) {
        throw new InputError(`${this.name}: "${n}" has shape [${t.shape}], PyG's layout needs [${shape}]`);
      }
    }
    tf.tidy(() => {
      for (const [n, v] of Object.entries(this.params)) {
        const t = state[n];
        v.assign(n.endsWith('.weight') ? tf.transpose(t) : tf.reshape(t, v.shape));
      }
    });
  }

  /** Frees the variables. */
  dispose(): void {
    tf.dispose(Object.values(this.params));
  }
}

function checkConfig(c: GATv2Config): void {
  const posInt = (k: keyof GATv2Config) => {
    const v = c[k] as number;
    if (!(Number.isInteger(v) && v >= 1)) throw new InputError(`GATv2Conv: ${k} must be a positive integer, got ${v}`);
  };
  posInt('inChannels');
  posInt('outChannels');
  posInt('heads');
  if (c.edgeDim !== null) posInt('edgeDim');
  if (!(c.dropout >= 0 && c.dropout < 1)) throw new InputError(`GATv2Conv: dropout must be in [0, 1), got ${c.dropout}`);
  if (!(c.negativeSlope >= 0)) throw new InputError(`GATv2Conv: negativeSlope must be >= 0, got ${c.negativeSlope}`);
  if (c.fillValue !== 'mean') throw new InputError(`GATv2Conv: only fillValue 'mean' (PyG's default) is supported, got "${c.fillValue}"`);
}
