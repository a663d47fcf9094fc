/**
 * Training straight from a store's files (`--dataset STORE --batch-size B`): only the labels,
 * splits and the CSR row pointers (about 13 bytes a node) are read into memory; each batch reads
 * the in-edges and feature rows it needs (src/sample/adjacency.ts, src/store/features.ts), and
 * evaluation runs layer-wise over chunks (layerwise.ts), so the store may be larger than RAM.
 */
import type * as tf from '@tensorflow/tfjs-core';
import { SPLITS, splitIndices, type Split } from '../data/dataset.js';
import { chooseFromScan, newFeatureScan, scanRows, type NormalizationChoice, type NormalizeMode } from '../data/feature-normalization.js';
import type { NetworkConfig } from '../model/network.js';
import { StoreAdjacency, type InAdjacency } from '../sample/adjacency.js';
import { storeFeatures, type FeatureSource } from '../store/features.js';
import { StoreReader } from '../store/read.js';
import { layerwiseScores } from './layerwise.js';
import type { NodeScores } from './node-scores.js';

/** What the trainer reads of a dataset. */
export interface TrainData {
  dataset: { labels: Int32Array };
  splits: Record<Split, Int32Array>;
  numClasses: number;
}

export interface StoreTraining {
  reader: StoreReader;
  data: TrainData;
  /** Per node: the split code (as GraphDataset.split), for the trainability check. */
  split: Uint8Array;
  /** The feature transform --normalize-features resolved to, from one pass over the feature rows. */
  normalization: NormalizationChoice;
  info: { name: string; dir: string; nodes: number; numFeatures: number; classNames: string[]; warnings: string[] };
  adjacency: InAdjacency;
  features: FeatureSource;
  close(): void;
}

/** Nodes per chunk of the pass that resolves the feature transform. */
const SCAN_CHUNK = 65536;

export function openStoreTraining(dir: string, display: string, o: { normalizeFeatures: NormalizeMode }): StoreTraining {
  const reader = new StoreReader(dir, display);
  try {
    const m = reader.manifest;
    const labels = reader.readRaw('labels') as Int32Array;
    const split = reader.readRaw('split') as Uint8Array;
    const splits = {} as Record<Split, Int32Array>;
    for (const s of SPLITS) splits[s] = splitIndices({ split }, s);
    // --normalize-features decided on the whole matrix as in memory: one pass over the rows as
    // stored, in node order (the same float64 sums as the in-memory choice).
    const raw = storeFeatures(reader, { normalization: { mode: 'none' } });
    const scan = newFeatureScan(m.featureKind, m.numFeatures);
    for (let lo = 0; lo < m.numNodes; lo += SCAN_CHUNK) {
      const nodes = new Int32Array(Math.min(SCAN_CHUNK, m.numNodes - lo));
      for (let k = 0; k < nodes.length; k++) nodes[k] = lo + k;
      scanRows(scan, raw.rows(nodes));
    }
    const normalization = chooseFromScan(scan, o.normalizeFeatures);
    return {
      reader,
      split,
      normalization,
      data: { dataset: { labels }, splits, numClasses: m.classNames.length },
      info: { name: m.name, dir, nodes: m.numNodes, numFeatures: m.numFeatures, classNames: m.classNames, warnings: m.warnings ?? [] },
      adjacency: new StoreAdjacency(reader),
      features: storeFeatures(reader, { normalization: normalization.normalization }),
      close: () => reader.close(),
    };
  } catch (err) {
    reader.close();
    throw err;
  }
}

/** The evaluation forward of a store (every node's scores), layer-wise over chunks. */
export function storeEvaluator(
  adjacency: InAdjacency, features: FeatureSource, net: NetworkConfig, labels: Int32Array, o: { spill: boolean },
): (params: Record<string, tf.Tensor>) => Promise<NodeScores> {
  return (params) => layerwiseScores(net, params, { adjacency, features, addSelfLoops: net.layers[0]!.addSelfLoops, spill: o.spill }, labels);
}
