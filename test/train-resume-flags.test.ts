/**
 * `gatv2 train --resume DIR` with other flags, through the real CLI: --epochs extends a finished run
 * from where it stopped (to the numbers of a run that was that long from the start), a flag equal
 * to the saved one is accepted, and any other training flag is refused by name, exit 2, with
 * nothing written. And a diverging run (loss NaN) stops with exit 1, naming the epoch, without
 * saving the weights that diverged.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { loadCheckpoint, disposeCheckpoint, readManifest } from '../src/run/checkpoint.js';
import type { EpochMetrics } from '../src/run/metrics.js';
import { trainSession } from '../src/train/session.js';
import { stopControl } from '../src/train/stop.js';
import { runCli, messageLines } from './cli-helpers.js';
import { CLI_TINY, numbersOf, readJsonl, recorder, tinyConfig, tmpDir } from './train-helpers.js';
import { type RunSummary } from '../src/run/summary.js';

const quiet = () => stopControl({ signals: false });
const metricsOf = (dir: string) => numbersOf(readJsonl<EpochMetrics>(join(dir, 'metrics.jsonl')));
const summaryOf = (dir: string) => {
  const { timeMs: _t, meanEpochMs: _m, ...rest } = JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8')) as RunSummary;
  return rest;
};
const savedConfig = (dir: string) => readFileSync(join(dir, 'config.json'), 'utf8');

/** One line on stderr (after the backend note) and the exit code. */
function assertOneLine(r: { code: number; err: string }, code: number, message: RegExp): void {
  assert.equal(r.code, code, r.err);
  const lines = messageLines(r.err);
  assert.equal(lines.length, 1, `one line, got:\n${r.err}`);
  assert.match(lines[0], message);
}

test('--resume --epochs extends a finished run from where it stopped, to the numbers of the longer run', async () => {
  const reference = tmpDir('ext-ref');
  await trainSession({ config: tinyConfig({ epochs: 8 }), out: reference, reporter: recorder(), stop: quiet() });
  const dir = tmpDir('ext');
  const first = await trainSession({ config: tinyConfig({ epochs: 5 }), out: dir, reporter: recorder(), stop: quiet() });
  assert.equal(first.summary?.runs[0].epochsRun, 5);

  const r = await runCli(['train', '--resume', dir, '--epochs', '8', '--json']);
  assert.equal(r.code, 0, r.err);
  const lines = r.out.trim().split('\n').map((l) => JSON.parse(l) as { type: string; epoch?: number });
  assert.deepEqual(lines.filter((l) => l.type === 'epoch').map((l) => l.epoch), [6, 7, 8]);
  assert.deepEqual(metricsOf(dir), metricsOf(reference));
  assert.deepEqual(summaryOf(dir), summaryOf(reference));
  assert.equal(JSON.parse(savedConfig(dir)).config.epochs, 8, 'config.json records the new length');

  // Flags equal to the saved ones are fine; the run is finished, so nothing more is trained.
  const same = await runCli(['train', '--resume', dir, ...CLI_TINY, '--json']);
  assert.equal(same.code, 0, same.err);
  assert.equal(same.out.trim().split('\n').filter((l) => JSON.parse(l).type === 'epoch').length, 0);
  assert.deepEqual(metricsOf(dir), metricsOf(reference));
});

test('a run stopped early goes on when resumed with more patience, to the numbers of a run that never stopped', async () => {
  const reference = tmpDir('pat-ref');
  await trainSession({ config: tinyConfig({ epochs: 8, monitor: 'acc', patience: 0 }), out: reference, reporter: recorder(), stop: quiet() });
  const dir = tmpDir('pat');
  const first = await trainSession({ config: tinyConfig({ epochs: 8, monitor: 'acc', patience: 1 }), out: dir, reporter: recorder(), stop: quiet() });
  assert.ok(first.summary?.runs[0].stoppedEarly, 'the first run stops early (patience 1 on validation accuracy)');
  const stoppedAt = first.summary!.runs[0].epochsRun;
  assert.ok(stoppedAt < 8);

  const rec = recorder();
  const again = await trainSession({ resume: dir, resumeOverrides: { patience: 0 }, reporter: rec, stop: quiet() });
  assert.deepEqual(rec.epochs.map((m) => m.epoch), Array.from({ length: 8 - stoppedAt }, (_, k) => stoppedAt + 1 + k));
  assert.equal(again.summary?.runs[0].stoppedEarly, false);
  assert.deepEqual(metricsOf(dir), metricsOf(reference));
  assert.deepEqual(summaryOf(dir), summaryOf(reference));
});

test('--resume with a training flag that differs from the saved run is refused by name, nothing written', async () => {
  const dir = tmpDir('refuse');
  await trainSession({ config: tinyConfig({ epochs: 3 }), out: dir, reporter: recorder(), stop: quiet() });
  const before = savedConfig(dir);
  assertOneLine(
    await runCli(['train', '--resume', dir, '--lr', '0.1', '--heads', '2', '--no-bias', '--epochs', '9']),
    2,
    /^gatv2: --resume .*: --lr, --bias differ from the run's saved options and cannot change on a resumed run \(only --epochs and --patience can\)/,
  );
  assertOneLine(
    await runCli(['train', '--resume', dir, '--epochs', '2']),
    2,
    /^gatv2: --epochs 2: the run has already completed 3 epochs; give at least that many$/,
  );
  assert.equal(savedConfig(dir), before);
  assert.equal(readManifest(join(dir, 'last')).epoch, 3);
});

test('a diverging run (sgd, --lr 1e6) stops at the epoch its loss is NaN, exit 1, and saves no NaN weights', async () => {
  const dir = join(tmpDir('diverge'), 'run');
  const r = await runCli(['train', '--dataset', 'cora', '--backend', 'cpu', '--heads', '2', '--hidden', '4', '--optimizer', 'sgd', '--lr', '1e6', '--epochs', '50', '--save-every', '2', '--out', dir, '--json']);
  assertOneLine(r, 1, /^gatv2: training diverged at epoch (\d+): after its update the (training|validation) loss is (NaN|Infinity); lower --lr \(now 1000000\)/);
  const epoch = Number(/epoch (\d+)/.exec(r.err)![1]);
  assert.doesNotMatch(r.err, /\n\s+at /, 'no stack trace');
  // Every reported and recorded epoch came before the divergence and has finite losses.
  const reported = r.out.trim().split('\n').map((l) => JSON.parse(l) as EpochMetrics);
  assert.deepEqual(reported.map((m) => m.epoch), Array.from({ length: epoch - 1 }, (_, k) => k + 1));
  for (const m of readJsonl<EpochMetrics>(join(dir, 'metrics.jsonl'))) {
    assert.ok(m.epoch < epoch && Number.isFinite(m.trainLoss) && Number.isFinite(m.valLoss), `epoch ${m.epoch}`);
  }
  // The saved checkpoint is from before the divergence and holds finite weights only.
  const ckpt = await loadCheckpoint(join(dir, 'last'));
  try {
    assert.ok(ckpt.manifest.epoch < epoch);
    for (const [name, t] of Object.entries(ckpt.params)) assert.ok(tf.all(tf.isFinite(t)).dataSync()[0], `${name} finite`);
  } finally {
    disposeCheckpoint(ckpt);
  }
  assert.match(r.err, new RegExp(`last holds epoch ${ckpt.manifest.epoch}, saved before$`, 'm'));
});
