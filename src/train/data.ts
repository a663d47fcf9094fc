/**
 * A loaded dataset made ready for the network on the host: features normalised as configured, the
 * edge layout built once, the split indices listed. Shared by train, evaluate, predict and the
 * gradient checks, so all of them see exactly the same inputs.
 */
import { SPLITS, splitIndices, type DenseFeatures, type GraphDataset, type Split, type SparseFeatures } from '../data/dataset.js';
import { applyNormalization, type FeatureNormalization } from '../data/feature-normalization.js';
import { buildLayout, type GraphLayout } from '../graph/layout.js';

export interface DataOptions {
  /** The feature transform; true is row (divide each row by its sum, the GAT recipe), false none. */
  normalizeFeatures: FeatureNormalization | boolean;
  addSelfLoops: boolean;
}

export interface PreparedData {
  dataset: GraphDataset;
  features: SparseFeatures | DenseFeatures;
  layout: GraphLayout;
  numClasses: number;
  splits: Record<Split, Int32Array>;
}

export function prepareData(ds: GraphDataset, opts: DataOptions): PreparedData {
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
