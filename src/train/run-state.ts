/**
 * What a training run carries from epoch to epoch: its weights, optimizer, training state and
 * metrics so far, made fresh or read back from its last/ checkpoint (--resume).
 */
import * as tf from '@tensorflow/tfjs-core';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { initNetworkParams, networkParamShapes, type NetworkConfig } from '../model/network.js';
import { disposeCheckpoint, LAST_DIR, loadCheckpoint, SUMMARY_FILE } from '../run/checkpoint.js';
import { METRICS_FILE, readMetrics, type EpochMetrics } from '../run/metrics.js';
import type { ClassificationReport } from '../run/classification-metrics.js';
import { createOptimizer, type Optimizer } from '../model/optimizers.js';
import { InputError } from '../util/errors.js';
import type { TrainConfig } from './config.js';
import { initialEarlyStopping, type EarlyStoppingState } from './early-stopping.js';

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

export interface RunModel {
  params: Record<string, tf.Variable>;
  optimizer: Optimizer;
  state: TrainingState;
  metrics: EpochMetrics[];
}

/** The optimizer applies the weight decay (torch.optim's weight_decay), so the step's gradient is
 * of the cross-entropy alone: see the step objective in trainer.ts. */
function trainingOptimizer(config: TrainConfig, net: NetworkConfig): Optimizer {
  return createOptimizer(config.optimizer, networkParamShapes(net), { weightDecay: config.weightDecay });
}

export function freshModel(config: TrainConfig, net: NetworkConfig): RunModel {
  const init = initNetworkParams(net, config.seed);
  const params: Record<string, tf.Variable> = {};
  for (const [n, t] of Object.entries(init)) {
    params[n] = tf.variable(t, true);
    t.dispose();
  }
  return {
    params,
    optimizer: trainingOptimizer(config, net),
    state: {
      epoch: 0, optimizerStep: 0, earlyStopping: initialEarlyStopping(), best: null,
      rng: { seed: config.seed, nextEpoch: 1 }, elapsedMs: 0, finished: false, stoppedEarly: false,
    },
    metrics: [],
  };
}

/** The run in dir as its last/ checkpoint left it, with the metrics of the epochs it holds. */
export async function resumedModel(dir: string, config: TrainConfig, net: NetworkConfig): Promise<RunModel> {
  const ckpt = await loadCheckpoint<TrainingState>(join(dir, LAST_DIR));
  try {
    const state = ckpt.manifest.trainingState;
    if (!state) throw new InputError(`${ckpt.dir}: holds no training state; it is not a resumable checkpoint of gatv2 train`);
    const params: Record<string, tf.Variable> = {};
    for (const [n, t] of Object.entries(ckpt.params)) params[n] = tf.variable(t, true);
    const optimizer = trainingOptimizer(config, net);
    optimizer.load({ step: state.optimizerStep, slots: ckpt.optimizerSlots });
    const metrics = readMetrics(join(dir, METRICS_FILE), state.epoch);
    if (metrics.length !== state.epoch) {
      throw new InputError(`${join(dir, METRICS_FILE)}: holds ${metrics.length} epochs, the checkpoint in ${LAST_DIR}/ ${state.epoch}; the run directory was changed by hand`);
    }
    return { params, optimizer, state, metrics };
  } finally {
    disposeCheckpoint(ckpt);
  }
}

export function disposeModel(model: RunModel): void {
  model.optimizer.dispose();
  tf.dispose(Object.values(model.params));
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
export function reopen(dir: string, state: TrainingState, config: TrainConfig): void {
  checkEpochs(config, state.epoch);
  const wasFinished = state.finished;
  state.stoppedEarly = config.patience > 0 && state.earlyStopping.badEpochs >= config.patience;
  state.finished = state.stoppedEarly || state.epoch >= config.epochs;
  // An extension stopped half-way must not be taken for the finished run by the next --resume.
  if (wasFinished && !state.finished) rmSync(join(dir, SUMMARY_FILE), { force: true });
}

/**
 * Keeps state.elapsedMs current: the time before this session (over all resumes) plus the time
 * since the clock was made.
 */
export function elapsedClock(state: TrainingState): () => void {
  const sessionStart = performance.now();
  const elapsedBefore = state.elapsedMs;
  return () => {
    state.elapsedMs = elapsedBefore + performance.now() - sessionStart;
  };
}
