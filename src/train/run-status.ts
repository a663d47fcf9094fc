/**
 * status.json of a run directory: what became of the run, for `gatv2 runs`. The trainer writes
 * "running" (with its process id) when it starts or resumes, then "finished", "stopped" (a signal
 * or a stop request; --resume continues it) or "failed" (an error ended it; the message is kept).
 * A "running" status whose process is gone means the process was killed without a chance to
 * write (SIGKILL, power loss): `gatv2 runs` shows it as "killed".
 */
import { existsSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { writeJsonAtomic } from '../util/atomic.js';

export const STATUS_FILE = 'status.json';

export type RunStatusName = 'running' | 'finished' | 'stopped' | 'failed';

export interface RunStatus {
  status: RunStatusName;
  /** Last completed epoch when the status was written. */
  epoch: number;
  /** stopped: the stop reason (SIGINT, SIGTERM, ...). */
  reason?: string;
  /** failed: the error's message. */
  error?: string;
  pid: number;
  /** Machine of the process (a pid means nothing on another one). */
  host: string;
  at: string;
}

export function writeRunStatus(dir: string, s: Omit<RunStatus, 'pid' | 'host' | 'at'>): void {
  writeJsonAtomic(join(dir, STATUS_FILE), { ...s, pid: process.pid, host: hostname(), at: new Date().toISOString() });
}

export function readRunStatus(dir: string): RunStatus | null {
  const p = join(dir, STATUS_FILE);
  if (!existsSync(p)) return null;
  try {
    return JSON.parse(readFileSync(p, 'utf8')) as RunStatus;
  } catch {
    return null;
  }
}
