/**
 * Checkpoints <-> safetensors files in PyTorch Geometric's naming, so weights move between this
 * project and a PyG network (scripts/pyg-load.py builds one from such a file):
 *
 * - tensors: every parameter as `conv<l>.<PyG name>` (conv1.lin_l.weight, conv1.att, ...), in
 *   PyG's shapes (Linear weights [out, in], att [1, H, C]), float32;
 * - __metadata__["gatv2"]: the checkpoint's model config (model.json's modelConfig) as JSON;
 *   __metadata__["gatv2_trained_with"]: backend, gradient mode and seed it was trained with (optional:
 *   a file written from PyG lacks it); __metadata__["format"]: "pt", as torch's writers put it.
 *
 * The conversion is a transpose of float32 values on the host: no arithmetic, so a round trip
 * gives the same bits and the same predictions.
 */
import * as tf from '@tensorflow/tfjs-core';
import { existsSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { InputError } from '../util/errors.js';
import { DEFAULT_CONFIG, outputWidth, pygParamShapes, type GATv2Config } from '../model/config.js';
import { layerPrefix, type NetworkConfig } from '../model/network.js';
import { writeFileAtomic } from '../util/atomic.js';
import { disposeCheckpoint, isCheckpointDir, loadCheckpoint, saveCheckpoint, type ModelConfig, type TrainedWith } from '../run/checkpoint.js';
import { float32Values, readSafetensors, writeSafetensors, type SafeTensor } from './safetensors.js';
import { resolveCheckpointDir } from '../run/saved-model.js';
import { ACTIVATIONS } from '../model/activation.js';

export const CONFIG_KEY = 'gatv2';
export const TRAINED_WITH_KEY = 'gatv2_trained_with';

/** Every parameter's PyG name (with its layer's module prefix) and PyG shape, in layer order. */
export function pygNetworkShapes(net: NetworkConfig): Record<string, number[]> {
  const shapes: Record<string, number[]> = {};
  net.layers.forEach((cfg, l) => {
    for (const [name, shape] of Object.entries(pygParamShapes(cfg))) shapes[layerPrefix(l) + name] = shape;
  });
  return shapes;
}

/** Row-major [rows, cols] -> row-major [cols, rows]. */
function transpose(data: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(data.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = data[r * cols + c];
  return out;
}

/**
 * The safetensors bytes of a checkpoint (a checkpoint directory or a run directory, whose best/ is
 * used). Tensors are made on the current backend to decode the weights file.
 */
export async function exportCheckpoint(dir: string): Promise<{ bytes: Uint8Array; checkpoint: string; tensors: number }> {
  const ckpt = await loadCheckpoint(resolveCheckpointDir(dir));
  try {
    const mc = ckpt.manifest.modelConfig;
    const tensors: Record<string, { shape: number[]; data: Float32Array }> = {};
    for (const [name, shape] of Object.entries(pygNetworkShapes(mc.network))) {
      const t = ckpt.params[name];
      const data = (await t.data()) as Float32Array;
      // TF layout [in, out] -> PyG's [out, in]; everything else is the same values reshaped.
      tensors[name] = { shape, data: name.endsWith('.weight') ? transpose(data, shape[1], shape[0]) : Float32Array.from(data) };
    }
    const bytes = writeSafetensors(tensors, {
      format: 'pt',
      [CONFIG_KEY]: JSON.stringify(mc),
      [TRAINED_WITH_KEY]: JSON.stringify(ckpt.manifest.trainedWith),
    });
    return { bytes, checkpoint: ckpt.dir, tensors: Object.keys(tensors).length };
  } finally {
    disposeCheckpoint(ckpt);
  }
}

/** Writes exportCheckpoint's bytes to `out` atomically. */
export async function exportCheckpointFile(dir: string, out: string): Promise<{ checkpoint: string; tensors: number; bytes: number }> {
  if (!existsSync(dirname(out))) throw new InputError(`${out}: directory ${dirname(out)} does not exist`);
  const r = await exportCheckpoint(dir);
  writeFileAtomic(out, r.bytes);
  return { checkpoint: r.checkpoint, tensors: r.tensors, bytes: r.bytes.length };
}

/**
 * A checkpoint directory `out` (evaluate, predict, diagnose and gradcheck run on it) from a
 * safetensors file in the layout above. Every problem is an InputError naming the file and the
 * tensor or metadata field.
 */
export async function importCheckpoint(file: string, out: string): Promise<{ dir: string; tensors: number }> {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(file);
  } catch (e) {
    throw new InputError(`${file}: cannot read (${(e as Error).message})`);
  }
  if (isCheckpointDir(out)) throw new InputError(`${out} already holds a checkpoint; choose another --out`);
  const st = readSafetensors(bytes, file);
  const raw = st.metadata[CONFIG_KEY];
  if (raw === undefined) {
    throw new InputError(`${file}: no __metadata__["${CONFIG_KEY}"]; it must hold the model config (model.json's modelConfig) as a JSON string`);
  }
  const mc = parseModelConfig(raw, `${file}: __metadata__["${CONFIG_KEY}"]`);
  const trainedWith = parseTrainedWith(st.metadata[TRAINED_WITH_KEY]);
  const shapes = pygNetworkShapes(mc.network);
  for (const name of Object.keys(st.tensors)) {
    if (isSharedCopy(name, st.tensors, mc.network, file)) continue;
    if (!(name in shapes)) {
      throw new InputError(`${file}: tensor "${name}" is not a parameter of the model config's network (expected ${Object.keys(shapes).join(', ')})`);
    }
  }
  const params: Record<string, tf.Tensor> = {};
  try {
    for (const [name, shape] of Object.entries(shapes)) {
      const t = st.tensors[name];
      if (!t) throw new InputError(`${file}: no tensor "${name}", which the model config's network needs (shape [${shape}])`);
      if (t.shape.join(',') !== shape.join(',')) {
        throw new InputError(`${file}: tensor "${name}" has shape [${t.shape}], the model config needs [${shape}] (PyG's layout)`);
      }
      const data = float32Values(t, name, file);
      params[name] = name.endsWith('.weight')
        ? tf.tensor2d(transpose(data, shape[0], shape[1]), [shape[1], shape[0]])
        : tf.tensor1d(data);
    }
    await saveCheckpoint(out, { modelConfig: mc, trainedWith, epoch: 0 }, params);
  } finally {
    tf.dispose(Object.values(params));
  }
  return { dir: out, tensors: Object.keys(shapes).length };
}

/**
 * PyG's GATv2Conv with share_weights registers lin_l as lin_r too, so a state_dict from PyG names
 * both: lin_r.* of such a layer is accepted when it is lin_l.*'s exact copy.
 */
function isSharedCopy(name: string, tensors: Record<string, SafeTensor>, net: NetworkConfig, file: string): boolean {
  const m = /^conv(\d+)\.lin_r\.(weight|bias)$/.exec(name);
  const layer = m ? net.layers[Number(m[1]) - 1] : undefined;
  if (!m || !layer?.shareWeights) return false;
  const twin = tensors[`conv${m[1]}.lin_l.${m[2]}`];
  const t = tensors[name];
  if (!twin || twin.dtype !== t.dtype || !Buffer.from(twin.bytes).equals(Buffer.from(t.bytes))) {
    throw new InputError(`${file}: tensor "${name}" differs from conv${m[1]}.lin_l.${m[2]}, but layer ${m[1]} shares its weights (shareWeights)`);
  }
  return true;
}

function parseTrainedWith(raw: string | undefined): TrainedWith {
  // Weights from elsewhere (PyG): evaluate picks the best backend here.
  const fallback: TrainedWith = { backend: 'auto', grad: 'analytic', seed: 0 };
  if (raw === undefined) return fallback;
  try {
    const v = JSON.parse(raw) as Partial<TrainedWith>;
    if (typeof v.backend === 'string' && (v.grad === 'analytic' || v.grad === 'autograd') && typeof v.seed === 'number') {
      return { backend: v.backend, grad: v.grad, seed: v.seed };
    }
  } catch {
    // An unreadable note of provenance is not worth refusing the weights over.
  }
  return fallback;
}

type Json = Record<string, unknown>;

/**
 * The model config in the metadata, checked field by field: a file written from PyG by hand must
 * fail here with the field named, not later as a shape mismatch. Layer options a PyG user leaves
 * out take PyG's defaults.
 */
export function parseModelConfig(raw: string, where: string): ModelConfig {
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch (e) {
    throw new InputError(`${where} is not JSON (${(e as Error).message})`);
  }
  const obj = (x: unknown, at: string): Json => {
    if (typeof x !== 'object' || x === null || Array.isArray(x)) throw new InputError(`${where}${at} must be an object`);
    return x as Json;
  };
  const posInt = (x: unknown, at: string): number => {
    if (!(Number.isInteger(x) && (x as number) >= 1)) throw new InputError(`${where}${at} must be a positive integer, got ${JSON.stringify(x)}`);
    return x as number;
  };
  const prob = (x: unknown, at: string): number => {
    if (!(typeof x === 'number' && x >= 0 && x < 1)) throw new InputError(`${where}${at} must be a number in [0, 1), got ${JSON.stringify(x)}`);
    return x;
  };
  const bool = (x: unknown, at: string): boolean => {
    if (typeof x !== 'boolean') throw new InputError(`${where}${at} must be true or false, got ${JSON.stringify(x)}`);
    return x;
  };
  const top = obj(v, '');
  const net = obj(top['network'], '.network');
  if (!Array.isArray(net['layers']) || net['layers'].length === 0) throw new InputError(`${where}.network.layers must be a non-empty list of layer configs`);
  const layers: GATv2Config[] = (net['layers'] as unknown[]).map((l, k) => {
    const at = `.network.layers[${k}]`;
    const o = { ...DEFAULT_CONFIG, ...obj(l, at) } as Json;
    const edgeDim = o['edgeDim'] === null ? null : posInt(o['edgeDim'], `${at}.edgeDim`);
    if (o['fillValue'] !== 'mean') throw new InputError(`${where}${at}.fillValue must be "mean" (the only one supported), got ${JSON.stringify(o['fillValue'])}`);
    if (!(typeof o['negativeSlope'] === 'number' && o['negativeSlope'] >= 0)) {
      throw new InputError(`${where}${at}.negativeSlope must be a number >= 0, got ${JSON.stringify(o['negativeSlope'])}`);
    }
    return {
      ...o,
      inChannels: posInt(o['inChannels'], `${at}.inChannels`),
      outChannels: posInt(o['outChannels'], `${at}.outChannels`),
      heads: posInt(o['heads'], `${at}.heads`),
      concat: bool(o['concat'], `${at}.concat`),
      negativeSlope: o['negativeSlope'] as number,
      dropout: prob(o['dropout'], `${at}.dropout`),
      addSelfLoops: bool(o['addSelfLoops'], `${at}.addSelfLoops`),
      edgeDim,
      fillValue: 'mean',
      bias: bool(o['bias'], `${at}.bias`),
      shareWeights: bool(o['shareWeights'], `${at}.shareWeights`),
      residual: bool(o['residual'], `${at}.residual`),
    };
  });
  layers.forEach((cfg, k) => {
    if (k > 0 && cfg.inChannels !== outputWidth(layers[k - 1])) {
      throw new InputError(`${where}.network.layers[${k}].inChannels is ${cfg.inChannels}, but layer ${k - 1} outputs ${outputWidth(layers[k - 1])}`);
    }
  });
  const activation = net['activation'];
  if (!ACTIVATIONS.includes(activation as never)) {
    throw new InputError(`${where}.network.activation must be one of ${ACTIVATIONS.join(', ')}, got ${JSON.stringify(activation)}`);
  }
  // Fields this version does not know (a newer writer's) are kept as they are.
  const network: NetworkConfig = { ...net, layers, activation: activation as NetworkConfig['activation'], inputDropout: prob(net['inputDropout'], '.network.inputDropout') };
  if (typeof top['dataset'] !== 'string' || top['dataset'] === '') {
    throw new InputError(`${where}.dataset must be a built-in dataset name or a dataset directory, got ${JSON.stringify(top['dataset'])}`);
  }
  const classNames = top['classNames'];
  if (!Array.isArray(classNames) || !classNames.every((c) => typeof c === 'string')) {
    throw new InputError(`${where}.classNames must be a list of the class labels (strings), in class-index order`);
  }
  const last = layers[layers.length - 1];
  if (outputWidth(last) !== classNames.length) {
    throw new InputError(`${where}: the last layer outputs ${outputWidth(last)} values per node but classNames lists ${classNames.length} classes`);
  }
  const numFeatures = posInt(top['numFeatures'], '.numFeatures');
  if (layers[0].inChannels !== numFeatures) {
    throw new InputError(`${where}.numFeatures is ${numFeatures} but network.layers[0].inChannels is ${layers[0].inChannels}`);
  }
  return { ...top, network, dataset: top['dataset'], normalizeFeatures: bool(top['normalizeFeatures'], '.normalizeFeatures'), numFeatures, classNames };
}
