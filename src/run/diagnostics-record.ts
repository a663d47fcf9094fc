/**
 * The gradient-flow diagnostics as plain JSON (what diagnoseNetwork returns, what one line of
 * diagnostics.jsonl holds, what the report plots). Every number is finite or null, so
 * JSON.stringify round-trips it.
 *
 * The quantities come from gradients.md, "The paper's main insight": the gradient Theta_R receives
 * from destination i in channel c is a * sum_{k -> i} dL/de_k s_k[c], which the paper rewrites as a
 * sum over PAIRS of i's in-neighbours; it is exactly zero when i has one in-neighbour and zero in
 * channel c when all of i's neighbours sit on one side of the LeakyReLU.
 */
import type { GradMode } from '../ops/graph-tensors.js';

export const DIAGNOSTICS_FORMAT = 'gatv2-diagnostics';
export const DIAGNOSTICS_VERSION = 1;

/** Cut-offs of the attention shares. */
export interface Thresholds {
  /** A (node, head) is "nearly uniform" when its entropy / log(in-degree) exceeds this. */
  uniformEntropy: number;
  /** A (node, head) is "nearly one-hot" when its largest alpha exceeds this. */
  oneHotAlpha: number;
}

export const DEFAULT_THRESHOLDS: Thresholds = { uniformEntropy: 0.9, oneHotAlpha: 0.9 };

/** Summary of a sample: mean and quantiles (linear interpolation). null fields when it is empty. */
export interface Summary {
  count: number;
  mean: number | null;
  min: number | null;
  q10: number | null;
  q25: number | null;
  median: number | null;
  q75: number | null;
  q90: number | null;
  max: number | null;
}

/** A histogram: counts[b] values fell in [edges[b], edges[b+1]) (the last bin is closed). */
export interface Histogram {
  edges: number[];
  counts: number[];
}

/** A labelled histogram of in-degrees (bins 0, 1, 2, ..., then ranges: "8-15", ...). */
export interface DegreeHistogram {
  labels: string[];
  counts: number[];
}

/** Gradient and parameter norm of one parameter or of a group of them (Frobenius). */
export interface NormPair {
  grad: number;
  weight: number;
  /** grad / weight; null when the weight is zero (biases at initialisation). */
  ratio: number | null;
}

export interface GradNorms {
  /** lin_r.weight and lin_r.bias together; null with share_weights (Theta_R is Theta_L). */
  thetaR: NormPair | null;
  /** lin_l.weight and lin_l.bias together. */
  thetaL: NormPair;
  att: NormPair;
  /** The output bias b; null without bias. */
  bias: NormPair | null;
  /** Every parameter of the layer by its PyG name without the "convN." prefix. */
  params: Record<string, NormPair>;
}

export interface Starvation {
  /** Destinations with in-degree exactly 1 (e.g. only the self loop): Theta_R gets nothing from them. */
  inDegreeOne: number;
  inDegreeOneShare: number;
  /** Destinations without in-edges (only without self loops): they take part in no attention. */
  inDegreeZero: number;
  /** Destinations whose attention receives gradient (some dL/dalpha_k != 0 in their row). */
  active: number;
  /** Share of the active destinations with in-degree 1: the paper's starved nodes. */
  activeInDegreeOneShare: number | null;
  /** Share of the active destinations whose dL/dxr row is exactly 0 (measured, not predicted). */
  activeZeroRowShare: number | null;
}

export interface LeakySides {
  /** (node, head, channel) triples of destinations with in-degree >= 2. */
  triples: number;
  /** Those triples whose pre-activations z_k[c] over all of i's in-edges share one LeakyReLU side. */
  oneSide: number;
  oneSideShare: number | null;
  /** Share of all triples of destinations with in-degree >= 1 whose Theta_R gradient is structurally 0 (in-degree 1 or one side). */
  noGradShare: number | null;
  /** Share of all pre-activations z (E x H x C) on the negative side (z <= 0, slope c). */
  negativeShare: number | null;
}

export interface AttentionStats {
  /** (node, head) pairs of destinations with in-degree >= 2, over which the rest is taken. */
  pairs: number;
  /** Entropy of alpha over i's in-edges divided by log(in-degree): 0 one-hot, 1 uniform. */
  entropy: Summary;
  /** Histogram of the normalised entropy over [0, 1]. */
  entropyHistogram: Histogram;
  /** Largest alpha of the row. */
  maxAlpha: Summary;
  nearlyUniformShare: number | null;
  nearlyOneHotShare: number | null;
  /** Destinations of in-degree 1, left out above (their single alpha is 1). */
  inDegreeOne: number;
}

/** Norms of the node-level gradients of the layer. */
export interface NodeGradNorms {
  /** ||dL/dxr||: the score stage's only output towards Theta_R. */
  dxr: number;
  /** ||dL/dxl|| through the score stage alone (host loops). */
  dxlScore: number;
  /** ||dL/dxl|| in total (score + message path), from the tape. */
  dxl: number;
}

/** The host loops checked against the gradients TF.js computed on the tape. */
export interface Consistency {
  /** max |host dxr - tape dL/dxr| / max |tape dL/dxr|; null with share_weights. */
  dxrRelErr: number | null;
  /** |sum_i host dxr[i] - grad lin_r.bias| / max(|grad lin_r.bias|); null without lin_r.bias. */
  thetaRBiasRelErr: number | null;
  /** Every in-degree-1 destination's tape dL/dxr row is exactly 0 (null with share_weights). */
  starvedRowsZero: boolean | null;
  /**
   * max |host dxr[i,h,c]| over one-side triples / max |host dxr|: the pair form says 0, floats
   * leave rounding (sum_k dL/de_k = 0 holds only up to rounding).
   */
  oneSideResidual: number | null;
}

export interface LayerDiagnostics {
  layer: number;
  /** "conv1", ... */
  name: string;
  heads: number;
  channels: number;
  gradNorms: GradNorms;
  nodeGrads: NodeGradNorms;
  starvation: Starvation;
  leaky: LeakySides;
  attention: AttentionStats;
  check: Consistency;
}

export interface GraphStats {
  numNodes: number;
  numEdges: number;
  selfLoops: boolean;
  inDegree: Summary;
  inDegreeOne: number;
  inDegreeZero: number;
  inDegreeHistogram: DegreeHistogram;
}

export interface NetworkDiagnostics {
  format: typeof DIAGNOSTICS_FORMAT;
  version: typeof DIAGNOSTICS_VERSION;
  mode: GradMode;
  /** Training mode: dropout on, masks from seed. */
  training: boolean;
  seed: number | null;
  /** Cross-entropy of the pass. Gradients are of it alone: weight decay is left out (see diagnose.ts). */
  loss: number;
  weightDecay: number;
  thresholds: Thresholds;
  graph: GraphStats;
  layers: LayerDiagnostics[];
  /** Wall time of the whole diagnosis. */
  ms: number;
}
