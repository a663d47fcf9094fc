/**
 * A training session: one run per seed (in seed-<k>/ subdirectories when there are several), new
 * or resumed, on one backend and one loaded dataset, with the mean and standard deviation of the
 * results. Used by `gatv2 train`; tests drive it directly.
 */
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { backendReason, useBackend } from '../backends/index.js';
import { chooseNormalization, requestedMode, type FeatureNormalization } from '../data/feature-normalization.js';
import { loadDataset, resolveDataset } from '../store/load.js';
import { createLoadProgress } from '../data/load-progress.js';
import { checkTrainable } from '../data/trainable.js';
import { InputError } from '../util/errors.js';
import { buildNetworkConfig, createNetworkInputs, type NetworkConfig } from '../model/network.js';
import { writeJsonAtomic } from '../util/atomic.js';
import type { ModelConfig } from '../run/checkpoint.js';
import { checkTrainConfig, type TrainConfig } from './config.js';
import { checkAutogradFits, checkFullBatchFits } from '../model/autograd-memory.js';
import { prepareData, transformDataset } from '../data/prepare.js';
import { meanStd } from '../run/metrics.js';
import type { SessionSummary } from '../run/summary.js';
import type { ProgressReporter } from './progress.js';
import type { StopControl, StopReason } from './stop.js';
import { checkEpochs, trainRun } from './trainer.js';
import { isCheckpointDir, readManifest, LAST_DIR, SUMMARY_FILE } from '../run/checkpoint.js';
import { MemoryAdjacency, type InAdjacency } from '../sample/adjacency.js';
import { isStore } from '../store/read.js';
import { storeSamplerWorker, workerAvailable } from '../sample/prefetch.js';
import { resolveFanouts, type MiniBatchPlan } from './minibatch.js';
import { openStoreTraining, storeEvaluator, type TrainData } from './store-data.js';
import { memoryFeatures, type FeatureSource } from '../store/features.js';
import { readSummary, type RunSummary } from '../run/summary.js';

export const CONFIG_FILE = 'config.json';
const RUN_FORMAT = 'gatv2-run';

/** config.json of a session directory and of each seed's directory. */
export interface RunFile {
  format: typeof RUN_FORMAT;
  formatVersion: 1;
  createdAt: string;
  config: TrainConfig;
  /** Backend the run started on (config.backend is what was asked for). */
  backend: string;
  network: NetworkConfig;
  dataset: { name: string; dir: string; nodes: number; features: number; classes: number };
}

export interface SessionResult {
  dir: string;
  summary: SessionSummary | null;
  stoppedBy: StopReason | null;
}

export interface SessionOptions {
  /** A new session's options, or... */
  config?: TrainConfig;
  /** ...the directory of a session to continue... */
  resume?: string;
  /** ...with these options changed (a longer run, other patience); config.json is updated. */
  resumeOverrides?: Partial<Pick<TrainConfig, 'epochs' | 'patience'>>;
  /** New session's directory (default runs/<dataset>-<time>). */
  out?: string;
  reporter: ProgressReporter;
  stop: StopControl;
}

export function readRunFile(dir: string): RunFile {
  const path = join(dir, CONFIG_FILE);
  if (!existsSync(path)) throw new InputError(`${dir}: no ${CONFIG_FILE}; --resume takes the directory of a gatv2 train run`);
  let f: RunFile;
  try {
    f = JSON.parse(readFileSync(path, 'utf8')) as RunFile;
  } catch (err) {
    throw new InputError(`${path}: cannot read the run configuration (${(err as Error).message})`);
  }
  if (f?.format !== RUN_FORMAT) throw new InputError(`${path}: not a gatv2 run configuration`);
  return f;
}

