/**
 * Checkpoints: a directory holding model.json (the manifest, in TF.js's weightsManifest layout,
 * plus the model config and, for the resumable "last" checkpoint, the training state) and one
 * weights file in TF.js's binary weights format (tf.io.encodeWeights). Optimizer slots are stored
 * as weights of group "optimizer" under "optimizer/<slot>/<param>".
 *
 * Writing is crash-safe: the weights go to a new file named after the epoch, then model.json is
 * replaced atomically to point at it, then older weights files are removed. At any moment
 * model.json names a complete weights file.
 */
import * as tf from '@tensorflow/tfjs-core';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { FeatureNormalization } from '../data/feature-normalization.js';
import { InputError } from '../util/errors.js';
import type { RandomSplit } from '../data/split.js';
import type { UndirectedReduce } from '../data/undirected.js';
import { networkParamShapes, type NetworkConfig } from '../model/network.js';
import type { GradMode } from '../ops/graph-tensors.js';
import { writeFileAtomic, writeJsonAtomic } from '../util/atomic.js';

export const CHECKPOINT_FORMAT = 'gatv2-checkpoint';
export const CHECKPOINT_VERSION = 1;
export const MANIFEST = 'model.json';
const OPTIMIZER_PREFIX = 'optimizer/';

/** Everything needed to rebuild the model and its inputs from a dataset. */
export interface ModelConfig {
  network: NetworkConfig;
  /** The dataset trained on: a built-in name or an absolute directory. */
  dataset: string;
  /** Row-normalised or not; checkpoints written before featureNormalization have only this. */
  normalizeFeatures: boolean;
  /** The transform applied to the features (with standardize's column statistics). */
  featureNormalization?: FeatureNormalization;
  numFeatures: number;
  /**
   * Column -> feature name, when the dataset named its features (a feature_name column, or a dense
   * header other than f0..fN): evaluate and predict match another file's columns by these names.
   */
  featureNames?: string[];
  /** Class index -> the user's label. */
  classNames: string[];
  /** The dataset transforms of training (src/data/prepare.ts), so evaluate sees the same graph and split. */
  toUndirected?: UndirectedReduce | null;
  split?: RandomSplit | null;
}

/** How the weights were trained: evaluate and predict default to the same backend. */
export interface TrainedWith {
  backend: string;
  grad: GradMode;
  seed: number;
}

export interface CheckpointManifest<S = unknown> {
  format: typeof CHECKPOINT_FORMAT;
  formatVersion: number;
  modelConfig: ModelConfig;
  trainedWith: TrainedWith;
  /** Epoch whose weights these are. */
  epoch: number;
  /** Resumable training state (optimizer step, early stopping, ...): only in a run's last checkpoint. */
  trainingState?: S;
  weightsManifest: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[];
}

export interface Checkpoint<S = unknown> {
  dir: string;
  manifest: CheckpointManifest<S>;
  params: Record<string, tf.Tensor>;
  /** Optimizer slots by "<slot>/<param>" (empty in a best checkpoint). */
  optimizerSlots: Record<string, tf.Tensor>;
}

export async function saveCheckpoint<S>(
  dir: string,
  content: Omit<CheckpointManifest<S>, 'format' | 'formatVersion' | 'weightsManifest'>,
  params: Record<string, tf.Tensor>,
  optimizerSlots: Record<string, tf.Tensor> = {},
): Promise<void> {
  mkdirSync(dir, { recursive: true });
  const model = await tf.io.encodeWeights(params, 'model');
  const slots: Record<string, tf.Tensor> = {};
  for (const [k, t] of Object.entries(optimizerSlots)) slots[OPTIMIZER_PREFIX + k] = t;
  const opt = await tf.io.encodeWeights(slots, 'optimizer');
  const data = tf.io.concatenateArrayBuffers([model.data, opt.data]);
  const file = `weights-${String(content.epoch).padStart(6, '0')}.bin`;
  writeFileAtomic(join(dir, file), new Uint8Array(data));
  const manifest: CheckpointManifest<S> = {
    format: CHECKPOINT_FORMAT,
    formatVersion: CHECKPOINT_VERSION,
    ...content,
    weightsManifest: [{ paths: [file], weights: [...model.specs, ...opt.specs] }],
  };
  writeJsonAtomic(join(dir, MANIFEST), manifest);
  for (const f of readdirSync(dir)) if (/^weights-\d+\.bin$/.test(f) && f !== file) rmSync(join(dir, f), { force: true });
}

