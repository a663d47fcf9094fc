/**
 * One training run (one seed) in its directory: init or resume, the epoch loop (training step,
 * evaluation, early stopping, optional gradient check), checkpoints and metrics, summary.json.
 *
 * Directory of a run:
 *   config.json     the run's options (written by the session)
 *   metrics.jsonl   one line per epoch, rewritten with each last/ checkpoint
 *   best/           best-validation weights (for evaluate and predict)
 *   last/           weights + optimizer slots + training state of the latest saved epoch (--resume)
 *   summary.json    written when the run completes
 */
import * as tf from '@tensorflow/tfjs-core';
import { watchGpu } from './gpu-watch.js';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { initNetworkParams, networkForward, networkParamShapes, SEED_STREAM, type NetworkConfig, type NetworkInputs } from '../model/network.js';
import type { RunSummary } from '../run/summary.js';
import { BEST_DIR, disposeCheckpoint, EVAL_MODE, isCheckpointDir, LAST_DIR, loadCheckpoint, readManifest, saveCheckpoint, SUMMARY_FILE, type ModelConfig } from '../run/checkpoint.js';
import { writeJsonAtomic } from '../util/atomic.js';
import { CheckFailedError, InputError } from '../util/errors.js';
import type { TrainConfig } from './config.js';
import type { TrainData } from './store-data.js';
import { earlyStoppingStep, initialEarlyStopping, type EarlyStoppingState } from './early-stopping.js';
import { appendDiagnostics, diagnoseNetwork, summarizeDiagnostics, type NetworkDiagnostics } from '../diagnostics/index.js';
import { writeReport } from '../report/index.js';
import { compareModes, lossAndGrads, toHost, type Objective } from '../model/objective.js';
import { splitTargets } from '../model/loss.js';
import { classificationReportOf, scoreSplitOf, scoresOfLogits, type NodeScores } from './node-scores.js';
import { METRICS_FILE, readMetrics, writeMetrics, type EpochMetrics, type GradCheckRecord } from '../run/metrics.js';
import { createOptimizer, type Optimizer } from '../model/optimizers.js';
import type { ClassificationReport } from '../run/classification-metrics.js';
import { clipGradNorm } from './clip-grad.js';
import { lrAt } from './lr-schedule.js';
import { writeRunStatus } from './run-status.js';
import { compareModesOnFirstBatch, trainEpochMiniBatch, type EpochResult, type MiniBatchPlan } from './minibatch.js';
import type { ProgressReporter } from './progress.js';
import type { StopControl, StopReason } from './stop.js';
import { deriveSeed } from '../util/prng.js';


export interface TrainingState {
  /** Last completed epoch. */
  epoch: number;
  optimizerStep: number;
  earlyStopping: EarlyStoppingState;
  /** Metrics of the best epoch so far. */
  best: EpochMetrics | null;
  /**
   * Where the random streams stand. Epoch e's dropout masks come from deriveSeed(seed, step, e)
   * and nothing else, so the position is the next epoch.
   */
  rng: { seed: number; nextEpoch: number };
  /** Wall time spent in this run so far, over all resumes. */
  elapsedMs: number;
  finished: boolean;
  stoppedEarly: boolean;
  /** Per-class report of the best epoch on val and test (absent in older checkpoints). */
  bestReport?: { val: ClassificationReport; test: ClassificationReport };
}

export interface RunSpec {
  dir: string;
  /** This run's options (config.seed is its seed). */
  config: TrainConfig;
  data: TrainData;
  /** The whole graph on the backend; absent when a store is trained from its files (store-data.ts). */
  inputs?: NetworkInputs;
  /** Every node's evaluation scores (layer-wise on a store); absent: the full forward on inputs. */
  evaluate?: (params: Record<string, tf.Tensor>) => Promise<NodeScores>;
  net: NetworkConfig;
  modelConfig: ModelConfig;
  /** Backend it runs on. */
  backend: string;
  /** Mini-batch training (--batch-size); absent: full batch. */
  miniBatch?: MiniBatchPlan;
}

export interface RunOutcome {
  /** null when the run was stopped before finishing. */
  summary: RunSummary | null;
  stoppedBy: StopReason | null;
}

interface Model {
  params: Record<string, tf.Variable>;
  optimizer: Optimizer;
  state: TrainingState;
  metrics: EpochMetrics[];
}