function timestamp(d = new Date()): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}${p(d.getMonth() + 1)}${p(d.getDate())}-${p(d.getHours())}${p(d.getMinutes())}${p(d.getSeconds())}`;
}

/** The directory of a new session (not created yet): --out, or a fresh runs/<dataset>-<time>. */
function newSessionDir(out: string | undefined, datasetName: string): string {
  if (out !== undefined) {
    if (existsSync(out) && !statSync(out).isDirectory()) throw new InputError(`--out ${out}: is a file; name a new or existing directory`);
    if (existsSync(join(out, CONFIG_FILE))) {
      throw new InputError(`${out} already holds a run; continue it with --resume ${out}, or choose another --out`);
    }
    return resolve(out);
  }
  const base = resolve('runs', `${datasetName}-${timestamp()}`);
  let dir = base;
  for (let k = 2; existsSync(dir); k++) dir = `${base}-${k}`;
  return dir;
}

function modelConfigFor(
  config: TrainConfig, info: { numFeatures: number; classNames: string[]; featureNames?: string[] }, net: NetworkConfig, norm: FeatureNormalization,
): ModelConfig {
  const mc: ModelConfig = {
    network: net,
    dataset: config.dataset,
    normalizeFeatures: norm.mode === 'row',
    featureNormalization: norm,
    numFeatures: info.numFeatures,
    classNames: info.classNames,
    ...(config.toUndirected ? { toUndirected: config.toUndirected } : {}),
    ...(config.split ? { split: config.split } : {}),
  };
  if (info.featureNames !== undefined) mc.featureNames = info.featureNames;
  return mc;
}

/** What mini-batch training samples from: the loaded graph's in-edges and features. */
function miniBatchPlan(config: TrainConfig, data: TrainData, net: NetworkConfig, adjacency: InAdjacency, features: FeatureSource): MiniBatchPlan {
  return {
    batchSize: config.batchSize!,
    fanouts: resolveFanouts(config.fanout!, net.layers.length),
    adjacency,
    features,
    labels: data.dataset.labels,
    numClasses: data.numClasses,
    trainNodes: data.splits.train,
    addSelfLoops: config.model.addSelfLoops,
  };
}

function summarizeRuns(dir: string, config: TrainConfig, backend: string, runs: RunSummary[]): SessionSummary {
  return {
    dir,
    dataset: config.dataset,
    grad: config.grad,
    backend,
    runs,
    testAcc: meanStd(runs.map((r) => r.best.testAcc)),
    valAcc: meanStd(runs.map((r) => r.best.valAcc)),
    epochsRun: meanStd(runs.map((r) => r.epochsRun)),
    meanEpochMs: meanStd(runs.map((r) => r.meanEpochMs)),
  };
}

/**
 * A finished run goes on when given more epochs than it ran, unless it stopped early and its
 * patience is unchanged (it would stop again at once); trainRun decides from the saved state.
 */
function reopens(done: RunSummary, config: TrainConfig, saved: TrainConfig | null): boolean {
  return done.epochsRun < config.epochs && (!done.stoppedEarly || (saved !== null && saved.patience !== config.patience));
}

export async function trainSession(opts: SessionOptions): Promise<SessionResult> {
  const prior = opts.resume !== undefined ? readRunFile(resolve(opts.resume)) : null;
  const config = prior ? { ...prior.config, ...opts.resumeOverrides } : opts.config!;
  checkTrainConfig(config);
  const where = resolveDataset(config.dataset);
  // A user directory is recorded absolute, so --resume, evaluate and predict work from anywhere.
  const datasetRef = where.builtin ? where.name : where.dir;
  // Checked before the slow steps; created only once the dataset has loaded.
  const dir = prior ? resolve(opts.resume!) : newSessionDir(opts.out, where.name);
  const backend = await useBackend(config.backend);
  opts.reporter.note(`backend: ${backendReason() ?? backend}`);
  // A store in mini-batch mode is read from its files as batches need it (store-data.ts);
  // everything else is loaded whole.
  const fromFiles = config.batchSize !== undefined && isStore(where.dir)
    ? openStoreTraining(where.dir, where.display, { normalizeFeatures: requestedMode(config.normalizeFeatures) }) : null;
  if (fromFiles && (config.toUndirected || config.split)) {
    fromFiles.close();
    throw new InputError('--to-undirected and --split need the whole graph in memory; with a store and --batch-size it is read per batch (convert the transformed dataset, or train full batch)');
  }
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
  for (const w of [...(ds?.warnings ?? fromFiles!.info.warnings), ...problems.warnings]) opts.reporter.note(`warning: ${w}`);
  const norm = fromFiles ? fromFiles.normalization : chooseNormalization(ds!.features, requestedMode(config.normalizeFeatures));
  opts.reporter.note(norm.reason);
  const data = ds ? prepareData(ds, { normalizeFeatures: norm.normalization, addSelfLoops: config.model.addSelfLoops }) : null;
  const info = fromFiles ? fromFiles.info : {
    name: ds!.name, dir: ds!.dir, nodes: ds!.nodeIds.length, numFeatures: data!.features.numFeatures, classNames: ds!.classNames,
    ...(ds!.featureNames !== undefined ? { featureNames: ds!.featureNames } : {}),
  };
  const trainData: TrainData = fromFiles ? fromFiles.data : data!;
  if (fromFiles && config.diagnostics) {
    fromFiles.close();
    throw new InputError(`--diagnostics needs the whole graph in memory; with a store and --batch-size it is read per batch (drop --diagnostics, or train full batch)`);
  }
  const edgeDim = data?.dataset.edgeAttr?.dim ?? null;
  if (config.batchSize !== undefined && edgeDim !== null) {
    throw new InputError('--batch-size: mini-batch training does not take edge features yet; train this dataset full batch (without --batch-size)');
  }
  const net = buildNetworkConfig({ ...config.model, inFeatures: info.numFeatures, numClasses: trainData.numClasses, edgeDim });
  const full: TrainConfig = { ...config, dataset: datasetRef };
  // Full batch: autograd holds the tape of the whole graph (mini-batches: of one batch's blocks).
  if (data && config.batchSize === undefined) {
    if (config.grad === 'autograd') checkAutogradFits(net, data.layout.numEdges, '--grad autograd', backend);
    if (config.checkGrads > 0) checkAutogradFits(net, data.layout.numEdges, `--check-grads ${config.checkGrads} (it runs autograd)`, backend);
    const f = data.features;
    checkFullBatchFits(net, {
      name: info.name, nodes: data.layout.numNodes, edges: data.layout.numEdges,
      featureBytes: f.kind === 'dense' ? 4 * f.values.length : 8 * f.values.length + 4 * (f.numNodes + 1),
    }, backend);
  }

  if (prior) {
    if (JSON.stringify(prior.network) !== JSON.stringify(net)) {
      throw new InputError(`${dir}: the dataset ${datasetRef} no longer matches the run (features or classes changed)`);
    }
    if (prior.backend !== backend) opts.reporter.note(`warning: the run started on ${prior.backend}, it continues on ${backend}; numbers may differ`);
  } else mkdirSync(dir, { recursive: true });

  const runFile = (c: TrainConfig): RunFile => ({
    format: RUN_FORMAT, formatVersion: 1, createdAt: new Date().toISOString(), config: c, backend, network: net,
    dataset: { name: info.name, dir: info.dir, nodes: info.nodes, features: info.numFeatures, classes: trainData.numClasses },
  });
  if (!prior) writeJsonAtomic(join(dir, CONFIG_FILE), runFile(full));
  const changed = prior !== null && JSON.stringify(prior.config) !== JSON.stringify(config);
  // A resumed run with new --epochs/--patience records them, so the next --resume goes on with them.
  const updateRunFile = (path: string, c: TrainConfig) => {
    const f = readRunFile(path);
    writeJsonAtomic(join(path, CONFIG_FILE), { ...f, config: { ...f.config, epochs: c.epochs, patience: c.patience } });
  };
  if (changed) {
    // Refused before anything is written: fewer epochs than a seed's run has already done.
    for (let k = 0; k < config.seeds; k++) {
      const last = join(config.seeds > 1 ? join(dir, `seed-${k}`) : dir, LAST_DIR);
      if (isCheckpointDir(last)) checkEpochs(config, readManifest(last).epoch);
    }
    updateRunFile(dir, config);
  }

  const inputs = data ? createNetworkInputs(data.features, data.layout, data.dataset.edgeAttr) : undefined;
  const modelConfig = modelConfigFor(full, info, net, norm.normalization);
  const miniBatch = config.batchSize === undefined ? undefined
    : fromFiles ? {
      ...miniBatchPlan(config, trainData, net, fromFiles.adjacency, fromFiles.features),
      // A worker thread samples and reads the next batches while the step runs.
      ...(workerAvailable() ? {
        source: storeSamplerWorker({
          dir: where.dir, display: where.display, fanouts: resolveFanouts(config.fanout!, net.layers.length),
          addSelfLoops: config.model.addSelfLoops, normalization: norm.normalization,
        }),
      } : {}),
    }
    : miniBatchPlan(config, trainData, net, MemoryAdjacency.fromDataset(ds!), memoryFeatures(data!.features));
  // On a store, evaluation is layer-wise (as evaluate and predict on it): exact, and bounded.
  const evaluate = !isStore(where.dir) ? undefined
    : fromFiles ? storeEvaluator(fromFiles.adjacency, fromFiles.features, net, trainData.dataset.labels, { spill: true })
    : storeEvaluator(MemoryAdjacency.fromDataset(ds!), memoryFeatures(data!.features), net, trainData.dataset.labels, { spill: false });
  const runs: RunSummary[] = [];
  try {
    for (let k = 0; k < config.seeds; k++) {
      const runConfig: TrainConfig = { ...full, seed: config.seed + k, seeds: 1 };
      const runDir = config.seeds > 1 ? join(dir, `seed-${k}`) : dir;
      const done = readSummary(runDir);
      if (done && !reopens(done, runConfig, prior?.config ?? null)) {
        checkEpochs(runConfig, done.epochsRun);
        runs.push(done);
        continue;
      }
      if (changed && config.seeds > 1 && existsSync(join(runDir, CONFIG_FILE))) updateRunFile(runDir, runConfig);
      if (config.seeds > 1 && !existsSync(join(runDir, CONFIG_FILE))) {
        mkdirSync(runDir, { recursive: true });
        writeJsonAtomic(join(runDir, CONFIG_FILE), runFile(runConfig));
      }
      const out = await trainRun(
        {
          dir: runDir, config: runConfig, data: trainData, net, modelConfig, backend,
          ...(inputs ? { inputs } : {}), ...(miniBatch ? { miniBatch } : {}), ...(evaluate ? { evaluate } : {}),
        },
        opts.reporter, opts.stop, { index: k, count: config.seeds },
      );
      if (!out.summary) return { dir, summary: null, stoppedBy: out.stoppedBy };
      runs.push(out.summary);
    }
  } finally {
    inputs?.dispose();
    await miniBatch?.source?.close();
    fromFiles?.close();
  }
  const summary = summarizeRuns(dir, full, backend, runs);
  if (config.seeds > 1) writeJsonAtomic(join(dir, SUMMARY_FILE), summary);
  opts.reporter.finish(summary);
  return { dir, summary, stoppedBy: null };
}
