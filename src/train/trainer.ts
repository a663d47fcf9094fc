/**
 * One training run (one seed) in its directory: init or resume, the epoch loop (training step,
 * evaluation, early stopping, optional gradient check and diagnostics), checkpoints and metrics,
 * summary.json.
 *
 * Directory of a run:
 *   config.json     the run's options (written by the session)
 *   metrics.jsonl   one line per epoch, rewritten with each last/ checkpoint
 *   best/           best-validation weights (for evaluate and predict)
 *   last/           weights + optimizer slots + training state of the latest saved epoch (--resume)
 *   summary.json    written when the run completes
 * and what the run's hooks add (run-hooks.ts): diagnostics.jsonl and report.html with --diagnostics.
 */
import * as tf from '@tensorflow/tfjs-core';
import { join } from 'node:path';
import { networkForward, SEED_STREAM, type NetworkInputs } from '../model/network.js';
import { EVAL_MODE, isCheckpointDir, LAST_DIR, readManifest, SUMMARY_FILE } from '../run/checkpoint.js';
import { writeJsonAtomic } from '../util/atomic.js';
import { CheckFailedError } from '../util/errors.js';
import { deriveSeed } from '../util/prng.js';
import type { Objective } from '../model/objective.js';
import { splitTargets } from '../model/loss.js';
import type { EpochMetrics } from '../run/metrics.js';
import { earlyStoppingStep, type EarlyStoppingStep } from './early-stopping.js';
import { classificationReportOf, scoreSplitOf, scoresOfLogits, type NodeScores } from './node-scores.js';
import { lrAt } from './lr-schedule.js';
import { writeRunStatus } from './run-status.js';
import { watchGpu, type GpuWatch } from './gpu-watch.js';
import type { ProgressReporter } from './progress.js';
import type { StopControl } from './stop.js';
import type { RunOutcome, RunSpec } from './run-spec.js';
import { disposeModel, elapsedClock, freshModel, reopen, resumedModel, type RunModel } from './run-state.js';
import { runCheckpoints, type RunCheckpoints } from './run-checkpoints.js';
import { runSummaryOf } from './run-summary.js';
import { trainStep, type StepContext } from './epoch-step.js';
import { epochMetricsOf } from './epoch-record.js';

export { checkEpochs, type TrainingState } from './run-state.js';
export type { RunOutcome, RunSpec } from './run-spec.js';