export function isCheckpointDir(dir: string): boolean {
  return existsSync(join(dir, MANIFEST));
}

/** The manifest alone (model config, epoch, ...), validated; no tensors are made. */
export function readManifest<S = unknown>(dir: string): CheckpointManifest<S> {
  const path = join(dir, MANIFEST);
  let manifest: CheckpointManifest<S>;
  try {
    manifest = JSON.parse(readFileSync(path, 'utf8')) as CheckpointManifest<S>;
  } catch (err) {
    throw new InputError(`${path}: cannot read the checkpoint manifest (${(err as Error).message})`);
  }
  if (manifest?.format !== CHECKPOINT_FORMAT || manifest.formatVersion !== CHECKPOINT_VERSION) {
    throw new InputError(`${path}: not a gatv2 checkpoint of format version ${CHECKPOINT_VERSION}`);
  }
  return manifest;
}

export async function loadCheckpoint<S = unknown>(dir: string): Promise<Checkpoint<S>> {
  const path = join(dir, MANIFEST);
  const manifest = readManifest<S>(dir);
  const buffers: ArrayBuffer[] = [];
  const specs: tf.io.WeightsManifestEntry[] = [];
  for (const group of manifest.weightsManifest) {
    for (const p of group.paths) {
      const file = join(dir, p);
      if (!existsSync(file)) throw new InputError(`${path}: names weights file ${p}, which is missing`);
      const b = readFileSync(file);
      buffers.push(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
    }
    specs.push(...group.weights);
  }
  const have = buffers.reduce((a, b) => a + b.byteLength, 0);
  const need = weightsBytes(path, specs);
  if (have !== need) {
    const files = manifest.weightsManifest.flatMap((g) => g.paths).join(', ');
    throw new InputError(`${join(dir, files)}: holds ${have} bytes, ${MANIFEST} describes ${need} (${have < need ? 'truncated' : 'not the file it describes'}); train again or restore the file`);
  }
  const tensors = tf.io.decodeWeights(tf.io.concatenateArrayBuffers(buffers), specs);
  const params: Record<string, tf.Tensor> = {};
  const optimizerSlots: Record<string, tf.Tensor> = {};
  for (const [name, t] of Object.entries(tensors)) {
    if (name.startsWith(OPTIMIZER_PREFIX)) optimizerSlots[name.slice(OPTIMIZER_PREFIX.length)] = t;
    else params[name] = t;
  }
  checkParams(path, manifest.modelConfig.network, params);
  return { dir, manifest, params, optimizerSlots };
}

const DTYPE_BYTES: Record<string, number> = { float32: 4, int32: 4, bool: 1 };

/** Bytes the weights of a manifest take in the weights file (this project writes unquantized float32). */
function weightsBytes(path: string, specs: tf.io.WeightsManifestEntry[]): number {
  let total = 0;
  for (const s of specs) {
    const bytes = DTYPE_BYTES[s.dtype];
    if (bytes === undefined || s.quantization) throw new InputError(`${path}: weight ${s.name} has dtype ${s.dtype}${s.quantization ? ' (quantized)' : ''}, which gatv2 does not write`);
    total += bytes * s.shape.reduce((a, d) => a * d, 1);
  }
  return total;
}

function checkParams(path: string, net: NetworkConfig, params: Record<string, tf.Tensor>): void {
  const shapes = networkParamShapes(net);
  for (const [name, shape] of Object.entries(shapes)) {
    const t = params[name];
    if (!t) throw new InputError(`${path}: weight ${name} is missing`);
    if (t.shape.join(',') !== shape.join(',')) {
      throw new InputError(`${path}: weight ${name} has shape [${t.shape}], the model config needs [${shape}]`);
    }
  }
  for (const name of Object.keys(params)) {
    if (!(name in shapes)) throw new InputError(`${path}: weight ${name} is not part of the model config`);
  }
}

export function disposeCheckpoint(c: Checkpoint): void {
  tf.dispose([...Object.values(c.params), ...Object.values(c.optimizerSlots)]);
}

/** A run directory's layout: its best and last checkpoints, and the summary of the run. */
export const BEST_DIR = 'best';
export const LAST_DIR = 'last';
export const SUMMARY_FILE = 'summary.json';

/**
 * Evaluation always runs the analytic forward (the fused kernels): the two modes differ only in
 * their backward, and one fixed forward lets `gatv2 evaluate` reproduce a run's numbers exactly
 * whichever mode trained it.
 */
export const EVAL_MODE: GradMode = 'analytic';
