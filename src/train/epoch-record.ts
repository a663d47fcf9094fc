/** One epoch's line of metrics.jsonl, from its step, its scores and its early-stopping verdict. */
import type { EpochMetrics } from '../run/metrics.js';
import type { TrainConfig } from './config.js';
import type { StepResult } from './epoch-step.js';

export interface SplitScores {
  train: { loss: number; accuracy: number };
  val: { loss: number; accuracy: number };
  test: { loss: number; accuracy: number };
}

/** The field order is metrics.jsonl's (and --json's): the common fields, then the optional ones. */
export function epochMetricsOf(
  epoch: number, step: StepResult, s: SplitScores, { best, epochMs, lr }: { best: boolean; epochMs: number; lr: number }, config: TrainConfig,
): EpochMetrics {
  const m: EpochMetrics = {
    epoch, trainLoss: step.trainLoss, trainAcc: s.train.accuracy, valLoss: s.val.loss, valAcc: s.val.accuracy,
    testLoss: s.test.loss, testAcc: s.test.accuracy, best, epochMs,
  };
  if (step.gradCheck) m.gradCheck = step.gradCheck;
  if (config.lrSchedule && config.lrSchedule.name !== 'none') m.lr = lr;
  if (step.gradNorm !== undefined) m.gradNorm = step.gradNorm;
  const mb = step.miniBatch;
  if (mb) {
    Object.assign(m, {
      batches: mb.batches, samplingMs: mb.samplingMs, samplingWaitMs: mb.waitMs, stepMs: mb.stepMs, sampledEdges: mb.sampledEdges,
    });
  }
  return m;
}
