/**
 * A loaded dataset made ready for the network on the host: features normalised as configured, the
 * edge layout built once, the split indices listed. Shared by train, evaluate, predict and the
 * gradient checks, so all of them see exactly the same inputs.
 */
import { SPLITS, splitIndices, type DenseFeatures, type GraphDataset, type Split, type SparseFeatures } from '../data/dataset.js';
import { rowNormalize } from '../data/normalize.js';
import { buildLayout, type GraphLayout } from '../graph/layout.js';

export interface DataOptions {
  /** Divide each feature row by its sum (the GAT recipe). */
  normalizeFeatures: boolean;
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
    features: opts.normalizeFeatures ? rowNormalize(ds.features) : ds.features,
    layout: buildLayout(ds.nodeIds.length, ds.edgeSource, ds.edgeTarget, { addSelfLoops: opts.addSelfLoops }),
    numClasses: ds.classNames.length,
    splits,
  };
}
