/**
 * diagnostics.jsonl in a run directory: one line per diagnosed epoch, a NetworkDiagnostics object
 * with its epoch added (epoch 0: at initialisation, before any update):
 *
 *   {"epoch":12,"format":"gatv2-diagnostics","version":1,"mode":"analytic",...,"layers":[...]}
 *
 * Lines are appended, never rewritten, so a resumed run may repeat epochs that the interrupted
 * one had already diagnosed after its last checkpoint; readers keep the last line of each epoch.
 * A torn last line (the process died mid-write) is ignored.
 */
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DIAGNOSTICS_FORMAT, type NetworkDiagnostics } from './diagnostics-record.js';

export const DIAGNOSTICS_FILE = 'diagnostics.jsonl';

export type DiagnosticsRecord = { epoch: number } & NetworkDiagnostics;

export function appendDiagnostics(runDir: string, epoch: number, d: NetworkDiagnostics): void {
  if (!(Number.isInteger(epoch) && epoch >= 0)) throw new Error(`appendDiagnostics: epoch must be a non-negative integer, got ${epoch}`);
  const record: DiagnosticsRecord = { epoch, ...d };
  appendFileSync(join(runDir, DIAGNOSTICS_FILE), JSON.stringify(record) + '\n');
}

/** The records of a run directory by ascending epoch, the last line of each epoch winning (none: []). */
export function readDiagnostics(runDir: string): DiagnosticsRecord[] {
  const path = join(runDir, DIAGNOSTICS_FILE);
  if (!existsSync(path)) return [];
  const lines = readFileSync(path, 'utf8').split('\n').filter((l) => l.trim() !== '');
  const byEpoch = new Map<number, DiagnosticsRecord>();
  lines.forEach((line, k) => {
    let r: DiagnosticsRecord;
    try {
      r = JSON.parse(line) as DiagnosticsRecord;
    } catch (err) {
      if (k === lines.length - 1) return;
      throw new Error(`${path}:${k + 1}: not JSON (${(err as Error).message})`);
    }
    if (r.format !== DIAGNOSTICS_FORMAT || typeof r.epoch !== 'number') throw new Error(`${path}:${k + 1}: not a gatv2 diagnostics record`);
    byEpoch.set(r.epoch, r);
  });
  return [...byEpoch.values()].sort((a, b) => a.epoch - b.epoch);
}
