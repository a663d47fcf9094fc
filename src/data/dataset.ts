/**
 * The in-memory form of a node-classification dataset: one graph, features per node, a label and a
 * split per node. Everything is indexed by node index 0..N-1 (nodes.csv order); the user's own ids
 * and label strings are kept so outputs can name them again.
 */

export type Split = 'train' | 'val' | 'test' | 'unlabeled';

/** Split names in code order: `split[i]` holds the index of the name here. */
export const SPLITS: readonly Split[] = ['train', 'val', 'test', 'unlabeled'];

/** Split name -> code stored in `GraphDataset.split`. */
export const SPLIT_CODES: Readonly<Record<Split, number>> = { train: 0, val: 1, test: 2, unlabeled: 3 };

/** Features as CSR: row i (node i) holds colIdx/values[rowPtr[i] .. rowPtr[i+1]), columns ascending. */
export interface SparseFeatures {
  kind: 'sparse';
  numNodes: number;
  numFeatures: number;
  rowPtr: Int32Array;
  colIdx: Int32Array;
  values: Float32Array;
}

/** Features as a row-major N x F matrix. */
export interface DenseFeatures {
  kind: 'dense';
  numNodes: number;
  numFeatures: number;
  values: Float32Array;
}

/** Edge features (PyG's edge_attr): row-major [edges, dim], one row per input edge, in edge order. */
export interface EdgeFeatures {
  dim: number;
  values: Float32Array;
  /** Column names, as the file named them. */
  names: string[];
}

export interface GraphDataset {
  /** Built-in name ('cora') or the directory's base name. */
  name: string;
  /** Absolute path of the directory it was read from. */
  dir: string;
  /** nodes.csv as messages name it (datasets/cora/nodes.csv, or under the directory the user gave). */
  nodesFile?: string;
  /** Node index -> the user's id string. */
  nodeIds: string[];
  /** Class index -> the user's label string. */
  classNames: string[];
  /** Class index per node, -1 where the node has no label. */
  labels: Int32Array;
  /** Split code per node (see SPLIT_CODES). */
  split: Uint8Array;
  /** Edges as in edges.csv, in file order (duplicates and self loops kept): source -> target. */
  edgeSource: Int32Array;
  edgeTarget: Int32Array;
  features: SparseFeatures | DenseFeatures;
  /** Extra numeric columns of edges.csv (or OGB's edge-feat.csv.gz); absent when there are none. */
  edgeAttr?: EdgeFeatures;
  /**
   * Feature index -> name, only when the file named features (string feature ids in sparse
   * triplets, or the column names of a dense header); absent when features are plain 0..F-1.
   */
  featureNames?: string[];
  /** Things worth telling the user that did not stop loading (e.g. an empty edge list). */
  warnings: string[];
}

/** Node indices of one split, ascending. */
export function splitIndices(ds: Pick<GraphDataset, 'split'>, which: Split): Int32Array {
  const code = SPLIT_CODES[which];
  let n = 0;
  for (let i = 0; i < ds.split.length; i++) if (ds.split[i] === code) n++;
  const out = new Int32Array(n);
  let k = 0;
  for (let i = 0; i < ds.split.length; i++) if (ds.split[i] === code) out[k++] = i;
  return out;
}

/** Number of nodes in each split. */
export function splitSizes(ds: Pick<GraphDataset, 'split'>): Record<Split, number> {
  const counts = [0, 0, 0, 0];
  for (let i = 0; i < ds.split.length; i++) counts[ds.split[i]]++;
  return { train: counts[0], val: counts[1], test: counts[2], unlabeled: counts[3] };
}
