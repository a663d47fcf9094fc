/**
 * Analytic against autograd gradients during training (--check-grads) and on a trained checkpoint
 * (compareModesOnCheckpoint, which `gatv2 gradcheck --checkpoint` builds on).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { join } from 'node:path';
import { readManifest } from '../src/run/checkpoint.js';
import { compareModesOnCheckpoint } from '../src/check/checkpoint-gradcheck.js';
import { networkParamShapes } from '../src/model/network.js';
import { trainSession } from '../src/train/session.js';
import { stopControl } from '../src/train/stop.js';
import { recorder, tinyConfig, tmpDir } from './train-helpers.js';

/**
 * float32 kernels against float32 autodiff, relative to each gradient's largest entry. Measured
 * about 1e-6 on a trained Cora model (both modes, with and without dropout).
 */
const TOL = 1e-5;
let dir = '';

test('--check-grads records the largest relative difference per parameter', async () => {
  dir = tmpDir('gc');
  const rec = recorder();
  const r = await trainSession({ config: tinyConfig({ epochs: 4, checkGrads: 2 }), out: dir, reporter: rec, stop: stopControl({ signals: false }) });
  const checked = rec.epochs.filter((m) => m.gradCheck);
  assert.deepEqual(checked.map((m) => m.epoch), [2, 4]);
  const names = Object.keys(networkParamShapes(readManifest(join(dir, 'best')).modelConfig.network));
  for (const m of checked) {
    assert.deepEqual(Object.keys(m.gradCheck!.relDiff).sort(), names.sort());
    for (const [p, d] of Object.entries(m.gradCheck!.relDiff)) assert.ok(d < TOL, `epoch ${m.epoch} ${p}: ${d}`);
  }
  assert.equal(r.summary!.runs[0].gradCheck!.checks, 2);
});

test('compareModesOnCheckpoint: evaluation and training mode (same dropout masks) agree', async () => {
  for (const training of [false, true]) {
    const before = tf.memory().numTensors;
    const c = await compareModesOnCheckpoint({ checkpoint: dir, training, seed: 7, weightDecay: 5e-4 });
    assert.ok(c.worst.relDiff < TOL, `training ${training}: ${c.worst.param} ${c.worst.relDiff}`);
    assert.ok(Math.abs(c.objective.analytic - c.objective.autograd) < 1e-5);
    assert.deepEqual(Object.keys(c.grads.analytic).sort(), Object.keys(c.params).sort());
    assert.equal(c.data.layout.numNodes, 2708);
    assert.equal(tf.memory().numTensors, before);
  }
});
