/**
 * A loaded dataset made ready for the network on the host: features normalised as configured, the
 * edge layout built once, the split indices listed. Shared by train, evaluate, predict and the
 * gradient checks, so all of them see exactly the same inputs.
 */
import { SPLITS, splitIndices, type DenseFeatures, type GraphDataset, type Split, type SparseFeatures } from './dataset.js';
import { applyNormalization, type FeatureNormalization } from './feature-normalization.js';
import { randomSplit, type RandomSplit } from './split.js';
import { toUndirected, type UndirectedReduce } from './undirected.js';
import { buildLayout, type GraphLayout } from '../graph/layout.js';

export interface DataOptions {
  /** The feature transform; true is row (divide each row by its sum, the GAT recipe), false none. */
  normalizeFeatures: FeatureNormalization | boolean;
  addSelfLoops: boolean;
  /** PyG's ToUndirected with this reduce for merged edges' features (absent or null: as loaded). */
  toUndirected?: UndirectedReduce | null;
  /** Replace the dataset's split with a stratified random one (absent or null: keep it). */
  split?: RandomSplit | null;
}

export interface PreparedData {
  dataset: GraphDataset;
  features: SparseFeatures | DenseFeatures;
  layout: GraphLayout;
  numClasses: number;
  splits: Record<Split, Int32Array>;
}

/** The dataset with --to-undirected and --split applied (the input is left as it is). */
export function transformDataset(loaded: GraphDataset, opts: Pick<DataOptions, 'toUndirected' | 'split'>): GraphDataset {
  let ds = loaded;
  if (opts.toUndirected) {
    const u = toUndirected(ds.nodeIds.length, ds.edgeSource, ds.edgeTarget, ds.edgeAttr, opts.toUndirected);
    ds = { ...ds, edgeSource: u.source, edgeTarget: u.target };
    if (u.edgeAttr) ds.edgeAttr = u.edgeAttr;
  }
  if (opts.split) ds = { ...ds, split: randomSplit(ds.labels, ds.classNames.length, opts.split) };
  return ds;
}

export function prepareData(loaded: GraphDataset, opts: DataOptions): PreparedData {
  const ds = transformDataset(loaded, opts);
  const splits = {} as Record<Split, Int32Array>;
  for (const s of SPLITS) splits[s] = splitIndices(ds, s);
  return {
    dataset: ds,
    features: applyNormalization(ds.features, normalizationOf(opts.normalizeFeatures)),
    layout: buildLayout(ds.nodeIds.length, ds.edgeSource, ds.edgeTarget, { addSelfLoops: opts.addSelfLoops }),
    numClasses: ds.classNames.length,
    splits,
  };
}

function normalizationOf(n: FeatureNormalization | boolean): FeatureNormalization {
  return typeof n === 'boolean' ? { mode: n ? 'row' : 'none' } : n;
}
