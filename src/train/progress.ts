/**
 * What a training session shows while it runs: a progress bar on a terminal (stderr), plain lines
 * every `every` epochs and at the end of a run when stderr is not a terminal (in mini-batch mode
 * also a line on the epoch's batches every `batchEveryMs`: an epoch of a large graph takes
 * minutes), and with --json one
 * JSON object per epoch on stdout ({"type":"epoch"}), one per finished run when there are several
 * seeds ({"type":"run"}), and a final {"type":"summary"}. The human summary goes to stdout.
 */
import cliProgress from 'cli-progress';
import type { EpochMetrics } from '../run/metrics.js';
import { type RunSummary, type SessionSummary } from '../run/summary.js';

export interface RunInfo {
  seed: number;
  /** Position of this run among the session's seeds. */
  index: number;
  count: number;
  /** Last epoch already done (resume), 0 for a fresh run. */
  startEpoch: number;
  maxEpochs: number;
}

export interface ProgressReporter {
  runStart(info: RunInfo): void;
  epoch(m: EpochMetrics): void;
  /** Mini-batch training: batch `done` of `total` of the current epoch has finished. */
  batch?(done: number, total: number): void;
  /** summary null: the run was interrupted. */
  runEnd(summary: RunSummary | null): void;
  finish(summary: SessionSummary): void;
  /** One line of news (resuming, saving on a signal, ...) that must not tear the bar. */
  note(text: string): void;
}

export interface ReporterOptions {
  json: boolean;
  /** Draw a bar (stderr is a terminal). */
  tty: boolean;
  /** Plain lines every this many epochs. */
  every?: number;
  out?: NodeJS.WritableStream;
  err?: NodeJS.WritableStream;
  /** Off a terminal, a line on the current epoch's batches this often (default 10000 ms). */
  batchEveryMs?: number;
  /** Clock in ms (tests pass a fake one). */
  now?: () => number;
}

/** 42s, 2m07s, 1h05m. */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

const f4 = (x: number) => x.toFixed(4);
const f3 = (x: number) => x.toFixed(3);

/** Epochs per second over the last few epochs, from wall-clock arrival times. */
class Rate {
  private times: number[] = [];
  tick(): number {
    this.times.push(performance.now());
    if (this.times.length > 11) this.times.shift();
    const n = this.times.length - 1;
    return n > 0 ? (1000 * n) / (this.times[n] - this.times[0]) : 0;
  }
  reset(): void {
    this.times = [];
  }
}

/** Mini-batch epochs: batches per second of training time and the share spent sampling. */
function batchRate(m: EpochMetrics): string {
  if (m.batches === undefined || m.stepMs === undefined || m.samplingMs === undefined) return '';
  const wait = m.samplingWaitMs ?? m.samplingMs;
  const s = (m.stepMs + wait) / 1000;
  const perEdge = m.sampledEdges ? `, ${((1e6 * m.stepMs) / m.sampledEdges).toFixed(2)} us per sampled edge` : '';
  return `  ${(m.batches / Math.max(s, 1e-9)).toFixed(1)} batches/s (sampling ${m.samplingMs.toFixed(0)} ms, waited ${wait.toFixed(0)} ms, steps ${m.stepMs.toFixed(0)} ms${perEdge})`;
}

export function formatSummary(s: SessionSummary): string {
  const pct = (x: number) => (100 * x).toFixed(2);
  const lines: string[] = [];
  for (const r of s.runs) {
    if (r.bestEpoch === 0) {
      lines.push(`seed ${r.seed}: no best epoch, the validation loss was never a number (the run diverged; try a lower --lr)`);
      continue;
    }
    // A dataset without test nodes has no test accuracy (NaN): say so rather than print "NaN%".
    const best = Number.isNaN(r.best.testAcc)
      ? `best epoch ${r.bestEpoch} (val ${pct(r.best.valAcc)}%; no test nodes, so no test accuracy)`
      : `test accuracy ${pct(r.best.testAcc)}% at epoch ${r.bestEpoch} (val ${pct(r.best.valAcc)}%)`;
    lines.push(
      `seed ${r.seed}: ${best}, ` +
        `${r.epochsRun} epochs${r.stoppedEarly ? ' (early stop)' : ''}, ${(r.timeMs / 1000).toFixed(1)} s, ${r.meanEpochMs.toFixed(1)} ms/epoch`,
    );
  }
  if (s.runs.length > 1 && s.runs.every((r) => r.bestEpoch > 0 && Number.isNaN(r.best.testAcc))) {
    lines.push(`over ${s.runs.length} seeds: val accuracy ${pct(s.valAcc.mean)} +- ${pct(s.valAcc.std)}% (no test nodes)`);
  } else if (s.runs.length > 1) {
    lines.push(
      `test accuracy over ${s.testAcc.n} seeds: ${pct(s.testAcc.mean)} +- ${pct(s.testAcc.std)}% ` +
        `(val ${pct(s.valAcc.mean)} +- ${pct(s.valAcc.std)}%)`,
    );
  }
  lines.push(`${s.dataset}, grad ${s.grad}, backend ${s.backend}; run directory ${s.dir}`);
  return lines.join('\n') + '\n';
}