/** A run under way: what its epochs read and change. */
interface ActiveRun {
  spec: RunSpec;
  model: RunModel;
  reporter: ProgressReporter;
  checkpoints: RunCheckpoints;
  stampElapsed: () => void;
  /** The training split's targets with the weight decay; freed when the run ends. */
  objective: Objective;
  step: StepContext;
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

/**
 * Diagnostics (through the run's diagnose hook) at epoch 1 and every config.diagnostics epochs,
 * on this epoch's weights and dropout masks before the update (on the full graph also in
 * mini-batch mode); returns their time, which counts as check time.
 */
function diagnosisSchedule(spec: RunSpec, model: RunModel, objective: Objective): StepContext['diagnoseIfDue'] {
  const every = spec.config.diagnostics ?? 0;
  return async (epoch, seed) => {
    if (!every || !(epoch === 1 || epoch % every === 0)) return 0;
    const t = performance.now();
    await spec.hooks!.diagnose!({
      epoch, net: spec.net, params: model.params, inputs: wholeGraph(spec), objective, forward: { mode: spec.config.grad, training: true, seed },
    });
    return performance.now() - t;
  };
}

/** The training split's targets; with --diagnostics also in mini-batch mode, where only they read them. */
function runObjective(spec: RunSpec): Objective {
  const { config, data } = spec;
  // [N, classes] on the backend: only the full-batch step and the diagnostics read it (mini-batch
  // steps make their batch's own), and at ogbn-products' size it is 450 MB.
  const wholeTargets = !spec.miniBatch || (config.diagnostics ?? 0) > 0;
  return {
    targets: wholeTargets ? splitTargets(data.dataset.labels, data.splits.train, data.numClasses) : tf.zeros([0, data.numClasses]),
    weightDecay: config.weightDecay,
  };
}

/** The model (fresh, or resumed when dir holds last/) and everything its epochs use. */
async function openRun(spec: RunSpec, reporter: ProgressReporter): Promise<{ run: ActiveRun; resuming: boolean }> {
  const { config, net } = spec;
  if ((config.diagnostics ?? 0) > 0 && !spec.hooks?.diagnose) throw new Error('config.diagnostics is set but the run has no diagnose hook');
  const resuming = isCheckpointDir(join(spec.dir, LAST_DIR));
  const model = resuming ? await resumedModel(spec.dir, config, net) : freshModel(config, net);
  if (resuming) {
    try {
      reopen(spec.dir, model.state, config);
    } catch (err) {
      disposeModel(model);
      throw err;
    }
  }
  const objective = runObjective(spec);
  const trainedWith = { backend: spec.backend, grad: config.grad, seed: config.seed };
  const stampElapsed = elapsedClock(model.state);
  const checkpoints = runCheckpoints(spec.dir, model, { modelConfig: spec.modelConfig, trainedWith }, stampElapsed);
  const step: StepContext = {
    config, net, params: model.params, optimizer: model.optimizer,
    // Absent only for a store trained from its files, where neither the full-batch step nor the
    // diagnostics run (the session refuses --diagnostics there).
    ...(spec.inputs ? { inputs: spec.inputs } : {}),
    ...(spec.miniBatch ? { miniBatch: spec.miniBatch } : {}),
    // What the step differentiates: the optimizer adds weightDecay * theta to these gradients (the
    // L2 term's gradient), so the same update costs no L2 forward and backward. --check-grads
    // compares the modes on it; diagnostics (which differentiate the cross-entropy alone) get
    // `objective` to record the coefficient.
    objective: { ...objective, weightDecay: 0 },
    diagnoseIfDue: diagnosisSchedule(spec, model, objective),
    onBatch: (done, total) => reporter.batch?.(done, total),
  };
  return { run: { spec, model, reporter, checkpoints, stampElapsed, objective, step }, resuming };
}

/** The loss stopped being a number: stop without saving the weights that made it, and say where. */
function diverged(run: ActiveRun, epoch: number, what: string): never {
  const { dir, config } = run.spec;
  run.reporter.runEnd(null);
  const saved = isCheckpointDir(join(dir, LAST_DIR)) ? `; ${join(dir, LAST_DIR)} holds epoch ${readManifest(join(dir, LAST_DIR)).epoch}, saved before` : '';
  throw new CheckFailedError(
    `training diverged at epoch ${epoch}: ${what}; lower --lr (now ${config.optimizer.lr}) or change --optimizer (now ${config.optimizer.name})${saved}`,
  );
}

/** The epoch joins the state; a new best epoch's weights and per-class report are kept. */
function recordEpoch(run: ActiveRun, m: EpochMetrics, es: EarlyStoppingStep, scores: NodeScores): void {
  const { config, data } = run.spec;
  const { state } = run.model;
  run.model.metrics.push(m);
  state.epoch = m.epoch;
  state.rng.nextEpoch = m.epoch + 1;
  state.earlyStopping = es.state;
  if (es.best) {
    const labels = data.dataset.labels;
    state.best = m;
    state.bestReport = {
      val: classificationReportOf(scores, labels, data.splits.val, data.numClasses),
      test: classificationReportOf(scores, labels, data.splits.test, data.numClasses),
    };
    run.checkpoints.keepBest(m.epoch);
  }
  state.stoppedEarly = es.stop;
  state.finished = es.stop || m.epoch >= config.epochs;
}

/** Step, evaluation, early stopping and the epoch's metrics; returns the epoch. */
async function runEpoch(run: ActiveRun): Promise<number> {
  const started = performance.now();
  const { config, data } = run.spec;
  const { state, params } = run.model;
  const epoch = state.epoch + 1;
  const seed = deriveSeed(config.seed, SEED_STREAM.step, epoch);
  // This epoch's lr (--lr-schedule).
  const lr = lrAt(config.optimizer.lr, config.lrSchedule, epoch, config.epochs);
  const step = await trainStep(run.step, { epoch, seed, lr });
  if (!Number.isFinite(step.trainLoss)) diverged(run, epoch, `the training loss is ${step.trainLoss}`);

  const scores = await evaluateScores(run.spec, params);
  const score = (s: Int32Array) => scoreSplitOf(scores, data.dataset.labels, s);
  const split = { train: score(data.splits.train), val: score(data.splits.val), test: score(data.splits.test) };
  const epochMs = performance.now() - started - step.checkMs;
  // The update made the weights produce NaN or infinite logits: nothing of this epoch is saved.
  const { train: tr, val: va } = split;
  if (!Number.isFinite(tr.loss) || !Number.isFinite(va.loss)) {
    diverged(run, epoch, `after its update the ${Number.isFinite(tr.loss) ? `validation loss is ${va.loss}` : `training loss is ${tr.loss}`}`);
  }
  const es = earlyStoppingStep(state.earlyStopping, epoch, va, config);
  const m = epochMetricsOf(epoch, step, split, { best: es.best, epochMs, lr }, config);
  recordEpoch(run, m, es, scores);
  run.reporter.epoch(m);
  return epoch;
}

/** Epochs until the run finishes or is asked to stop, saved every --save-every and at the end. */
async function runEpochs(run: ActiveRun, stop: StopControl, gpu: GpuWatch): Promise<void> {
  const { state } = run.model;
  let savedEpoch = state.epoch;
  while (!state.finished && stop.reason() === null) {
    const epoch = await runEpoch(run);
    // Before anything of this epoch is written: numbers computed after a GPU error are not kept.
    await gpu.check(`epoch ${epoch}`);
    if (state.finished || epoch % run.spec.config.saveEvery === 0) {
      await run.checkpoints.save();
      savedEpoch = epoch;
    }
    // Lets a pending SIGINT/SIGTERM handler run before the next epoch starts.
    await new Promise((r) => setImmediate(r));
  }
  if (state.epoch !== savedEpoch) await run.checkpoints.save();
}

/** summary.json when the run finished, its status either way, and the hooks' end of run. */
function endRun(run: ActiveRun, stop: StopControl): RunOutcome {
  const { spec, model, reporter } = run;
  const { state } = model;
  if (!state.finished) {
    spec.hooks?.afterRun?.();
    writeRunStatus(spec.dir, { status: 'stopped', epoch: state.epoch, reason: String(stop.reason()) });
    reporter.runEnd(null);
    return { summary: null, stoppedBy: stop.reason() };
  }
  run.stampElapsed();
  const summary = runSummaryOf(spec, model);
  writeJsonAtomic(join(spec.dir, SUMMARY_FILE), summary);
  // After summary.json, so that a report has the best epoch's per-class tables.
  spec.hooks?.afterRun?.();
  writeRunStatus(spec.dir, { status: 'finished', epoch: state.epoch });
  reporter.runEnd(summary);
  return { summary, stoppedBy: null };
}

/** Runs (or resumes, when dir holds last/) one seed to its end or to a stop request. */
export async function trainRun(
  spec: RunSpec, reporter: ProgressReporter, stop: StopControl, position: { index: number; count: number },
): Promise<RunOutcome> {
  const { run, resuming } = await openRun(spec, reporter);
  const { state } = run.model;
  const gpu = watchGpu();
  try {
    writeRunStatus(spec.dir, { status: 'running', epoch: state.epoch });
    if (resuming) reporter.note(`resuming ${spec.dir} after epoch ${state.epoch}`);
    reporter.runStart({ seed: spec.config.seed, ...position, startEpoch: state.epoch, maxEpochs: spec.config.epochs });
    await runEpochs(run, stop, gpu);
    return endRun(run, stop);
  } catch (err) {
    try {
      writeRunStatus(spec.dir, { status: 'failed', epoch: state.epoch, error: (err as Error).message ?? String(err) });
    } catch {
      // The directory cannot be written either: the original error is the one to report.
    }
    throw err;
  } finally {
    await gpu.release();
    run.checkpoints.dispose();
    run.objective.targets.dispose();
    disposeModel(run.model);
  }
}
