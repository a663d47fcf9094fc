/**
 * summary.json: what a finished run (RunSummary) and a session of several seeds (SessionSummary)
 * leave in their directories, read back by resume, `gatv2 runs` and the report.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { GradMode } from '../ops/graph-tensors.js';
import { InputError } from '../util/errors.js';
import { SUMMARY_FILE } from './checkpoint.js';
import type { ClassificationReport } from './classification-metrics.js';
import type { MeanStd } from './metrics.js';

export interface RunSummary {
  dataset: string;
  seed: number;
  grad: GradMode;
  backend: string;
  epochsRun: number;
  maxEpochs: number;
  stoppedEarly: boolean;
  /** The best-validation epoch (0: none, the run diverged) and its metrics: testAcc is the run's result. */
  bestEpoch: number;
  best: { trainAcc: number; valAcc: number; valLoss: number; testAcc: number; testLoss: number };
  /** Wall time of the run (all resumes), and the mean of the per-epoch step+eval times. */
  timeMs: number;
  meanEpochMs: number;
  /**
   * Macro-F1, per-class precision/recall/F1 and the confusion matrix at the best epoch, on val
   * and test (src/run/classification-metrics.ts).
   */
  classification?: { classNames: string[]; val: ClassificationReport; test: ClassificationReport };
  /** Gradient checks done (--check-grads) and the largest relative difference seen. */
  gradCheck?: { checks: number; worst: { epoch: number; param: string; relDiff: number } };
}

export function readSummary(dir: string): RunSummary | null {
  const p = join(dir, SUMMARY_FILE);
  if (!existsSync(p)) return null;
  try {
    return JSON.parse(readFileSync(p, 'utf8')) as RunSummary;
  } catch (err) {
    throw new InputError(`${p}: cannot read the run's summary (${(err as Error).message}); remove it to finish the run again`);
  }
}

export interface SessionSummary {
  dir: string;
  dataset: string;
  grad: GradMode;
  backend: string;
  runs: RunSummary[];
  /** Test and validation accuracy at each run's best-validation epoch, over the runs. */
  testAcc: MeanStd;
  valAcc: MeanStd;
  epochsRun: MeanStd;
  meanEpochMs: MeanStd;
}
