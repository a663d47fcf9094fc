/**
 * The dataset a session trains on: loaded whole (with --to-undirected and --split applied), or, for
 * a store in mini-batch mode, opened to be read as batches need it (store-data.ts); checked
 * trainable, its feature transform chosen, and what it cannot train with refused.
 */
import type { GraphDataset } from '../data/dataset.js';
import { chooseNormalization, requestedMode, type FeatureNormalization } from '../data/feature-normalization.js';
import { createLoadProgress } from '../data/load-progress.js';
import { prepareData, transformDataset, type PreparedData } from '../data/prepare.js';
import { checkTrainable } from '../data/trainable.js';
import { loadDataset, type ResolvedDataset } from '../store/load.js';
import { isStore } from '../store/read.js';
import { InputError } from '../util/errors.js';
import type { TrainConfig } from './config.js';
import type { ProgressReporter } from './progress.js';
import { openStoreTraining, type StoreTraining, type TrainData } from './store-data.js';

/** What config.json and the model config record of the dataset. */
export interface DatasetInfo {
  name: string;
  dir: string;
  nodes: number;
  numFeatures: number;
  classNames: string[];
  featureNames?: string[];
}

export interface SessionData {
  /** The graph in memory, as trained on; null when a store is read from its files. */
  whole: { dataset: GraphDataset; prepared: PreparedData } | null;
  /** The store read per batch; null when the graph is in memory. */
  fromFiles: StoreTraining | null;
  trainData: TrainData;
  info: DatasetInfo;
  normalization: FeatureNormalization;
  /** Dimension of the edge features; null without them. */
  edgeDim: number | null;
}

/** A store in mini-batch mode is read from its files; everything else is loaded whole. */
function openFromFiles(config: TrainConfig, where: ResolvedDataset): StoreTraining | null {
  if (config.batchSize === undefined || !isStore(where.dir)) return null;
  const fromFiles = openStoreTraining(where.dir, where.display, { normalizeFeatures: requestedMode(config.normalizeFeatures) });
  if (config.toUndirected || config.split) {
    fromFiles.close();
    throw new InputError('--to-undirected and --split need the whole graph in memory; with a store and --batch-size it is read per batch (convert the transformed dataset, or train full batch)');
  }
  return fromFiles;
}

/** What the session needs refused before it writes anything (the store is closed first). */
function refuseUntrainable(config: TrainConfig, d: SessionData): void {
  if (d.fromFiles && config.diagnostics) {
    d.fromFiles.close();
    throw new InputError(`--diagnostics needs the whole graph in memory; with a store and --batch-size it is read per batch (drop --diagnostics, or train full batch)`);
  }
  if (config.batchSize !== undefined && d.edgeDim !== null) {
    throw new InputError('--batch-size: mini-batch training does not take edge features yet; train this dataset full batch (without --batch-size)');
  }
}

/** datasetRef: how config.json names the dataset (a built-in name or an absolute directory). */
export async function openSessionData(config: TrainConfig, where: ResolvedDataset, datasetRef: string, reporter: ProgressReporter): Promise<SessionData> {
  const fromFiles = openFromFiles(config, where);
  const loaded = fromFiles ? null : await loadDataset(datasetRef, createLoadProgress({ tty: process.stderr.isTTY === true }));
  // --to-undirected and --split first: what can train is decided on the graph and split trained on.
  const ds = loaded ? transformDataset(loaded, { toUndirected: config.toUndirected ?? null, split: config.split ?? null }) : null;
  const problems = checkTrainable(ds ?? {
    name: fromFiles!.info.name, labels: fromFiles!.data.dataset.labels, split: fromFiles!.split, classNames: fromFiles!.info.classNames,
  });
  if (problems.errors.length > 0) {
    fromFiles?.close();
    throw new InputError(problems.errors[0]);
  }
  for (const w of [...(ds?.warnings ?? fromFiles!.info.warnings), ...problems.warnings]) reporter.note(`warning: ${w}`);
  const norm = fromFiles ? fromFiles.normalization : chooseNormalization(ds!.features, requestedMode(config.normalizeFeatures));
  reporter.note(norm.reason);
  const prepared = ds ? prepareData(ds, { normalizeFeatures: norm.normalization, addSelfLoops: config.model.addSelfLoops }) : null;
  const info: DatasetInfo = fromFiles ? fromFiles.info : {
    name: ds!.name, dir: ds!.dir, nodes: ds!.nodeIds.length, numFeatures: prepared!.features.numFeatures, classNames: ds!.classNames,
    ...(ds!.featureNames !== undefined ? { featureNames: ds!.featureNames } : {}),
  };
  const d: SessionData = {
    whole: ds ? { dataset: ds, prepared: prepared! } : null,
    fromFiles,
    trainData: fromFiles ? fromFiles.data : prepared!,
    info,
    normalization: norm.normalization,
    edgeDim: prepared?.dataset.edgeAttr?.dim ?? null,
  };
  refuseUntrainable(config, d);
  return d;
}
