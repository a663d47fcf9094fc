/**
 * Using a trained checkpoint: find it from a run directory, and load it with a dataset (its own by
 * default) onto a backend (the one it was trained on by default). Shared by `gatv2 evaluate`,
 * `gatv2 predict`, the PyG export and the gradient check on checkpoints.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { useBackend } from '../backends/index.js';
import type { GraphDataset } from '../data/dataset.js';
import { alignFeatures } from '../data/align-features.js';
import { savedNormalization } from '../data/feature-normalization.js';
import { createLoadProgress } from '../data/load-progress.js';
import { prepareData, type PreparedData } from '../data/prepare.js';
import { createNetworkInputs, type NetworkInputs } from '../model/network.js';
import { loadDataset } from '../store/load.js';
import { InputError } from '../util/errors.js';
import { BEST_DIR, disposeCheckpoint, isCheckpointDir, loadCheckpoint, readManifest, type Checkpoint } from './checkpoint.js';

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
export async function trainedBackend(ckptDir: string): Promise<string> {
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
