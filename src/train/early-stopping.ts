/**
 * Early stopping on the validation split, and the choice of the "best" epoch whose weights are
 * kept, each on a rule of its own:
 * - monitor (when to stop): 'both' (the GAT paper's code) restarts the patience counter whenever
 *   validation loss reaches a new minimum or validation accuracy a new maximum (ties count);
 *   'loss' / 'acc' only on a strict record of that metric.
 * - select (which epoch is best): 'loss' the lowest validation loss; 'acc' the highest validation
 *   accuracy, ties broken by lower loss; 'both' (the GAT code's rule) the last epoch at which both
 *   were at their record together. Accuracy on a few hundred nodes is noisy: an early lucky peak
 *   can hold 'acc' and 'both' on an undertrained model for the rest of the run, which is why the
 *   default selects on loss.
 */
export type Criterion = 'both' | 'loss' | 'acc';
export const CRITERIA: Criterion[] = ['both', 'loss', 'acc'];

export interface EarlyStoppingRule {
  monitor: Criterion;
  select: Criterion;
  /** Epochs without progress before stopping (0: never stop early). */
  patience: number;
}

export interface EarlyStoppingState {
  /** Running extremes of the validation metrics. */
  minValLoss: number;
  maxValAcc: number;
  /** Epochs since the patience counter last restarted. */
  badEpochs: number;
  /** The best epoch so far (0: none yet) and its validation metrics. */
  bestEpoch: number;
  bestValLoss: number;
  bestValAcc: number;
}

export function initialEarlyStopping(): EarlyStoppingState {
  // JSON has no Infinity, and the state goes into checkpoints: use finite sentinels.
  return { minValLoss: Number.MAX_VALUE, maxValAcc: -1, badEpochs: 0, bestEpoch: 0, bestValLoss: Number.MAX_VALUE, bestValAcc: -1 };
}

export interface EarlyStoppingStep {
  state: EarlyStoppingState;
  /** This epoch is the new best. */
  best: boolean;
  /** Patience ran out (never with patience 0). */
  stop: boolean;
}

function record(c: Criterion, s: EarlyStoppingState, v: { loss: number; accuracy: number }): boolean {
  if (c === 'both') return v.loss <= s.minValLoss || v.accuracy >= s.maxValAcc;
  return c === 'loss' ? v.loss < s.minValLoss : v.accuracy > s.maxValAcc;
}

function better(c: Criterion, s: EarlyStoppingState, v: { loss: number; accuracy: number }): boolean {
  if (c === 'both') return v.loss <= s.minValLoss && v.accuracy >= s.maxValAcc;
  if (c === 'loss') return v.loss < s.bestValLoss;
  return v.accuracy > s.bestValAcc || (v.accuracy === s.bestValAcc && v.loss < s.bestValLoss);
}

export function earlyStoppingStep(
  s: EarlyStoppingState, epoch: number, val: { loss: number; accuracy: number }, rule: EarlyStoppingRule,
): EarlyStoppingStep {
  const progress = record(rule.monitor, s, val);
  const best = better(rule.select, s, val);
  const next: EarlyStoppingState = {
    minValLoss: Math.min(s.minValLoss, val.loss),
    maxValAcc: Math.max(s.maxValAcc, val.accuracy),
    badEpochs: progress ? 0 : s.badEpochs + 1,
    bestEpoch: best ? epoch : s.bestEpoch,
    bestValLoss: best ? val.loss : s.bestValLoss,
    bestValAcc: best ? val.accuracy : s.bestValAcc,
  };
  return { state: next, best, stop: rule.patience > 0 && next.badEpochs >= rule.patience };
}
