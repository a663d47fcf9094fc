/**
 * A dataset's feature columns put in the order a trained model expects. When the model was trained
 * on named features (a `feature_name` column, or a dense header other than f0..fN), its checkpoint
 * holds the names in column order, and another file (other rows order, other column order, a
 * subset of the sparse names) is matched to it by name, so the same data always gives the same
 * predictions. Numbered features are matched by number, as before.
 */
import { InputError } from '../util/errors.js';
import type { DenseFeatures, GraphDataset, SparseFeatures } from './dataset.js';

export interface ModelFeatures {
  numFeatures: number;
  featureNames?: string[];
}

export function alignFeatures(ds: Pick<GraphDataset, 'name' | 'features' | 'featureNames'>, model: ModelFeatures): SparseFeatures | DenseFeatures {
  const f = ds.features;
  if (model.featureNames === undefined) {
    if (f.numFeatures !== model.numFeatures) {
      throw new InputError(`${ds.name} has ${f.numFeatures} features per node, the model was trained on ${model.numFeatures}`);
    }
    return f;
  }
  const names = model.featureNames;
  if (ds.featureNames === undefined) {
    throw new InputError(
      `${ds.name}: its features are numbered, the model's are named ("${names.slice(0, 3).join('", "')}", ...); give features.csv with the model's feature names`,
    );
  }
  const index = new Map(names.map((n, k) => [n, k]));
  const target = new Int32Array(ds.featureNames.length);
  let identity = ds.featureNames.length === names.length;
  ds.featureNames.forEach((n, j) => {
    const k = index.get(n);
    if (k === undefined) {
      throw new InputError(`${ds.name}: feature "${n}" is not one of the model's ${names.length} features; remove it, or train on this data`);
    }
    target[j] = k;
    if (k !== j) identity = false;
  });
  if (identity) return f;
  if (f.kind === 'dense') {
    const present = new Uint8Array(names.length);
    for (const k of target) present[k] = 1;
    const missing = names.findIndex((_, k) => present[k] === 0);
    if (missing >= 0) {
      throw new InputError(`${ds.name}: features.csv has no column "${names[missing]}", which the model was trained on; add it`);
    }
    return permuteDense(f, target, names.length);
  }
  return permuteSparse(f, target, names.length);
}

function permuteDense(f: DenseFeatures, target: Int32Array, width: number): DenseFeatures {
  const values = new Float32Array(f.numNodes * width);
  for (let i = 0; i < f.numNodes; i++) {
    for (let j = 0; j < f.numFeatures; j++) values[i * width + target[j]] = f.values[i * f.numFeatures + j];
  }
  return { kind: 'dense', numNodes: f.numNodes, numFeatures: width, values };
}

function permuteSparse(f: SparseFeatures, target: Int32Array, width: number): SparseFeatures {
  const colIdx = new Int32Array(f.colIdx.length);
  const values = new Float32Array(f.values.length);
  for (let i = 0; i < f.numNodes; i++) {
    const lo = f.rowPtr[i];
    const hi = f.rowPtr[i + 1];
    // Columns stay ascending within a row.
    const order = Array.from({ length: hi - lo }, (_, k) => lo + k).sort((a, b) => target[f.colIdx[a]] - target[f.colIdx[b]]);
    order.forEach((p, k) => {
      colIdx[lo + k] = target[f.colIdx[p]];
      values[lo + k] = f.values[p];
    });
  }
  return { kind: 'sparse', numNodes: f.numNodes, numFeatures: width, rowPtr: f.rowPtr.slice(), colIdx, values };
}
