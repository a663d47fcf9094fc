/**
 * `gatv2 runs [DIR]`: the training runs under DIR (default runs/), newest first, with what each
 * reached: dataset, epochs, best validation accuracy, test accuracy and macro-F1 at that epoch,
 * and status. Everything is read from the files the trainer writes (src/train/trainer.ts):
 * config.json, summary.json, status.json, metrics.jsonl. A session of several seeds is listed
 * one row per seed (its seed-<k>/ directories).
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { hostname } from 'node:os';
import { join, relative, resolve } from 'node:path';
import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { InputError } from '../util/errors.js';
import { METRICS_FILE, readMetrics } from '../run/metrics.js';
import { readRunStatus } from '../train/run-status.js';
import { CONFIG_FILE, type RunFile } from '../train/session.js';
import { formatTable } from '../util/table.js';
import { LAST_DIR } from '../run/checkpoint.js';
import { readSummary } from '../run/summary.js';

/**
 * finished: summary.json written; stopped: a signal or stop request ended it (--resume continues);
 * failed: an error ended it; running: its process is alive; killed: it says running but its
 * process is gone (SIGKILL, a crash of the machine). Runs of versions without status.json:
 * stopped when last/ holds a checkpoint, failed otherwise.
 */
export type ListedStatus = 'finished' | 'stopped' | 'failed' | 'running' | 'killed';

export interface RunRow {
  /** The run directory, relative to the listed directory. */
  run: string;
  dir: string;
  createdAt: string;
  dataset: string;
  status: ListedStatus;
  /** Last completed epoch, and the run's maximum. */
  epochs: number;
  maxEpochs: number;
  /** At the best-validation epoch so far (null: none yet). */
  bestEpoch: number | null;
  bestValAcc: number | null;
  testAcc: number | null;
  testMacroF1: number | null;
  /** failed: the error's message. */
  error?: string;
}

function readRunFile(dir: string): RunFile | null {
  const p = join(dir, CONFIG_FILE);
  if (!existsSync(p)) return null;
  try {
    const f = JSON.parse(readFileSync(p, 'utf8')) as RunFile;
    return f.format === 'gatv2-run' ? f : null;
  } catch {
    return null;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function statusOf(dir: string): { status: ListedStatus; error?: string } {
  if (readSummary(dir)) return { status: 'finished' };
  const s = readRunStatus(dir);
  if (s === null) return { status: existsSync(join(dir, LAST_DIR, 'model.json')) ? 'stopped' : 'failed' };
  if (s.status === 'failed') return { status: 'failed', ...(s.error !== undefined ? { error: s.error } : {}) };
  if (s.status === 'running') return { status: s.host !== hostname() || alive(s.pid) ? 'running' : 'killed' };
  // "finished" without summary.json cannot be written by the trainer; treat as stopped.
  return { status: 'stopped' };
}

function describeRun(root: string, dir: string, f: RunFile): RunRow {
  const { status, error } = statusOf(dir);
  const summary = readSummary(dir);
  const metrics = readMetrics(join(dir, METRICS_FILE));
  const best = [...metrics].reverse().find((m) => m.best);
  const row: RunRow = {
    run: relative(root, dir) || '.',
    dir,
    createdAt: f.createdAt,
    dataset: f.dataset.name,
    status,
    epochs: summary?.epochsRun ?? metrics.length,
    maxEpochs: f.config.epochs,
    bestEpoch: summary ? summary.bestEpoch || null : (best?.epoch ?? null),
    bestValAcc: summary ? summary.best.valAcc : (best?.valAcc ?? null),
    testAcc: summary ? summary.best.testAcc : (best?.testAcc ?? null),
    testMacroF1: summary?.classification?.test.macroF1 ?? null,
  };
  if (error !== undefined) row.error = error;
  return row;
}

/** The runs under `root` (its direct subdirectories, and root itself if it is a run), newest first. */
export function listRuns(root: string): RunRow[] {
  const abs = resolve(root);
  if (!existsSync(abs) || !statSync(abs).isDirectory()) {
    throw new InputError(`${root}: no such directory; give the directory holding gatv2 train runs (default runs/)`);
  }
  const candidates = [abs, ...readdirSync(abs).map((f) => join(abs, f)).filter((d) => statSync(d).isDirectory())];
  const rows: RunRow[] = [];
  for (const dir of candidates) {
    const f = readRunFile(dir);
    if (!f) continue;
    if (f.config.seeds > 1) {
      for (let k = 0; k < f.config.seeds; k++) {
        const seedDir = join(dir, `seed-${k}`);
        const sf = readRunFile(seedDir);
        if (sf) rows.push(describeRun(abs, seedDir, sf));
      }
    } else rows.push(describeRun(abs, dir, f));
  }
  // Newest first; the path breaks ties so the order is the same every time.
  return rows.sort((a, b) => b.createdAt.localeCompare(a.createdAt) || a.run.localeCompare(b.run));
}

const pct = (x: number | null) => (x === null || !Number.isFinite(x) ? '-' : `${(100 * x).toFixed(2)}%`);

interface RunsArgs {
  dir: string;
  json: boolean;
}

export const runsCommand: CommandModule<object, RunsArgs> = {
  command: 'runs [dir]',
  describe: 'list the training runs in a directory (default runs/), newest first',
  builder: (y: Argv) =>
    y
      .positional('dir', { type: 'string', default: 'runs', describe: 'directory holding run directories' })
      .option('json', { type: 'boolean', default: false, describe: 'print one JSON array' }) as unknown as Argv<RunsArgs>,
  handler: (args: ArgumentsCamelCase<RunsArgs>) => {
    const rows = listRuns(args.dir);
    if (args.json) {
      process.stdout.write(JSON.stringify(rows, null, 2) + '\n');
      return;
    }
    if (rows.length === 0) {
      process.stdout.write(`no runs in ${args.dir}\n`);
      return;
    }
    const table = rows.map((r) => [
      r.run, r.dataset, r.status, `${r.epochs}/${r.maxEpochs}`, pct(r.bestValAcc), pct(r.testAcc), pct(r.testMacroF1), r.createdAt.slice(0, 19),
    ]);
    process.stdout.write(formatTable(['run', 'dataset', 'status', 'epochs', 'best val', 'test acc', 'test macro-F1', 'created'], table) + '\n');
  },
};
