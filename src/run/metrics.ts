/**
 * Per-epoch metrics (metrics.jsonl: one JSON object per line) and the statistics over seeds.
 * metrics.jsonl is rewritten atomically together with each resumable checkpoint, so it always
 * ends at the epoch that checkpoint holds.
 */
import { existsSync, readFileSync } from 'node:fs';
import { writeFileAtomic } from '../util/atomic.js';

export interface GradCheckRecord {
  /** Largest relative difference analytic vs autograd, per parameter. */
  relDiff: Record<string, number>;
  worst: { param: string; relDiff: number };
  /** Time the extra gradient evaluation and comparison took. */
  ms: number;
}

export interface EpochMetrics {
  epoch: number;
  /** Cross-entropy of the training step (with dropout), before its update. */
  trainLoss: number;
  /** Evaluation-mode (no dropout) metrics after the update. */
  trainAcc: number;
  valLoss: number;
  valAcc: number;
  testLoss: number;
  testAcc: number;
  /** This epoch became the best-validation epoch (its weights are in best/). */
  best: boolean;
  /** Wall time of the training step and the evaluation (no gradient check, no file writes). */
  epochMs: number;
  /** The learning rate of this epoch's step, when a schedule (--lr-schedule) sets it. */
  lr?: number;
  /** Global L2 norm of the step's gradients before clipping, with --clip-norm. */
  gradNorm?: number;
  gradCheck?: GradCheckRecord;
  /**
   * Mini-batch training: batches in the epoch; the sampler's work (in a worker thread on a store),
   * the time the steps waited for it, the steps' time, and the edges of the blocks they ran on
   * (self loops included; src/train/minibatch.ts EpochResult).
   */
  batches?: number;
  samplingMs?: number;
  samplingWaitMs?: number;
  stepMs?: number;
  sampledEdges?: number;
}

export const METRICS_FILE = 'metrics.jsonl';

export function writeMetrics(path: string, lines: EpochMetrics[]): void {
  writeFileAtomic(path, lines.map((m) => JSON.stringify(m) + '\n').join(''));
}

/** The metrics of epochs 1..upTo from a metrics file (missing file: none). */
export function readMetrics(path: string, upTo = Infinity): EpochMetrics[] {
  if (!existsSync(path)) return [];
  const out: EpochMetrics[] = [];
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    if (line.trim() === '') continue;
    const m = JSON.parse(line) as EpochMetrics;
    if (m.epoch <= upTo) out.push(m);
  }
  return out;
}

export interface MeanStd {
  mean: number;
  /** Sample standard deviation (n - 1); 0 for a single value. */
  std: number;
  n: number;
}

export function meanStd(xs: number[]): MeanStd {
  const n = xs.length;
  const mean = xs.reduce((a, b) => a + b, 0) / n;
  const ss = xs.reduce((a, b) => a + (b - mean) ** 2, 0);
  return { mean, std: n > 1 ? Math.sqrt(ss / (n - 1)) : 0, n };
}
