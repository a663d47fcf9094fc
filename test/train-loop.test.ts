/**
 * The training loop on Cora with a shrunk recipe: it learns, it leaks no tensors, and a seed
 * fixes every number.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { useBackend } from '../src/backends/index.js';
import { trainSession } from '../src/train/session.js';
import { stopControl } from '../src/train/stop.js';
import type { EpochMetrics } from '../src/run/metrics.js';
import { numbersOf, readJsonl, recorder, tinyConfig, tmpDir } from './train-helpers.js';

test('a short run on Cora lowers the training loss, beats chance on validation and leaks no tensors', async () => {
  await useBackend('cpu');
  const before = tf.memory().numTensors;
  const rec = recorder();
  const dir = tmpDir('loop');
  const r = await trainSession({ config: tinyConfig({ epochs: 25 }), out: dir, reporter: rec, stop: stopControl({ signals: false }) });
  assert.ok(r.summary);
  const m = rec.epochs;
  assert.equal(m.length, 25);
  const first = m.slice(0, 3).reduce((a, x) => a + x.trainLoss, 0) / 3;
  const last = m.slice(-3).reduce((a, x) => a + x.trainLoss, 0) / 3;
  assert.ok(last < first - 0.1, `training loss ${first} -> ${last}`);
  // 7 classes: chance is about 1/7 (the largest class is 30% of Cora).
  assert.ok(r.summary.runs[0].best.valAcc > 0.5, `best validation accuracy ${r.summary.runs[0].best.valAcc}`);
  // From the second epoch on (the first creates the kept copy of the dropped sparse features),
  // the number of live tensors must not move; after the session everything is freed.
  assert.deepEqual(new Set(rec.tensors.slice(1)).size, 1, `tensors per epoch: ${rec.tensors.join(',')}`);
  assert.equal(tf.memory().numTensors, before);
  // metrics.jsonl holds exactly what was reported.
  assert.deepEqual(readJsonl<EpochMetrics>(join(dir, 'metrics.jsonl')), m);
  const summary = JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8'));
  assert.equal(summary.epochsRun, 25);
  assert.equal(summary.best.testAcc, m[summary.bestEpoch - 1].testAcc);
});

test('the same seed twice gives identical metrics; another seed does not', async () => {
  const run = async (seed: number) => {
    const rec = recorder();
    await trainSession({ config: tinyConfig({ epochs: 6, seed }), out: tmpDir('seed'), reporter: rec, stop: stopControl({ signals: false }) });
    return numbersOf(rec.epochs);
  };
  const a = await run(3);
  assert.deepEqual(await run(3), a);
  assert.notDeepEqual(await run(4), a);
});

test('--weight-decay reaches the update (the optimizer applies it; see optimizer-weight-decay.test.ts)', async () => {
  const run = async (weightDecay: number) => {
    const rec = recorder();
    await trainSession({ config: tinyConfig({ epochs: 4, seed: 3, weightDecay }), out: tmpDir('wd'), reporter: rec, stop: stopControl({ signals: false }) });
    return numbersOf(rec.epochs);
  };
  const none = await run(0);
  assert.deepEqual(await run(0), none);
  // The reported training loss is the cross-entropy alone, so any difference comes from the updates.
  assert.notDeepEqual(await run(0.05), none);
});

test('--seeds runs one directory per seed and reports mean and std of test accuracy', async () => {
  const rec = recorder();
  const dir = tmpDir('seeds');
  const r = await trainSession({ config: tinyConfig({ epochs: 3, seeds: 2, seed: 5 }), out: dir, reporter: rec, stop: stopControl({ signals: false }) });
  assert.ok(r.summary);
  assert.deepEqual(r.summary.runs.map((x) => x.seed), [5, 6]);
  const accs = r.summary.runs.map((x) => x.best.testAcc);
  const mean = (accs[0] + accs[1]) / 2;
  assert.equal(r.summary.testAcc.mean, mean);
  assert.ok(Math.abs(r.summary.testAcc.std - Math.abs(accs[0] - accs[1]) / Math.SQRT2) < 1e-12);
  for (const k of [0, 1]) assert.equal(JSON.parse(readFileSync(join(dir, `seed-${k}`, 'summary.json'), 'utf8')).seed, 5 + k);
  assert.deepEqual(JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8')).testAcc, r.summary.testAcc);
});
