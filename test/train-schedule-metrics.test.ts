/**
 * What researchers report and tune: classification metrics on hand-computed cases, the lr
 * schedules against torch's formulas, global-norm clipping as clip_grad_norm_, the optimizers
 * (fused Adam included) following a changing lr, and a run with a schedule and clipping that,
 * stopped and resumed, gives the numbers of an uninterrupted one.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { useBackend } from '../src/backends/index.js';
import { classificationReport, reportFromPredictions } from '../src/run/classification-metrics.js';
import { clipGradNorm } from '../src/train/clip-grad.js';
import { lrAt, type LrSchedule } from '../src/train/lr-schedule.js';
import type { EpochMetrics } from '../src/run/metrics.js';
import { createOptimizer, DEFAULT_OPTIMIZER } from '../src/model/optimizers.js';
import { readRunStatus } from '../src/train/run-status.js';
import { trainSession } from '../src/train/session.js';
import { stopControl } from '../src/train/stop.js';
import { evaluateCheckpoint } from '../src/cli/evaluate.js';
import { writeReport } from '../src/report/index.js';
import { numbersOf, readJsonl, recorder, tinyConfig, tmpDir } from './train-helpers.js';
import { type RunSummary } from '../src/run/summary.js';

await useBackend('cpu');

const close = (a: number, b: number, tol = 1e-12) => assert.ok(Math.abs(a - b) <= tol, `${a} vs ${b}`);

test('classification report: confusion, per-class precision/recall/F1, macro-F1 (hand-computed)', () => {
  const r = reportFromPredictions([0, 0, 0, 1, 1, 2], [0, 0, 1, 1, 2, 2], 4);
  assert.deepEqual(r.confusion, [[2, 1, 0, 0], [0, 1, 1, 0], [0, 0, 1, 0], [0, 0, 0, 0]]);
  close(r.accuracy, 4 / 6);
  // class 0: P 2/2, R 2/3, F1 0.8; class 1: P 1/2, R 1/2; class 2: P 1/2, R 1, F1 2/3; class 3 absent.
  const expect = [[1, 2 / 3, 0.8, 3], [0.5, 0.5, 0.5, 2], [0.5, 1, 2 / 3, 1], [0, 0, 0, 0]];
  r.perClass.forEach((c, k) => {
    [c.precision, c.recall, c.f1, c.support].forEach((v, j) => close(v, expect[k][j]));
  });
  // Mean over the classes that occur (0, 1, 2), as sklearn's f1_score(average='macro').
  close(r.macroF1, (0.8 + 0.5 + 2 / 3) / 3);
  // A class predicted but absent from the labels counts, with F1 0 (zero_division=0).
  const p = reportFromPredictions([0, 0], [0, 1], 2);
  close(p.perClass[1].precision, 0);
  close(p.macroF1, (2 / 3 + 0) / 2);
});

test('classification report from logits: argmax per node (first on ties), only the given nodes', () => {
  const logits = Float32Array.from([
    2, 1, 0, // node 0 -> 0
    0, 0, 0, // node 1 -> 0 (tie)
    0, 5, 1, // node 2 -> 1
    9, 9, 9, // node 3 (not in the split)
  ]);
  const labels = Int32Array.from([0, 1, 1, 2]);
  const r = classificationReport(logits, labels, Int32Array.from([0, 1, 2]), 3);
  assert.deepEqual(r.confusion, [[1, 0, 0], [1, 1, 0], [0, 0, 0]]);
  assert.equal(r.nodes, 3);
});

test("lr schedules follow torch's StepLR and CosineAnnealingLR", () => {
  const step: LrSchedule = { name: 'step', stepSize: 3, gamma: 0.5, minLr: 0, tMax: 0 };
  assert.deepEqual([1, 2, 3, 4, 5, 6, 7].map((e) => lrAt(0.1, step, e, 100)), [0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.025]);
  const cos: LrSchedule = { name: 'cosine', stepSize: 1, gamma: 1, minLr: 0.1, tMax: 4 };
  const want = [1, 0.1 + 0.9 * (1 + Math.SQRT1_2) / 2, 0.55, 0.1 + 0.9 * (1 - Math.SQRT1_2) / 2, 0.1];
  [1, 2, 3, 4, 5].forEach((e, k) => close(lrAt(1, cos, e, 100), want[k], 1e-15));
  // T_max 0: the run's epochs.
  close(lrAt(1, { ...cos, tMax: 0 }, 3, 4), 0.1 + 0.9 * (1 + Math.cos(Math.PI / 2)) / 2, 1e-15);
  assert.equal(lrAt(0.3, undefined, 9, 10), 0.3);
});

test('clip-norm: the global L2 norm over all gradients, scaled as clip_grad_norm_', async () => {
  const grads = () => ({ a: tf.tensor1d([3, 4]), b: tf.tensor2d([[12]]) }); // norm sqrt(9 + 16 + 144) = 13
  const before = tf.memory().numTensors;
  const c = await clipGradNorm(grads(), 6.5);
  assert.ok(c.clipped);
  close(c.norm, 13, 1e-6);
  const coef = 6.5 / (13 + 1e-6);
  const got = [...(await c.grads['a'].data()), ...(await c.grads['b'].data())];
  [3, 4, 12].forEach((g, k) => close(got[k], Math.fround(g * coef), 1e-6));
  tf.dispose(Object.values(c.grads));
  const g = grads();
  const u = await clipGradNorm(g, 20);
  assert.equal(u.clipped, false);
  assert.equal(u.grads, g);
  tf.dispose(Object.values(g));
  assert.equal(tf.memory().numTensors, before);
});

test('every optimizer follows a changing lr; fused Adam equals the op path and float64 Adam', async () => {
  const lrs = [0.1, 0.05, 0.01, 0.003];
  const gradSeq = [0.5, -1.5, 2, 0.25];
  for (const name of ['adam', 'sgd', 'momentum', 'rmsprop'] as const) {
    const run = (fused: boolean) => {
      const opt = createOptimizer({ ...DEFAULT_OPTIMIZER, name }, { w: [1] }, { fused, weightDecay: 0.01 });
      const w = tf.variable(tf.tensor1d([1]));
      lrs.forEach((lr, k) => tf.tidy(() => opt.apply({ w }, { w: tf.tensor1d([gradSeq[k]]) }, lr)));
      const v = w.dataSync()[0];
      w.dispose();
      opt.dispose();
      return v;
    };
    const fused = run(true);
    const ops = run(false);
    close(fused, ops, 1e-6);
    // float64 torch rules with the lr of each step.
    let w = 1, m = 0, v = 0, buf = 0, sq = 0;
    lrs.forEach((lr, k) => {
      const g = gradSeq[k] + 0.01 * w;
      const t = k + 1;
      if (name === 'sgd') w -= lr * g;
      if (name === 'momentum') {
        buf = 0.9 * buf + g;
        w -= lr * buf;
      }
      if (name === 'rmsprop') {
        sq = 0.99 * sq + 0.01 * g * g;
        w -= (lr * g) / (Math.sqrt(sq) + 1e-8);
      }
      if (name === 'adam') {
        m = 0.9 * m + 0.1 * g;
        v = 0.999 * v + 0.001 * g * g;
        w -= (lr / (1 - 0.9 ** t)) * (m / (Math.sqrt(v) / Math.sqrt(1 - 0.999 ** t) + 1e-8));
      }
    });
    close(fused, w, 1e-5);
  }
});

const EPOCHS = 12;
const scheduled = tinyConfig({
  epochs: EPOCHS, saveEvery: 5, lrSchedule: { name: 'cosine', stepSize: 100, gamma: 0.1, minLr: 0.001, tMax: 0 }, clipNorm: 0.15,
});
const metricsOf = (dir: string) => numbersOf(readJsonl<EpochMetrics>(join(dir, 'metrics.jsonl')));
const resultOf = (dir: string) => {
  const { timeMs: _t, meanEpochMs: _m, ...rest } = JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8')) as RunSummary;
  return rest;
};
const quiet = () => stopControl({ signals: false });

test('--lr-schedule and --clip-norm: recorded per epoch, and a resumed run equals an uninterrupted one', async () => {
  const ref = tmpDir('sched-ref');
  const r = await trainSession({ config: scheduled, out: ref, reporter: recorder(), stop: quiet() });
  assert.ok(r.summary);
  const ms = readJsonl<EpochMetrics>(join(ref, 'metrics.jsonl'));
  ms.forEach((m) => close(m.lr!, lrAt(0.02, scheduled.lrSchedule, m.epoch, EPOCHS), 0));
  assert.ok(ms.every((m) => typeof m.gradNorm === 'number' && m.gradNorm > 0));
  // Clipping acts (some steps' norms exceed 0.15 on this run, some do not).
  assert.ok(ms.some((m) => m.gradNorm! > 0.15) && ms.some((m) => m.gradNorm! < 0.15), ms.map((m) => m.gradNorm).join(', '));
  // The config is saved with the run.
  const saved = JSON.parse(readFileSync(join(ref, 'config.json'), 'utf8')) as { config: typeof scheduled };
  assert.deepEqual(saved.config.lrSchedule, scheduled.lrSchedule);
  assert.equal(saved.config.clipNorm, 0.15);

  const dir = tmpDir('sched-stop');
  const stop = quiet();
  const s = await trainSession({ config: scheduled, out: dir, reporter: recorder((m) => m.epoch === 7 && stop.request()), stop });
  assert.equal(s.summary, null);
  assert.equal(readRunStatus(dir)?.status, 'stopped');
  assert.ok(!existsSync(join(dir, 'summary.json')));
  const again = await trainSession({ resume: dir, reporter: recorder(), stop: quiet() });
  assert.ok(again.summary);
  assert.equal(readRunStatus(dir)?.status, 'finished');
  assert.deepEqual(metricsOf(dir), metricsOf(ref));
  assert.deepEqual(resultOf(dir), resultOf(ref));
});

test('summary.json holds the best epoch\'s per-class report; evaluate --json gives the same for its checkpoint', async () => {
  const dir = tmpDir('report');
  const r = await trainSession({ config: tinyConfig({ epochs: 8 }), out: dir, reporter: recorder(), stop: quiet() });
  assert.ok(r.summary);
  const s = JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8')) as RunSummary;
  const c = s.classification!;
  assert.equal(c.classNames.length, 7);
  assert.equal(c.test.nodes, 1000);
  assert.equal(c.val.nodes, 500);
  close(c.test.accuracy, s.best.testAcc);
  assert.equal(c.test.confusion.flat().reduce((a, b) => a + b, 0), 1000);
  assert.ok(c.test.macroF1 > 0 && c.test.macroF1 <= 1);
  const ev = await evaluateCheckpoint(dir, {});
  assert.deepEqual(ev.splits.test?.classification, c.test);
  assert.deepEqual(ev.splits.val?.classification, c.val);
  // The HTML report shows them.
  const html = readFileSync(writeReport(dir), 'utf8');
  assert.ok(html.includes(`macro-F1 val ${c.val.macroF1.toFixed(4)}, test ${c.test.macroF1.toFixed(4)}`));
  assert.ok(html.includes('Confusion matrix, test (rows: true class, columns: predicted class)'));
  assert.ok(html.includes(`<td>${c.test.confusion[0][0]}</td>`));
});
