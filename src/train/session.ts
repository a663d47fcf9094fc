/**
 * A training session: one run per seed (in seed-<k>/ subdirectories when there are several), new
 * or resumed, on one backend and one loaded dataset, with the mean and standard deviation of the
 * results. Used by `gatv2 train`; tests drive it directly.
 */
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { backendReason, useBackend } from '../backends/index.js';
import type { FeatureNormalization } from '../data/feature-normalization.js';
import { resolveDataset } from '../store/load.js';
import { InputError } from '../util/errors.js';
import { buildNetworkConfig, type NetworkConfig } from '../model/network.js';
import { writeJsonAtomic } from '../util/atomic.js';
import type { ModelConfig } from '../run/checkpoint.js';
import { checkModelOptions, checkTrainConfig, type TrainConfig } from './config.js';
import { checkAutogradFits, checkFullBatchFits } from '../model/autograd-memory.js';
import { meanStd } from '../run/metrics.js';
import type { SessionSummary } from '../run/summary.js';
import type { ProgressReporter } from './progress.js';
import type { StopControl, StopReason } from './stop.js';
import { checkEpochs, trainRun } from './trainer.js';
import type { RunHooksFactory } from './run-hooks.js';
import { isCheckpointDir, readManifest, LAST_DIR, SUMMARY_FILE } from '../run/checkpoint.js';
import type { TrainData } from './store-data.js';
import { readSummary, type RunSummary } from '../run/summary.js';
import { openSessionData, type DatasetInfo, type SessionData } from './session-data.js';
import { sessionInputs, type SessionInputs } from './session-inputs.js';

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
  /** Makes each run's hooks (the api's: diagnostics and the report); needed with config.diagnostics. */
  runHooks?: RunHooksFactory;
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
  config: TrainConfig, info: DatasetInfo, net: NetworkConfig, norm: FeatureNormalization,
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

/** A session's options: a new one's, or a resumed one's saved options with --epochs/--patience over them. */
function sessionConfig(opts: SessionOptions): { prior: RunFile | null; config: TrainConfig } {
  const prior = opts.resume !== undefined ? readRunFile(resolve(opts.resume)) : null;
  const config = prior ? { ...prior.config, ...opts.resumeOverrides } : opts.config!;
  checkTrainConfig(config);
  return { prior, config };
}

/** Full batch: autograd holds the tape of the whole graph (mini-batches: of one batch's blocks). */
function checkFits(config: TrainConfig, net: NetworkConfig, d: SessionData, backend: string): void {
  const data = d.whole?.prepared;
  if (!data || config.batchSize !== undefined) return;
  if (config.grad === 'autograd') checkAutogradFits(net, data.layout.numEdges, '--grad autograd', backend);
  if (config.checkGrads > 0) checkAutogradFits(net, data.layout.numEdges, `--check-grads ${config.checkGrads} (it runs autograd)`, backend);
  const f = data.features;
  checkFullBatchFits(net, {
    name: d.info.name, nodes: data.layout.numNodes, edges: data.layout.numEdges,
    featureBytes: f.kind === 'dense' ? 4 * f.values.length : 8 * f.values.length + 4 * (f.numNodes + 1),
  }, backend);
}

/** A resumed run with new --epochs/--patience records them, so the next --resume goes on with them. */
function updateRunFile(path: string, c: TrainConfig): void {
  const f = readRunFile(path);
  writeJsonAtomic(join(path, CONFIG_FILE), { ...f, config: { ...f.config, epochs: c.epochs, patience: c.patience } });
}

/** The session's directory and config.json, new or checked against the resumed run; whether its options changed. */
function openSessionDir(s: Omit<Session, 'inputs'>, prior: RunFile | null, config: TrainConfig, reporter: ProgressReporter): boolean {
  const { dir, net, backend } = s;
  if (prior) {
    if (JSON.stringify(prior.network) !== JSON.stringify(net)) {
      throw new InputError(`${dir}: the dataset ${s.config.dataset} no longer matches the run (features or classes changed)`);
    }
    if (prior.backend !== backend) reporter.note(`warning: the run started on ${prior.backend}, it continues on ${backend}; numbers may differ`);
  } else mkdirSync(dir, { recursive: true });
  if (!prior) writeJsonAtomic(join(dir, CONFIG_FILE), s.runFile(s.config));
  const changed = prior !== null && JSON.stringify(prior.config) !== JSON.stringify(config);
  if (changed) {
    // Refused before anything is written: fewer epochs than a seed's run has already done.
    for (let k = 0; k < config.seeds; k++) {
      const last = join(config.seeds > 1 ? join(dir, `seed-${k}`) : dir, LAST_DIR);
      if (isCheckpointDir(last)) checkEpochs(config, readManifest(last).epoch);
    }
    updateRunFile(dir, config);
  }
  return changed;
}

