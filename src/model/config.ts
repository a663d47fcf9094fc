/**
 * Options of one GATv2 layer, named after PyTorch Geometric's `GATv2Conv` (camelCase here,
 * snake_case in PyG and in the fixture files). Defaults are PyG's.
 */
export interface GATv2Config {
  /** F: input features per node. */
  inChannels: number;
  /** C: channels per head. */
  outChannels: number;
  /** H: attention heads. */
  heads: number;
  /** true: output is the H*C concatenation of the heads; false: the mean over heads (C). */
  concat: boolean;
  /** LeakyReLU slope on the negative side (gradients.md's c). */
  negativeSlope: number;
  /** Attention dropout probability (applied to alpha in training only). */
  dropout: number;
  /** Remove every existing self loop, then add one per node (PyG's rule). */
  addSelfLoops: boolean;
  /** Edge feature width, or null for none. */
  edgeDim: number | null;
  /** How the added self loops get edge features; only 'mean' (PyG's default) is supported. */
  fillValue: 'mean';
  /** Output bias b. */
  bias: boolean;
  /** lin_r is lin_l (W_R = W_L, b_R = b_L). */
  shareWeights: boolean;
  /** y += x W_res (no bias). */
  residual: boolean;
}

export const DEFAULT_CONFIG: Omit<GATv2Config, 'inChannels' | 'outChannels'> = {
  heads: 1,
  concat: true,
  negativeSlope: 0.2,
  dropout: 0,
  addSelfLoops: true,
  edgeDim: null,
  fillValue: 'mean',
  bias: true,
  shareWeights: false,
  residual: false,
};

/** Output width of the layer: H*C when concatenating heads, C when averaging them. */
export function outputWidth(cfg: GATv2Config): number {
  return cfg.concat ? cfg.heads * cfg.outChannels : cfg.outChannels;
}

/** PyG parameter names and their shapes (torch.nn.Linear layout [out, in]) for a config. */
export function pygParamShapes(cfg: GATv2Config): Record<string, number[]> {
  const hc = cfg.heads * cfg.outChannels;
  const shapes: Record<string, number[]> = {};
  shapes['att'] = [1, cfg.heads, cfg.outChannels];
  if (cfg.bias) shapes['bias'] = [outputWidth(cfg)];
  shapes['lin_l.weight'] = [hc, cfg.inChannels];
  if (cfg.bias) shapes['lin_l.bias'] = [hc];
  if (!cfg.shareWeights) {
    shapes['lin_r.weight'] = [hc, cfg.inChannels];
    if (cfg.bias) shapes['lin_r.bias'] = [hc];
  }
  if (cfg.edgeDim !== null) shapes['lin_edge.weight'] = [hc, cfg.edgeDim];
  if (cfg.residual) shapes['res.weight'] = [outputWidth(cfg), cfg.inChannels];
  return shapes;
}
