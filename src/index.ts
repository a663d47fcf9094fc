/**
 * gatv2 as a library: `import { GATv2Conv, Graph, loadDataset, train } from 'gatv2'`.
 *
 * - GATv2Conv: PyG's GATv2Conv as a TF.js layer with the analytic backward (src/api/conv.ts).
 * - Graph: an edge_index made into the edge layout once, for many layer calls (src/api/graph.ts).
 * - loadDataset / dropout: built-in or CSV datasets as tensors; input dropout for sparse or dense x.
 * - train: the whole `gatv2 train` pipeline as a function (the CLI calls it).
 * - useBackend: starts a TF.js backend with this project's kernels; call it before anything else.
 * - readSafetensors / writeSafetensors, exportCheckpoint / importCheckpoint: PyG weight exchange.
 * - tf: the @tensorflow/tfjs-core these functions use (one instance, one engine).
 */
export * as tf from '@tensorflow/tfjs-core';
export { GATv2Conv } from './api/conv.js';
export type { ApplyOptions, Attention, Features, GATv2ConvOptions } from './api/conv.js';
export { Graph } from './api/graph.js';
export type { EdgeIndex } from './api/graph.js';
export { dropout, loadDataset } from './api/dataset.js';
export type { Dataset, LoadOptions } from './api/dataset.js';
export { train, trainConfig } from './api/train.js';
export type { TrainOptions, TrainSettings } from './api/train.js';
export type { TrainConfig, ModelOptions } from './train/config.js';
export type { SessionResult } from './train/session.js';
export type { RunSummary, SessionSummary } from './run/summary.js';
export type { ProgressReporter } from './train/progress.js';
export { createReporter } from './train/progress.js';
export { stopControl } from './train/stop.js';
export type { StopControl } from './train/stop.js';
export { BACKENDS, useBackend } from './backends/index.js';
export type { GATv2Config } from './model/config.js';
export { InputError } from './util/errors.js';
export { readSafetensors, writeSafetensors } from './exchange/safetensors.js';
export type { SafeTensor, SafetensorsFile } from './exchange/safetensors.js';
export { exportCheckpoint, exportCheckpointFile, importCheckpoint } from './exchange/pyg-checkpoint.js';
