/** summary.json of a finished run: its best epoch, its times, its worst gradient check. */
import type { RunSummary } from '../run/summary.js';
import type { RunSpec } from './run-spec.js';
import type { RunModel } from './run-state.js';

export function runSummaryOf(spec: Pick<RunSpec, 'config' | 'modelConfig' | 'backend'>, m: Pick<RunModel, 'state' | 'metrics'>): RunSummary {
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
