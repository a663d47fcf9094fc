/**
 * Datasets for the library: a built-in name or a dataset directory (the CLI's loader,
 * src/store/load.ts) as tensors in the shape PyG users know from `Data`: x, edgeIndex, y, and the
 * split as index tensors. Sparse features stay sparse (Cora's are 1.3% dense); GATv2Conv takes
 * either kind.
 */
import * as tf from '@tensorflow/tfjs-core';
import { splitIndices, type DenseFeatures, type SparseFeatures } from '../data/dataset.js';
import { loadDataset as loadGraphDataset } from '../store/load.js';
import { applyNormalization, chooseNormalization, requestedMode, type NormalizationChoice, type NormalizeMode } from '../data/feature-normalization.js';
import { releaseInputDropout, dropSparse } from '../model/network.js';
import { isSparse, type NodeInput } from '../ops/linear.js';
import { dropout as denseDropout } from '../ops/dropout.js';
import type { Features } from './conv.js';

export interface Dataset {
  name: string;
  numNodes: number;
  numFeatures: number;
  numClasses: number;
  /** Node features [N, F]: a dense tensor, or a sparse CSR matrix when the data is sparse. */
  x: Features;
  /** The edges as in edges.csv (source row, target row), as PyG's edge_index. */
  edgeIndex: [Int32Array, Int32Array];
  /** Class index per node [N] int32, -1 where a node has no label. */
  y: tf.Tensor1D;
  /** Node indices of each split [n] int32. */
  trainIndex: tf.Tensor1D;
  valIndex: tf.Tensor1D;
  testIndex: tf.Tensor1D;
  /** Node index -> the user's node id; class index -> the user's label. */
  nodeIds: string[];
  classNames: string[];
  /** Non-fatal findings of the loader (e.g. an empty edge list). */
  warnings: string[];
  /** The feature transform applied, and the one-line reason it was chosen. */
  normalization: NormalizationChoice;
  dispose(): void;
}

export interface LoadOptions {
  /**
   * The feature transform, as `gatv2 train --normalize-features`: 'auto' (default) row-normalises
   * non-negative features (the GAT recipe) and never divides signed ones by their row sums;
   * true means 'row', false 'none'.
   */
  normalizeFeatures?: NormalizeMode | boolean;
}

/**
 * Loads 'cora', 'citeseer' or a dataset directory (nodes.csv, edges.csv, features.csv) onto the
 * current backend. Bad files throw an InputError naming the file, line and fix.
 */
export async function loadDataset(nameOrDir: string, options: LoadOptions = {}): Promise<Dataset> {
  const ds = await loadGraphDataset(nameOrDir);
  const choice = chooseNormalization(ds.features, requestedMode(options.normalizeFeatures));
  const features = applyNormalization(ds.features, choice.normalization);
  const N = ds.nodeIds.length;
  const x = uploadFeatures(features);
  const index = (s: 'train' | 'val' | 'test') => tf.keep(tf.tensor1d(splitIndices(ds, s), 'int32'));
  const y = tf.keep(tf.tensor1d(ds.labels, 'int32'));
  const trainIndex = index('train'), valIndex = index('val'), testIndex = index('test');
  return {
    name: ds.name,
    numNodes: N,
    numFeatures: features.numFeatures,
    numClasses: ds.classNames.length,
    x,
    edgeIndex: [ds.edgeSource, ds.edgeTarget],
    y, trainIndex, valIndex, testIndex,
    nodeIds: ds.nodeIds,
    classNames: ds.classNames,
    warnings: ds.warnings,
    normalization: choice,
    dispose() {
      releaseInputDropout(x);
      if (isSparse(x)) tf.dispose([x.rowPtr, x.colIdx, x.values]);
      else x.dispose();
      tf.dispose([y, trainIndex, valIndex, testIndex]);
    },
  };
}

/** Features on the backend, kept out of any tidy (as the trainer's createNetworkInputs does). */
function uploadFeatures(f: SparseFeatures | DenseFeatures): NodeInput {
  if (f.kind === 'dense') return tf.keep(tf.tensor2d(f.values, [f.numNodes, f.numFeatures]));
  return {
    kind: 'sparse',
    numRows: f.numNodes,
    numCols: f.numFeatures,
    rowPtr: tf.keep(tf.tensor1d(f.rowPtr, 'int32')),
    colIdx: tf.keep(tf.tensor1d(f.colIdx, 'int32')),
    values: tf.keep(tf.tensor1d(f.values, 'float32')),
  };
}

/**
 * Inverted dropout of node features (rate p, the mask fixed by `seed`), dense or sparse, for use
 * inside tf.variableGrads / optimizer.minimize: a dense input gets a gradient through the mask;
 * sparse features are an input (no gradient), and their dropped copy is kept outside the tape's
 * scope because the sparse projection's backward reads it (freed by the dataset's dispose()).
 */
export function dropout(x: Features, p: number, seed: number): Features {
  if (p === 0) return x;
  return isSparse(x) ? dropSparse(x, p, seed) : denseDropout(x as tf.Tensor2D, p, seed);
}

export type { NodeInput };
