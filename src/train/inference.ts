/**
 * Using a trained checkpoint: find it from a run directory, load it with a dataset (its own by
 * default) onto a backend (the one it was trained on by default), and run the evaluation forward.
 * Shared by `gatv2 evaluate`, `gatv2 predict` and the gradient check on checkpoints.
 */
import * as tf from '@tensorflow/tfjs-core';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { useBackend } from '../backend.js';
import type { GraphDataset } from '../data/dataset.js';
import { alignFeatures } from '../data/align-features.js';
import { savedNormalization } from '../data/feature-normalization.js';
import { loadDataset, resolveDataset } from '../data/load.js';
import { createLoadProgress } from '../data/load-progress.js';
import { InputError } from '../errors.js';
import { createNetworkInputs, networkForward, numClassesOf, type NetworkInputs } from '../model/network.js';
import { disposeCheckpoint, isCheckpointDir, loadCheckpoint, readManifest, type Checkpoint } from './checkpoint.js';
import { prepareData, type PreparedData } from './data.js';
import { BEST_DIR, EVAL_MODE } from './trainer.js';
import { MemoryAdjacency } from '../sample/adjacency.js';
import { isStore, StoreReader } from '../store/read.js';
import { storeFeatures } from '../store/features.js';
import { SPLITS, splitIndices, type Split } from '../data/dataset.js';
import { StoreAdjacency } from '../sample/adjacency.js';
import { layerwiseScores } from './layerwise.js';
import type { NodeScores } from './node-scores.js';
import { memoryFeatures } from './minibatch.js';
import { layerwiseLogits } from './layerwise.js';

/** A checkpoint directory itself, or a run directory (its best/ checkpoint). */
export function resolveCheckpointDir(dir: string): string {
  if (isCheckpointDir(dir)) return dir;
  if (isCheckpointDir(join(dir, BEST_DIR))) return join(dir, BEST_DIR);
  if (existsSync(dir)) {
    const seeds = readdirSync(dir).filter((f) => /^seed-\d+$/.test(f)).sort();
    if (seeds.length > 0) {
      throw new InputError(`${dir} holds ${seeds.length} runs (one per seed); pass one of them, e.g. ${join(dir, seeds[0])}`);
    }
    throw new InputError(`${dir}: no checkpoint here (no model.json, no ${BEST_DIR}/model.json); pass a run directory of gatv2 train`);
  }
  throw new InputError(`${dir}: no such checkpoint directory`);
}

export interface LoadedModel {
  checkpoint: Checkpoint;
  data: PreparedData;
  /** Dataset labels mapped onto the checkpoint's classes (-1: none). */
  labels: Int32Array;
  inputs: NetworkInputs;
  backend: string;
  dispose(): void;
}

/**
 * The dataset's labels as class indices of the checkpoint, matched by the label string. A class
 * the checkpoint does not know is an error only where labels are needed (strict).
 */
export function mapLabels(ds: Pick<GraphDataset, 'name' | 'classNames' | 'labels'>, classNames: string[], strict: boolean): Int32Array {
  const index = new Map(classNames.map((c, k) => [c, k]));
  const remap = ds.classNames.map((c) => index.get(c) ?? -1);
  const unknown = ds.classNames.filter((_, k) => remap[k] < 0);
  if (strict && unknown.length > 0) {
    throw new InputError(
      `${ds.name}: label${unknown.length > 1 ? 's' : ''} ${unknown.slice(0, 5).map((u) => `"${u}"`).join(', ')} ` +
        `not among the model's classes (${classNames.join(', ')})`,
    );
  }
  return ds.labels.map((l) => (l < 0 ? -1 : remap[l]));
}

/**
 * The backend the checkpoint was trained on, where it can start (it reproduces the run's numbers
 * exactly); else the best available one, with a note on stderr.
 */
async function trainedBackend(ckptDir: string): Promise<string> {
  const trained = readManifest(ckptDir).trainedWith.backend;
  try {
    return await useBackend(trained);
  } catch (err) {
    if (!(err instanceof InputError)) throw err;
    const used = await useBackend('auto');
    process.stderr.write(`note: trained on ${trained}, which cannot start here (${err.message}); using ${used}, numbers may differ in the last digits\n`);
    return used;
  }
}

export async function loadModel(
  dir: string, opts: { dataset?: string; backend?: string; strictLabels: boolean },
): Promise<LoadedModel> {
  const ckptDir = resolveCheckpointDir(dir);
  // The backend first: tensors are made on the backend that is current when they are created.
  const backend = opts.backend !== undefined ? await useBackend(opts.backend) : await trainedBackend(ckptDir);
  const checkpoint = await loadCheckpoint(ckptDir);
  try {
    const mc = checkpoint.manifest.modelConfig;
    const ds = await loadDataset(opts.dataset ?? mc.dataset, createLoadProgress({ tty: process.stderr.isTTY === true }));
    // The model's columns (matched by name where it has names), transformed as in training.
    const features = alignFeatures(ds, mc);
    const data = prepareData({ ...ds, features }, {
      normalizeFeatures: savedNormalization(mc), addSelfLoops: mc.network.layers[0].addSelfLoops,
      toUndirected: mc.toUndirected ?? null, split: mc.split ?? null,
    });
    const edgeDim = mc.network.layers[0].edgeDim;
    const dataEdgeDim = data.dataset.edgeAttr?.dim ?? null;
    if (edgeDim !== dataEdgeDim) {
      throw new InputError(
        `${ds.name} has ${dataEdgeDim ?? 'no'} edge feature${dataEdgeDim === 1 ? '' : 's'} per edge, the model was trained on ${edgeDim ?? 'none'}; use a dataset with the same edge columns`,
      );
    }
    // Labels of the transformed dataset (a random split leaves labels as they are).
    const labels = mapLabels(data.dataset, mc.classNames, opts.strictLabels);
    const inputs = createNetworkInputs(data.features, data.layout, data.dataset.edgeAttr);
    return {
      checkpoint, data, labels, inputs, backend,
      dispose() {
        inputs.dispose();
        disposeCheckpoint(checkpoint);
      },
    };
  } catch (err) {
    disposeCheckpoint(checkpoint);
    throw err;
  }
}

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
