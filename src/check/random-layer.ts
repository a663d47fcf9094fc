/**
 * Seeded random GATv2 layer cases for the checks: a graph with the awkward features asked for
 * (isolated nodes, duplicate edges, a hub, input self loops), Glorot-uniform weights, normal
 * features and a normal upstream gradient.
 */
import { type GATv2Config, DEFAULT_CONFIG, outputWidth, pygParamShapes } from '../model/config.js';
import { type Dense64, sizeOf } from './dense.js';
import { Prng } from '../util/prng.js';
import type { ReferenceInput } from './reference.js';

export interface RandomLayerOptions {
  numNodes: number;
  /** Random edges (uniform source, uniform non-isolated destination; may include self loops). */
  numEdges: number;
  inChannels: number;
  outChannels: number;
  heads: number;
  concat?: boolean;
  edgeDim?: number | null;
  residual?: boolean;
  shareWeights?: boolean;
  bias?: boolean;
  addSelfLoops?: boolean;
  negativeSlope?: number;
  /** The last `isolated` nodes receive no in-edge (they may still send). */
  isolated?: number;
  /** Extra copies of randomly chosen random edges. */
  duplicates?: number;
  /** Node 0 receives this many extra in-edges from random sources. */
  hubInDegree?: number;
  /** Extra explicit self loops on random non-isolated nodes. */
  selfLoops?: number;
  seed: number;
}

export function randomLayerCase(opts: RandomLayerOptions): { input: ReferenceInput; upstream: Dense64 } {
  const rng = new Prng(opts.seed);
  const n = opts.numNodes;
  const isolated = opts.isolated ?? 0;
  const receivers = n - isolated;
  const wantsEdges = opts.numEdges + (opts.hubInDegree ?? 0) + (opts.selfLoops ?? 0) > 0;
  if (receivers < 1 && wantsEdges) throw new Error('randomLayerCase: every node is isolated but edges were asked for');
  if ((opts.duplicates ?? 0) > 0 && opts.numEdges === 0) throw new Error('randomLayerCase: duplicates need numEdges > 0');

  const config: GATv2Config = {
    ...DEFAULT_CONFIG,
    inChannels: opts.inChannels,
    outChannels: opts.outChannels,
    heads: opts.heads,
    concat: opts.concat ?? DEFAULT_CONFIG.concat,
    edgeDim: opts.edgeDim ?? null,
    residual: opts.residual ?? DEFAULT_CONFIG.residual,
    shareWeights: opts.shareWeights ?? DEFAULT_CONFIG.shareWeights,
    bias: opts.bias ?? DEFAULT_CONFIG.bias,
    addSelfLoops: opts.addSelfLoops ?? DEFAULT_CONFIG.addSelfLoops,
    negativeSlope: opts.negativeSlope ?? DEFAULT_CONFIG.negativeSlope,
  };

  const edges: [number, number][] = [];
  for (let k = 0; k < opts.numEdges; k++) edges.push([rng.int(n), rng.int(receivers)]);
  for (let k = 0; k < (opts.duplicates ?? 0); k++) edges.push([...edges[rng.int(opts.numEdges)]!]);
  for (let k = 0; k < (opts.hubInDegree ?? 0); k++) edges.push([rng.int(n), 0]);
  for (let k = 0; k < (opts.selfLoops ?? 0); k++) {
    const v = rng.int(receivers);
    edges.push([v, v]);
  }
  rng.shuffle(edges); // so duplicates and hub edges are not adjacent in the list
  const edgeIndex: [Int32Array, Int32Array] = [
    Int32Array.from(edges, (e) => e[0]),
    Int32Array.from(edges, (e) => e[1]),
  ];

  const normal = (shape: number[], std = 1): Dense64 => ({
    shape,
    data: Float64Array.from({ length: sizeOf(shape) }, () => rng.normal(0, std)),
  });
  // Glorot uniform over (fan_out, fan_in) = the last two dims, as PyG's glorot does (att too).
  const glorot = (shape: number[]): Dense64 => {
    const fanIn = shape[shape.length - 1]!;
    const fanOut = shape[shape.length - 2]!;
    const limit = Math.sqrt(6 / (fanIn + fanOut));
    return { shape, data: Float64Array.from({ length: sizeOf(shape) }, () => rng.range(-limit, limit)) };
  };

  const params: Record<string, Dense64> = {};
  for (const [name, shape] of Object.entries(pygParamShapes(config))) {
    // PyG zero-initialises biases; small random ones exercise their gradients instead.
    params[name] = shape.length === 1 ? normal(shape, 0.1) : glorot(shape);
  }
  const input: ReferenceInput = {
    config,
    numNodes: n,
    edgeIndex,
    x: normal([n, config.inChannels]),
    edgeAttr: config.edgeDim === null ? null : normal([edges.length, config.edgeDim]),
    params,
  };
  return { input, upstream: normal([n, outputWidth(config)]) };
}
