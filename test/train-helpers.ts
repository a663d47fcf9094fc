/**
 * Shared by the train-*.test.ts files: a small, fast configuration of the GAT recipe, a reporter
 * that records instead of printing, the CLI flags of that configuration, and metrics without their
 * wall times. The CLI itself runs through cli-helpers.ts (the real bin/gatv2.js).
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { DEFAULT_TRAIN_CONFIG, type TrainConfig } from '../src/train/config.js';
import type { EpochMetrics } from '../src/run/metrics.js';
import type { ProgressReporter } from '../src/train/progress.js';
import { type RunSummary, type SessionSummary } from '../src/run/summary.js';

/** The recipe, shrunk (2 heads x 4 channels, few epochs) so a Cora epoch takes milliseconds. */
export function tinyConfig(over: Partial<TrainConfig> = {}): TrainConfig {
  return {
    ...DEFAULT_TRAIN_CONFIG,
    backend: 'cpu',
    epochs: 10,
    saveEvery: 4,
    model: { ...DEFAULT_TRAIN_CONFIG.model, heads: 2, hidden: 4 },
    optimizer: { ...DEFAULT_TRAIN_CONFIG.optimizer, lr: 0.02 },
    ...over,
  };
}

export function tmpDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `gatv2-${prefix}-`));
}

export interface Recorder extends ProgressReporter {
  epochs: EpochMetrics[];
  /** tf.memory().numTensors after each epoch. */
  tensors: number[];
  runs: (RunSummary | null)[];
  summary: SessionSummary | null;
  /** Called after each epoch is recorded (e.g. to request a stop). */
  onEpoch?: (m: EpochMetrics) => void;
}

export function recorder(onEpoch?: (m: EpochMetrics) => void): Recorder {
  const r: Recorder = {
    epochs: [], tensors: [], runs: [], summary: null,
    runStart() {},
    epoch(m) {
      r.epochs.push(m);
      r.tensors.push(tf.memory().numTensors);
      r.onEpoch?.(m);
    },
    runEnd(s) {
      r.runs.push(s);
    },
    finish(s) {
      r.summary = s;
    },
    note() {},
  };
  if (onEpoch) r.onEpoch = onEpoch;
  return r;
}

/** Metrics as a run's numbers, wall times left out (they differ run to run). */
export function numbersOf(ms: EpochMetrics[]): unknown[] {
  return ms.map(({ epochMs: _t, gradCheck, ...rest }) =>
    gradCheck ? { ...rest, gradCheck: { relDiff: gradCheck.relDiff, worst: gradCheck.worst } } : rest,
  );
}

export function readJsonl<T>(path: string): T[] {
  return readFileSync(path, 'utf8').split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as T);
}

export const CLI_TINY = ['--backend', 'cpu', '--heads', '2', '--hidden', '4', '--lr', '0.02'];