/** What every run of a session shares. */
interface Session {
  dir: string;
  /** The session's options with the dataset as config.json names it. */
  config: TrainConfig;
  net: NetworkConfig;
  backend: string;
  modelConfig: ModelConfig;
  data: TrainData;
  inputs: SessionInputs;
  /** config.json of the session or of a seed's run. */
  runFile(c: TrainConfig): RunFile;
}

/** Each seed's run in turn (seed-<k>/ when there are several); a finished one is read back, not rerun. */
async function runSeeds(s: Session, opts: SessionOptions, prior: RunFile | null, changed: boolean): Promise<RunSummary[] | StopReason> {
  const { config, inputs } = s;
  const runs: RunSummary[] = [];
  for (let k = 0; k < config.seeds; k++) {
    const runConfig: TrainConfig = { ...config, seed: config.seed + k, seeds: 1 };
    const runDir = config.seeds > 1 ? join(s.dir, `seed-${k}`) : s.dir;
    const done = readSummary(runDir);
    if (done && !reopens(done, runConfig, prior?.config ?? null)) {
      checkEpochs(runConfig, done.epochsRun);
      runs.push(done);
      continue;
    }
    if (changed && config.seeds > 1 && existsSync(join(runDir, CONFIG_FILE))) updateRunFile(runDir, runConfig);
    if (config.seeds > 1 && !existsSync(join(runDir, CONFIG_FILE))) {
      mkdirSync(runDir, { recursive: true });
      writeJsonAtomic(join(runDir, CONFIG_FILE), s.runFile(runConfig));
    }
    const out = await trainRun(
      {
        dir: runDir, config: runConfig, data: s.data, net: s.net, modelConfig: s.modelConfig, backend: s.backend,
        ...(inputs.inputs ? { inputs: inputs.inputs } : {}), ...(inputs.miniBatch ? { miniBatch: inputs.miniBatch } : {}),
        ...(inputs.evaluate ? { evaluate: inputs.evaluate } : {}),
        ...(opts.runHooks ? { hooks: opts.runHooks({ dir: runDir, config: runConfig, reporter: opts.reporter }) } : {}),
      },
      opts.reporter, opts.stop, { index: k, count: config.seeds },
    );
    if (!out.summary) return out.stoppedBy!;
    runs.push(out.summary);
  }
  return runs;
}

export async function trainSession(opts: SessionOptions): Promise<SessionResult> {
  const { prior, config } = sessionConfig(opts);
  const where = resolveDataset(config.dataset);
  // A user directory is recorded absolute, so --resume, evaluate and predict work from anywhere.
  const datasetRef = where.builtin ? where.name : where.dir;
  // Checked before the slow steps; created only once the dataset has loaded.
  const dir = prior ? resolve(opts.resume!) : newSessionDir(opts.out, where.name);
  const backend = await useBackend(config.backend);
  opts.reporter.note(`backend: ${backendReason() ?? backend}`);
  const d = await openSessionData(config, where, datasetRef, opts.reporter);
  let inputs: SessionInputs | null = null;
  try {
    const { info, trainData } = d;
    checkModelOptions(config.model, trainData.numClasses);
    const net = buildNetworkConfig({ ...config.model, inFeatures: info.numFeatures, numClasses: trainData.numClasses, edgeDim: d.edgeDim });
    const full: TrainConfig = { ...config, dataset: datasetRef };
    checkFits(config, net, d, backend);
    const runFile = (c: TrainConfig): RunFile => ({
      format: RUN_FORMAT, formatVersion: 1, createdAt: new Date().toISOString(), config: c, backend, network: net,
      dataset: { name: info.name, dir: info.dir, nodes: info.nodes, features: info.numFeatures, classes: trainData.numClasses },
    });
    const session: Omit<Session, 'inputs'> = {
      dir, config: full, net, backend, modelConfig: modelConfigFor(full, info, net, d.normalization), data: trainData, runFile,
    };
    const changed = openSessionDir(session, prior, config, opts.reporter);
    inputs = sessionInputs(config, d, net, where);
    const runs = await runSeeds({ ...session, inputs }, opts, prior, changed);
    if (!Array.isArray(runs)) return { dir, summary: null, stoppedBy: runs };
    const summary = summarizeRuns(dir, full, backend, runs);
    if (config.seeds > 1) writeJsonAtomic(join(dir, SUMMARY_FILE), summary);
    opts.reporter.finish(summary);
    return { dir, summary, stoppedBy: null };
  } finally {
    await inputs?.close();
    d.fromFiles?.close();
  }
}