export function createReporter(o: ReporterOptions): ProgressReporter {
  const out = o.out ?? process.stdout;
  const err = o.err ?? process.stderr;
  const every = o.every ?? 10;
  const now = o.now ?? (() => performance.now());
  const batchEveryMs = o.batchEveryMs ?? 10_000;
  // When the current epoch's batches began (the last epoch's end, or the run's start).
  let batchesStart = now();
  let lastBatchLine = batchesStart;
  const rate = new Rate();
  let info: RunInfo = { seed: 0, index: 0, count: 1, startEpoch: 0, maxEpochs: 0 };
  let last: EpochMetrics | null = null;
  let lastPrinted = 0;
  let eps = 0;
  let bar: cliProgress.SingleBar | null = null;
  const tag = () => (info.count > 1 ? `[seed ${info.seed} ${info.index + 1}/${info.count}] ` : '');
  const line = (m: EpochMetrics) =>
    `${tag()}epoch ${String(m.epoch).padStart(String(info.maxEpochs).length)}/${info.maxEpochs}  loss ${f4(m.trainLoss)}  ` +
    `train ${f3(m.trainAcc)}  val ${f3(m.valAcc)}  ${eps.toFixed(1)} epochs/s${batchRate(m)}`;

  return {
    runStart(i) {
      info = i;
      last = null;
      lastPrinted = 0;
      rate.reset();
      batchesStart = lastBatchLine = now();
      if (o.tty) {
        bar = new cliProgress.SingleBar(
          {
            format: `${tag()}{bar} epoch {value}/{total} | loss {loss} | train {train} | val {val} | {eps} epochs/s{batch}`,
            stream: err,
            hideCursor: true,
            barsize: 24,
          },
          cliProgress.Presets.shades_classic,
        );
        bar.start(i.maxEpochs, i.startEpoch, { loss: '-', train: '-', val: '-', eps: '-', batch: '' });
      }
    },
    epoch(m) {
      eps = rate.tick();
      last = m;
      batchesStart = lastBatchLine = now();
      if (o.json) out.write(JSON.stringify({ type: 'epoch', seed: info.seed, ...m }) + '\n');
      if (bar) bar.update(m.epoch, { loss: f4(m.trainLoss), train: f3(m.trainAcc), val: f3(m.valAcc), eps: eps.toFixed(1) });
      else if (!o.json && m.epoch % every === 0) {
        err.write(line(m) + '\n');
        lastPrinted = m.epoch;
      }
    },
    batch(done, total) {
      const t = now();
      const perS = (1000 * done) / Math.max(t - batchesStart, 1e-9);
      const text = `batch ${done}/${total}, ${perS.toFixed(perS < 10 ? 2 : 1)} batches/s, ` +
        (done < total ? `epoch's batches done in ${formatDuration((total - done) / perS)}` : 'evaluating');
      if (bar) bar.update({ batch: ` | ${text}` });
      else if (!o.json && (t - lastBatchLine >= batchEveryMs || done === total)) {
        lastBatchLine = t;
        err.write(`${tag()}epoch ${(last?.epoch ?? info.startEpoch) + 1}: ${text}\n`);
      }
    },
    runEnd(summary) {
      if (bar) {
        bar.stop();
        bar = null;
      } else if (!o.json && last && last.epoch !== lastPrinted) err.write(line(last) + '\n');
      if (o.json && summary && info.count > 1) out.write(JSON.stringify({ type: 'run', ...summary }) + '\n');
    },
    finish(summary) {
      if (o.json) out.write(JSON.stringify({ type: 'summary', ...summary }) + '\n');
      else out.write(formatSummary(summary));
    },
    note(text) {
      if (bar) {
        // cli-progress redraws in place; a newline first keeps the note on its own line.
        err.write('\n' + text + '\n');
      } else err.write(text + '\n');
    },
  };
}
