/**
 * A run's checkpoints: last/ (weights, optimizer slots, training state) with metrics.jsonl at each
 * save, and best/ (the best epoch's weights). The best weights are kept in memory and written with
 * the next save, so best/ on disk always belongs to the state in last/ and an improving run does
 * not write every epoch.
 */
import * as tf from '@tensorflow/tfjs-core';
import { join } from 'node:path';
import { BEST_DIR, LAST_DIR, saveCheckpoint, type ModelConfig, type TrainedWith } from '../run/checkpoint.js';
import { METRICS_FILE, writeMetrics } from '../run/metrics.js';
import type { RunModel, TrainingState } from './run-state.js';

export interface RunCheckpoints {
  /** Copies the weights as the best epoch's, replacing an earlier unsaved best. */
  keepBest(epoch: number): void;
  /** Writes metrics.jsonl, best/ when a new best is pending, and last/. */
  save(): Promise<void>;
  /** Frees a best copy not yet written. */
  dispose(): void;
}

export interface CheckpointInfo {
  modelConfig: ModelConfig;
  trainedWith: TrainedWith;
}

/** stampElapsed brings state.elapsedMs up to date before the state is written. */
export function runCheckpoints(dir: string, model: RunModel, info: CheckpointInfo, stampElapsed: () => void): RunCheckpoints {
  const { params, optimizer, state, metrics } = model;
  let best: { epoch: number; params: tf.Tensor[] } | null = null;
  const writeBest = async (b: { epoch: number; params: tf.Tensor[] }) => {
    const named: Record<string, tf.Tensor> = {};
    Object.keys(params).forEach((n, k) => (named[n] = b.params[k]));
    await saveCheckpoint(join(dir, BEST_DIR), { ...info, epoch: b.epoch }, named);
  };
  return {
    keepBest(epoch) {
      if (best) tf.dispose(best.params);
      best = { epoch, params: Object.values(params).map((p) => tf.clone(p)) };
    },
    async save() {
      stampElapsed();
      writeMetrics(join(dir, METRICS_FILE), metrics);
      if (best) {
        await writeBest(best);
        tf.dispose(best.params);
        best = null;
      }
      await saveCheckpoint<TrainingState>(
        join(dir, LAST_DIR),
        { ...info, epoch: state.epoch, trainingState: { ...state, optimizerStep: optimizer.state().step } },
        params, optimizer.state().slots,
      );
    },
    dispose() {
      if (best) tf.dispose(best.params);
      best = null;
    },
  };
}
