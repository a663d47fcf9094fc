/**
 * Scoring with a trained checkpoint (loaded by src/run/saved-model.ts): the evaluation forward on
 * the whole graph, or chunk by chunk over a store's files.
 * Shared by `gatv2 evaluate` and `gatv2 predict`.
 */
import * as tf from '@tensorflow/tfjs-core';
import { useBackend } from '../backends/index.js';
import { savedNormalization } from '../data/feature-normalization.js';
import { resolveDataset } from '../store/load.js';
import { networkForward, numClassesOf } from '../model/network.js';
import { disposeCheckpoint, EVAL_MODE, loadCheckpoint, readManifest } from '../run/checkpoint.js';
import { MemoryAdjacency } from '../sample/adjacency.js';
import { isStore, StoreReader } from '../store/read.js';
import { storeFeatures, memoryFeatures } from '../store/features.js';
import { SPLITS, splitIndices, type Split } from '../data/dataset.js';
import { StoreAdjacency } from '../sample/adjacency.js';
import { layerwiseScores } from './layerwise.js';
import type { NodeScores } from './node-scores.js';
import { layerwiseLogits } from './layerwise.js';
import { mapLabels, resolveCheckpointDir, trainedBackend, type LoadedModel } from '../run/saved-model.js';

export interface Inference {
  /** [N * classes] row-major. */
  logits: Float32Array;
  numClasses: number;
  /** Per layer, attention [E * H] in CSR order, when asked for. */
  attention?: { heads: number; values: Float32Array }[];
}

export async function infer(m: LoadedModel, withAttention = false): Promise<Inference> {
  const net = m.checkpoint.manifest.modelConfig.network;
  if (!withAttention && isStore(m.data.dataset.dir)) {
    // A store is evaluated layer-wise, as training evaluated it (store-data.ts): the same numbers.
    const logits = await layerwiseLogits(net, m.checkpoint.params, {
      adjacency: MemoryAdjacency.fromDataset(m.data.dataset),
      features: memoryFeatures(m.data.features),
      addSelfLoops: net.layers[0]!.addSelfLoops,
    });
    return { logits, numClasses: numClassesOf(net) };
  }
  const out = tf.tidy(() => {
    const r = networkForward(net, m.checkpoint.params, m.inputs, { mode: EVAL_MODE, training: false, keepAttention: withAttention });
    return withAttention ? [r.logits, ...r.attention] : [r.logits];
  });
  const [logits, ...att] = await Promise.all(out.map((t) => t.data() as Promise<Float32Array>));
  const result: Inference = { logits, numClasses: numClassesOf(net) };
  if (withAttention) result.attention = att.map((values, l) => ({ heads: net.layers[l].heads, values }));
  tf.dispose(out);
  return result;
}

/** A checkpoint scored on every node of a store, straight from the store's files. */
export interface StoreScoring {
  scores: NodeScores;
  /** The store's labels as the checkpoint's classes. */
  labels: Int32Array;
  splits: Record<Split, Int32Array>;
  dataset: string;
  backend: string;
  checkpoint: { dir: string; epoch: number; classNames: string[] };
  /** The store it read (its node ids name predict's rows). */
  store: { dir: string; display: string };
}

/**
 * `evaluate` on a store without loading it: the layer-wise pass reads the in-edges and feature
 * rows of each chunk from the files and spills the hidden layers, as training from a store's files
 * evaluates (store-data.ts), so memory stays bounded by a chunk and 12 bytes a node of scores,
 * whatever the store's size. Null where the run needs the whole graph in memory: a model with
 * edge features, --to-undirected or --split, or feature columns the store holds in another order
 * (loadModel then aligns them).
 */
export async function scoreStoreFromFiles(
  dir: string, opts: { dataset?: string; backend?: string; strictLabels?: boolean },
  /** Each chunk's logits as the last layer makes them, in node order (predict writes them out). */
  onLogits?: (firstRow: number, logits: Float32Array) => void,
): Promise<StoreScoring | null> {
  const ckptDir = resolveCheckpointDir(dir);
  const mc = readManifest(ckptDir).modelConfig;
  const where = resolveDataset(opts.dataset ?? mc.dataset);
  if (!isStore(where.dir) || mc.toUndirected || mc.split || mc.network.layers[0]!.edgeDim != null) return null;
  const reader = new StoreReader(where.dir, where.display);
  try {
    const m = reader.manifest;
    const sameColumns = mc.featureNames === undefined
      ? m.numFeatures === mc.numFeatures && m.featureNames === undefined
      : m.featureNames !== undefined && m.featureNames.length === mc.featureNames.length && m.featureNames.every((n, k) => n === mc.featureNames![k]);
    if (!sameColumns) return null;
    const backend = opts.backend !== undefined ? await useBackend(opts.backend) : await trainedBackend(ckptDir);
    const checkpoint = await loadCheckpoint(ckptDir);
    try {
      const labels = mapLabels({ name: m.name, classNames: m.classNames, labels: reader.readRaw('labels') as Int32Array }, mc.classNames, opts.strictLabels ?? true);
      const split = reader.readRaw('split') as Uint8Array;
      const splits = {} as Record<Split, Int32Array>;
      for (const s of SPLITS) splits[s] = splitIndices({ split }, s);
      const net = mc.network;
      const scores = await layerwiseScores(net, checkpoint.params, {
        adjacency: new StoreAdjacency(reader),
        features: storeFeatures(reader, { normalization: savedNormalization(mc) }),
        addSelfLoops: net.layers[0]!.addSelfLoops,
        spill: true,
      }, labels, onLogits);
      return {
        scores, labels, splits, dataset: m.name, backend, store: { dir: where.dir, display: where.display },
        checkpoint: { dir: checkpoint.dir, epoch: checkpoint.manifest.epoch, classNames: mc.classNames },
      };
    } finally {
      disposeCheckpoint(checkpoint);
    }
  } finally {
    reader.close();
  }
}
