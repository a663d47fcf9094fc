/**
 * `gatv2 diagnose` on a checkpoint of a small network for the shipped Cora, in a child process
 * through the real CLI: the text summary,
 * --json, --split, and exit 2 with a one-line message on bad input.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { useBackend } from '../src/backends/index.js';
import { loadDataset } from '../src/store/load.js';
import { buildNetworkConfig, initNetworkParams } from '../src/model/network.js';
import { saveCheckpoint } from '../src/run/checkpoint.js';
import { DEFAULT_MODEL } from '../src/train/config.js';
import { runCli } from './cli-helpers.js';

const run = runCli;

let runDir = '';

before(async () => {
  await useBackend('cpu');
  const ds = await loadDataset('cora');
  const net = buildNetworkConfig({
    ...DEFAULT_MODEL, hidden: 4, heads: 2, inFeatures: ds.features.numFeatures, numClasses: ds.classNames.length,
  });
  const params = initNetworkParams(net, 0);
  runDir = mkdtempSync(join(tmpdir(), 'gatv2-diagnose-cli-'));
  await saveCheckpoint(join(runDir, 'best'), {
    modelConfig: { network: net, dataset: 'cora', normalizeFeatures: true, numFeatures: ds.features.numFeatures, classNames: ds.classNames },
    trainedWith: { backend: 'cpu', grad: 'analytic', seed: 0 },
    epoch: 0,
  }, params);
  tf.dispose(Object.values(params));
});

after(() => rmSync(runDir, { recursive: true, force: true }));

test('gatv2 diagnose prints a short summary of a run directory\'s best checkpoint', async () => {
  const r = await run(['diagnose', '--checkpoint', runDir]);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /best on cora \(train split, 140 nodes\), backend cpu/);
  assert.match(r.out, /Gradient flow \(analytic backward, evaluation forward/);
  assert.match(r.out, /in-degree 1: 0 nodes/);
  assert.match(r.out, /^conv1\s/m);
  assert.match(r.out, /^conv2\s/m);
});

test('gatv2 diagnose --json --split val --training --mode autograd', async () => {
  const r = await run(['diagnose', '--checkpoint', join(runDir, 'best'), '--json', '--split', 'val', '--training', '--seed', '3', '--mode', 'autograd']);
  assert.equal(r.code, 0, r.err);
  const d = JSON.parse(r.out);
  assert.equal(d.format, 'gatv2-diagnostics');
  assert.equal(d.mode, 'autograd');
  assert.equal(d.training, true);
  assert.equal(d.seed, 3);
  assert.equal(d.graph.numNodes, 2708);
  assert.equal(d.layers.length, 2);
  for (const l of d.layers) assert.ok(l.check.dxrRelErr <= 1e-5, `${l.name}: ${l.check.dxrRelErr}`);
});

test('gatv2 diagnose: bad input exits 2 with one line', async () => {
  const bad = await run(['diagnose', '--checkpoint', runDir, '--uniform-entropy', '2']);
  assert.equal(bad.code, 2);
  assert.match(bad.err, /--uniform-entropy must be in \[0, 1\], got 2/);
  const none = await run(['diagnose', '--checkpoint', join(runDir, 'nope')]);
  assert.equal(none.code, 2);
  assert.match(none.err, /no such checkpoint directory/);
});
