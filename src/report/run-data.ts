/**
 * What a report reads from a run directory (src/train/trainer.ts lists its files): config.json,
 * metrics.jsonl and diagnostics.jsonl. Each may be missing (a run that has just started, or one
 * trained without diagnostics); the report then says so instead of drawing that part.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readDiagnostics, type DiagnosticsRecord } from '../run/diagnostics-file.js';
import type { EpochMetrics } from '../run/metrics.js';
import type { ClassificationSummary } from './classification-tables.js';

export const CONFIG_FILE = 'config.json';
export const METRICS_FILE = 'metrics.jsonl';

/** The parts of config.json (src/train/session.ts RunFile) the report shows; all optional. */
export interface RunInfo {
  createdAt?: string;
  backend?: string;
  config?: { dataset?: string; grad?: string; seed?: number; epochs?: number; optimizer?: { name?: string; lr?: number }; weightDecay?: number };
  network?: { layers?: { heads: number; outChannels: number; concat: boolean }[] };
  dataset?: { name?: string; nodes?: number; features?: number; classes?: number };
}

/** The parts of summary.json (src/run/summary.ts RunSummary) the report shows. */
export interface RunSummaryInfo {
  bestEpoch?: number;
  classification?: ClassificationSummary;
}

export interface RunData {
  dir: string;
  info: RunInfo | null;
  /** summary.json, once the run has finished. */
  summary?: RunSummaryInfo | null;
  metrics: EpochMetrics[];
  diagnostics: DiagnosticsRecord[];
}

function readJson<T>(path: string): T | null {
  if (!existsSync(path)) return null;
  return JSON.parse(readFileSync(path, 'utf8')) as T;
}

/** metrics.jsonl, one object per line; the last line of an epoch wins (as in diagnostics.jsonl). */
function readMetricsFile(path: string): EpochMetrics[] {
  if (!existsSync(path)) return [];
  const byEpoch = new Map<number, EpochMetrics>();
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    if (line.trim() === '') continue;
    const m = JSON.parse(line) as EpochMetrics;
    byEpoch.set(m.epoch, m);
  }
  return [...byEpoch.values()].sort((a, b) => a.epoch - b.epoch);
}

export function readRun(dir: string): RunData {
  return {
    dir,
    info: readJson<RunInfo>(join(dir, CONFIG_FILE)),
    summary: readJson<RunSummaryInfo>(join(dir, 'summary.json')),
    metrics: readMetricsFile(join(dir, METRICS_FILE)),
    diagnostics: readDiagnostics(dir),
  };
}