/** The optimizer applies the weight decay (torch.optim's weight_decay), so the step's gradient is
 * of the cross-entropy alone: see stepObjective in trainRun. */
function trainingOptimizer(spec: RunSpec): Optimizer {
  return createOptimizer(spec.config.optimizer, networkParamShapes(spec.net), { weightDecay: spec.config.weightDecay });
}

function freshModel(spec: RunSpec): Model {
  const init = initNetworkParams(spec.net, spec.config.seed);
  const params: Record<string, tf.Variable> = {};
  for (const [n, t] of Object.entries(init)) {
    params[n] = tf.variable(t, true);
    t.dispose();
  }
  return {
    params,
    optimizer: trainingOptimizer(spec),
    state: {
      epoch: 0, optimizerStep: 0, earlyStopping: initialEarlyStopping(), best: null,
      rng: { seed: spec.config.seed, nextEpoch: 1 }, elapsedMs: 0, finished: false, stoppedEarly: false,
    },
    metrics: [],
  };
}

async function resumedModel(spec: RunSpec): Promise<Model> {
  const ckpt = await loadCheckpoint<TrainingState>(join(spec.dir, LAST_DIR));
  try {
    const state = ckpt.manifest.trainingState;
    if (!state) throw new InputError(`${ckpt.dir}: holds no training state; it is not a resumable checkpoint of gatv2 train`);
    const params: Record<string, tf.Variable> = {};
    for (const [n, t] of Object.entries(ckpt.params)) params[n] = tf.variable(t, true);
    const optimizer = trainingOptimizer(spec);
    optimizer.load({ step: state.optimizerStep, slots: ckpt.optimizerSlots });
    const metrics = readMetrics(join(spec.dir, METRICS_FILE), state.epoch);
    if (metrics.length !== state.epoch) {
      throw new InputError(`${join(spec.dir, METRICS_FILE)}: holds ${metrics.length} epochs, the checkpoint in ${LAST_DIR}/ ${state.epoch}; the run directory was changed by hand`);
    }
    return { params, optimizer, state, metrics };
  } finally {
    disposeCheckpoint(ckpt);
  }
}

function summarize(spec: RunSpec, m: Model): RunSummary {
  // No best epoch only when the validation loss was never a number (a diverged run): NaN then,
  // null in summary.json, and no best/ checkpoint.
  const b = m.state.best ?? { epoch: 0, trainAcc: NaN, valAcc: NaN, valLoss: NaN, testAcc: NaN, testLoss: NaN };
  const checks = m.metrics.filter((x) => x.gradCheck);
  const s: RunSummary = {
    dataset: spec.modelConfig.dataset,
    seed: spec.config.seed,
    grad: spec.config.grad,
    backend: spec.backend,
    epochsRun: m.state.epoch,
    maxEpochs: spec.config.epochs,
    stoppedEarly: m.state.stoppedEarly,
    bestEpoch: b.epoch,
    best: { trainAcc: b.trainAcc, valAcc: b.valAcc, valLoss: b.valLoss, testAcc: b.testAcc, testLoss: b.testLoss },
    timeMs: m.state.elapsedMs,
    meanEpochMs: m.metrics.reduce((a, x) => a + x.epochMs, 0) / m.metrics.length,
  };
  if (m.state.bestReport) s.classification = { classNames: spec.modelConfig.classNames, ...m.state.bestReport };
  if (checks.length > 0) {
    const w = checks.reduce((a, x) => (x.gradCheck!.worst.relDiff > a.gradCheck!.worst.relDiff ? x : a));
    s.gradCheck = { checks: checks.length, worst: { epoch: w.epoch, ...w.gradCheck!.worst } };
  }
  return s;
}

/** A resumed run cannot be given fewer epochs than it has already run. */
export function checkEpochs(config: TrainConfig, epochsRun: number): void {
  if (config.epochs < epochsRun) {
    throw new InputError(`--epochs ${config.epochs}: the run has already completed ${epochsRun} epochs; give at least that many`);
  }
}

/**
 * A resumed run under possibly new --epochs / --patience: whether it is finished (or stopped
 * early) is decided again from where it stands, so a finished run given more epochs goes on.
 */
function reopen(dir: string, state: TrainingState, config: TrainConfig): void {
  checkEpochs(config, state.epoch);
  const wasFinished = state.finished;
  state.stoppedEarly = config.patience > 0 && state.earlyStopping.badEpochs >= config.patience;
  state.finished = state.stoppedEarly || state.epoch >= config.epochs;
  // An extension stopped half-way must not be taken for the finished run by the next --resume.
  if (wasFinished && !state.finished) rmSync(join(dir, SUMMARY_FILE), { force: true });
}

async function evaluateScores(spec: RunSpec, params: Record<string, tf.Tensor>): Promise<NodeScores> {
  if (spec.evaluate) return spec.evaluate(params);
  const logitsT = tf.tidy(() => networkForward(spec.net, params, wholeGraph(spec), { mode: EVAL_MODE, training: false }).logits);
  const logits = (await logitsT.data()) as Float32Array;
  logitsT.dispose();
  return scoresOfLogits(logits, spec.data.dataset.labels, spec.data.numClasses);
}

function wholeGraph(spec: RunSpec): NetworkInputs {
  if (!spec.inputs) throw new Error('this run has no whole-graph inputs (a store trained from its files)');
  return spec.inputs;
}

/** Runs (or resumes, when dir holds last/) one seed to its end or to a stop request. */
export async function trainRun(
  spec: RunSpec, reporter: ProgressReporter, stop: StopControl, position: { index: number; count: number },
): Promise<RunOutcome> {
  const { config, data, net } = spec;
  // Absent only for a store trained from its files, where neither the full-batch step nor the
  // diagnostics run (the session refuses --diagnostics there).
  const inputs = spec.inputs as NetworkInputs;
  const resuming = isCheckpointDir(join(spec.dir, LAST_DIR));
  const model = resuming ? await resumedModel(spec) : freshModel(spec);
  const { params, optimizer, state, metrics } = model;
  if (resuming) {
    try {
      reopen(spec.dir, state, config);
    } catch (err) {
      optimizer.dispose();
      tf.dispose(Object.values(params));
      throw err;
    }
  }
  const labels = data.dataset.labels;
  // [N, classes] on the backend: only the full-batch step and the diagnostics read it (mini-batch
  // steps make their batch's own), and at ogbn-products' size it is 450 MB.
  const wholeTargets = !spec.miniBatch || (config.diagnostics ?? 0) > 0;
  const obj: Objective = {
    targets: wholeTargets ? splitTargets(labels, data.splits.train, data.numClasses) : tf.zeros([0, data.numClasses]),
    weightDecay: config.weightDecay,
  };
  // What the step differentiates: the optimizer adds weightDecay * theta to these gradients (the
  // L2 term's gradient), so the same update costs no L2 forward and backward. --check-grads
  // compares the modes on it; diagnostics (which differentiate the cross-entropy alone) get `obj`
  // to record the coefficient.
  const stepObjective: Objective = { ...obj, weightDecay: 0 };
  const trainedWith = { backend: spec.backend, grad: config.grad, seed: config.seed };
  const sessionStart = performance.now();
  const elapsedBefore = state.elapsedMs;
  // The best epoch's weights, kept in memory and written with the next save: best/ on disk then
  // always belongs to the state in last/, and an improving run does not write every epoch.
  let best: { epoch: number; params: tf.Tensor[] } | null = null;
  const save = async () => {
    state.elapsedMs = elapsedBefore + performance.now() - sessionStart;
    writeMetrics(join(spec.dir, METRICS_FILE), metrics);
    if (best) {
      const named: Record<string, tf.Tensor> = {};
      Object.keys(params).forEach((n, k) => (named[n] = best!.params[k]));
      await saveCheckpoint(join(spec.dir, BEST_DIR), { modelConfig: spec.modelConfig, trainedWith, epoch: best.epoch }, named);
      tf.dispose(best.params);
      best = null;
    }
    await saveCheckpoint<TrainingState>(
      join(spec.dir, LAST_DIR),
      { modelConfig: spec.modelConfig, trainedWith, epoch: state.epoch, trainingState: { ...state, optimizerStep: optimizer.state().step } },
      params, optimizer.state().slots,
    );
  };

  const diagnose = config.diagnostics ?? 0;
  let lastDiagnostics: NetworkDiagnostics | null = null;
  const finishDiagnostics = () => {
    if (!diagnose) return;
    if (lastDiagnostics) reporter.note(summarizeDiagnostics(lastDiagnostics));
    reporter.note(`report: ${writeReport(spec.dir)}`);
  };
  // Diagnostics on this epoch's weights and dropout masks, before the update (on the full graph
  // also in mini-batch mode); returns their time, which counts as check time.
  const diagnoseEpoch = async (epoch: number, seed: number): Promise<number> => {
    const t = performance.now();
    lastDiagnostics = await diagnoseNetwork(net, params, inputs, obj, { mode: config.grad, training: true, seed });
    appendDiagnostics(spec.dir, epoch, lastDiagnostics);
    return performance.now() - t;
  };
  const gpu = watchGpu();
  // The loss stopped being a number: stop without saving the weights that made it, and say where.
  const diverged = (epoch: number, what: string): never => {
    reporter.runEnd(null);
    const saved = isCheckpointDir(join(spec.dir, LAST_DIR)) ? `; ${join(spec.dir, LAST_DIR)} holds epoch ${readManifest(join(spec.dir, LAST_DIR)).epoch}, saved before` : '';
    throw new CheckFailedError(
      `training diverged at epoch ${epoch}: ${what}; lower --lr (now ${config.optimizer.lr}) or change --optimizer (now ${config.optimizer.name})${saved}`,
    );
  };
  try {
    writeRunStatus(spec.dir, { status: 'running', epoch: state.epoch });
    if (resuming) reporter.note(`resuming ${spec.dir} after epoch ${state.epoch}`);
    reporter.runStart({ seed: config.seed, ...position, startEpoch: state.epoch, maxEpochs: config.epochs });
    let savedEpoch = state.epoch;
    while (!state.finished && stop.reason() === null) {
      const started = performance.now();
      const epoch = state.epoch + 1;
      const seed = deriveSeed(config.seed, SEED_STREAM.step, epoch);
      const fwd = { training: true, seed };

      let gradCheck: GradCheckRecord | undefined;
      let checkMs = 0;
      let trainLoss: number;
      let miniBatch: EpochResult | undefined;
      // This epoch's lr (--lr-schedule) and, with --clip-norm, the gradients' norm before clipping.
      const lr = lrAt(config.optimizer.lr, config.lrSchedule, epoch, config.epochs);
      let gradNorm: number | undefined;
      if (spec.miniBatch) {
        // Checks and diagnostics first, on this epoch's weights: the gradient check on its first
        // batch (same blocks and masks as its step), the diagnostics on the full graph.
        if (config.checkGrads > 0 && epoch % config.checkGrads === 0) {
          const t = performance.now();
          const cmp = await compareModesOnFirstBatch(spec.miniBatch, net, params, config.seed, epoch);
          checkMs = performance.now() - t;
          gradCheck = { relDiff: cmp.relDiff, worst: cmp.worst, ms: checkMs };
        }
        if (diagnose && (epoch === 1 || epoch % diagnose === 0)) checkMs += await diagnoseEpoch(epoch, seed);
        miniBatch = await trainEpochMiniBatch(spec.miniBatch, net, params, optimizer, {
          seed: config.seed, epoch, mode: config.grad, lr, ...(config.clipNorm ? { clipNorm: config.clipNorm } : {}),
          onBatch: (done, total) => reporter.batch?.(done, total),
        });
        trainLoss = miniBatch.loss;
      } else {
      const step = tf.tidy(() => lossAndGrads(net, params, inputs, stepObjective, { ...fwd, mode: config.grad }));
      if (config.checkGrads > 0 && epoch % config.checkGrads === 0) {
        const t = performance.now();
        const already = { mode: config.grad, grads: await toHost(step.grads), objective: (await step.objective.data())[0] };
        const cmp = await compareModes(net, params, inputs, stepObjective, fwd, already);
        checkMs = performance.now() - t;
        gradCheck = { relDiff: cmp.relDiff, worst: cmp.worst, ms: checkMs };
      }
      if (diagnose && (epoch === 1 || epoch % diagnose === 0)) checkMs += await diagnoseEpoch(epoch, seed);
      const loss = (await step.loss.data())[0];
      if (!Number.isFinite(loss)) {
        tf.dispose([step.loss, step.objective, ...Object.values(step.grads)]);
        diverged(epoch, `the training loss is ${loss}`);
      }
      // --clip-norm, then the step with this epoch's lr (--lr-schedule): both functions of the
      // config and the epoch only, so a resumed run applies exactly what it would have.
      const clip = config.clipNorm ? await clipGradNorm(step.grads, config.clipNorm) : null;
      if (clip) gradNorm = clip.norm;
      const grads = clip ? clip.grads : step.grads;
      optimizer.apply(params, grads, lr);
      trainLoss = loss;
      tf.dispose([step.loss, step.objective, ...Object.values(grads)]);
      }
      if (!Number.isFinite(trainLoss)) diverged(epoch, `the training loss is ${trainLoss}`);

      const scores = await evaluateScores(spec, params);
      const score = (s: Int32Array) => scoreSplitOf(scores, labels, s);
      const tr = score(data.splits.train), va = score(data.splits.val), te = score(data.splits.test);
      const epochMs = performance.now() - started - checkMs;
      // The update made the weights produce NaN or infinite logits: nothing of this epoch is saved.
      if (!Number.isFinite(tr.loss) || !Number.isFinite(va.loss)) {
        diverged(epoch, `after its update the ${Number.isFinite(tr.loss) ? `validation loss is ${va.loss}` : `training loss is ${tr.loss}`}`);
      }

      const es = earlyStoppingStep(state.earlyStopping, epoch, va, config);
      const m: EpochMetrics = {
        epoch, trainLoss, trainAcc: tr.accuracy, valLoss: va.loss, valAcc: va.accuracy,
        testLoss: te.loss, testAcc: te.accuracy, best: es.best, epochMs,
      };
      if (gradCheck) m.gradCheck = gradCheck;
      if (config.lrSchedule && config.lrSchedule.name !== 'none') m.lr = lr;
      if (gradNorm !== undefined) m.gradNorm = gradNorm;
      if (miniBatch) {
        Object.assign(m, {
          batches: miniBatch.batches, samplingMs: miniBatch.samplingMs, samplingWaitMs: miniBatch.waitMs, stepMs: miniBatch.stepMs,
          sampledEdges: miniBatch.sampledEdges,
        });
      }
      metrics.push(m);
      state.epoch = epoch;
      state.rng.nextEpoch = epoch + 1;
      state.earlyStopping = es.state;
      if (es.best) {
        state.best = m;
        state.bestReport = {
          val: classificationReportOf(scores, labels, data.splits.val, data.numClasses),
          test: classificationReportOf(scores, labels, data.splits.test, data.numClasses),
        };
        if (best) tf.dispose(best.params);
        best = { epoch, params: Object.values(params).map((p) => tf.clone(p)) };
      }
      state.stoppedEarly = es.stop;
      state.finished = es.stop || epoch >= config.epochs;
      reporter.epoch(m);
      // Before anything of this epoch is written: numbers computed after a GPU error are not kept.
      await gpu.check(`epoch ${epoch}`);
      if (state.finished || epoch % config.saveEvery === 0) {
        await save();
        savedEpoch = epoch;
      }
      // Lets a pending SIGINT/SIGTERM handler run before the next epoch starts.
      await new Promise((r) => setImmediate(r));
    }
    if (state.epoch !== savedEpoch) await save();
    if (!state.finished) {
      finishDiagnostics();
      writeRunStatus(spec.dir, { status: 'stopped', epoch: state.epoch, reason: String(stop.reason()) });
      reporter.runEnd(null);
      return { summary: null, stoppedBy: stop.reason() };
    }
    state.elapsedMs = elapsedBefore + performance.now() - sessionStart;
    const summary = summarize(spec, model);
    writeJsonAtomic(join(spec.dir, SUMMARY_FILE), summary);
    // After summary.json, so the report has the best epoch's per-class tables.
    finishDiagnostics();
    writeRunStatus(spec.dir, { status: 'finished', epoch: state.epoch });
    reporter.runEnd(summary);
    return { summary, stoppedBy: null };
  } catch (err) {
    try {
      writeRunStatus(spec.dir, { status: 'failed', epoch: state.epoch, error: (err as Error).message ?? String(err) });
    } catch {
      // The directory cannot be written either: the original error is the one to report.
    }
    throw err;
  } finally {
    await gpu.release();
    if (best) tf.dispose(best.params);
    obj.targets.dispose();
    optimizer.dispose();
    tf.dispose(Object.values(params));
  }
}
