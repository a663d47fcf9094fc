/**
 * The best checkpoint of a run reproduces its numbers: `evaluate` gives exactly the test accuracy
 * of summary.json, and `predict` writes per-node predictions and per-edge attention that agree.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { evaluateCheckpoint } from '../src/cli/evaluate.js';
import { loadDataset } from '../src/store/load.js';
import { splitIndices } from '../src/data/dataset.js';
import { trainSession } from '../src/train/session.js';
import { stopControl } from '../src/train/stop.js';
import { runCli } from './cli-helpers.js';
import { recorder, tinyConfig, tmpDir } from './train-helpers.js';
import { type RunSummary } from '../src/run/summary.js';

let dir = '';
let summary: RunSummary;

test('train a short run', async () => {
  dir = tmpDir('ckpt');
  const r = await trainSession({ config: tinyConfig({ epochs: 8 }), out: dir, reporter: recorder(), stop: stopControl({ signals: false }) });
  summary = r.summary!.runs[0];
});

test('evaluate reproduces the summary exactly, in process and through the CLI', async () => {
  const e = await evaluateCheckpoint(dir, {});
  assert.equal(e.epoch, summary.bestEpoch);
  assert.equal(e.backend, 'cpu');
  assert.equal(e.splits.test!.accuracy, summary.best.testAcc);
  assert.equal(e.splits.val!.accuracy, summary.best.valAcc);
  assert.equal(e.splits.val!.loss, summary.best.valLoss);
  assert.equal(e.splits.train!.accuracy, summary.best.trainAcc);

  const cli = await runCli(['evaluate', '--checkpoint', join(dir, 'best'), '--json']);
  assert.equal(cli.code, 0, cli.err);
  assert.equal(JSON.parse(cli.out).splits.test.accuracy, summary.best.testAcc);
  const bad = await runCli(['evaluate', '--checkpoint', join(dir, 'nothing-here')]);
  assert.equal(bad.code, 2);
  assert.match(bad.err, /^gatv2: .*no such checkpoint directory\n$/);
});

test('predict writes ids, classes and probabilities, and attention per edge and head', async () => {
  const out = join(dir, 'predictions.csv');
  const att = join(dir, 'attention.csv');
  const r = await runCli(['predict', '--checkpoint', dir, '--out', out, '--attention', att]);
  assert.equal(r.code, 0, r.err);

  const ds = await loadDataset('cora');
  const rows = readFileSync(out, 'utf8').trim().split('\n').map((l) => l.split(','));
  assert.deepEqual(rows[0], ['id', 'predicted', ...ds.classNames.map((c) => `p_${c}`)]);
  assert.equal(rows.length - 1, ds.nodeIds.length);
  let correct = 0;
  const test = new Set(splitIndices(ds, 'test'));
  rows.slice(1).forEach((row, i) => {
    assert.equal(row[0], ds.nodeIds[i]);
    const p = row.slice(2).map(Number);
    assert.ok(Math.abs(p.reduce((a, b) => a + b, 0) - 1) < 1e-5);
    assert.equal(row[1], ds.classNames[p.indexOf(Math.max(...p))]);
    if (test.has(i) && row[1] === ds.classNames[ds.labels[i]]) correct++;
  });
  assert.equal(correct / test.size, summary.best.testAcc);

  // Layer 1 has 2 heads, layer 2 one; Cora has 10556 edges plus 2708 self loops.
  const E = 10556 + 2708;
  const lines = readFileSync(att, 'utf8').trim().split('\n');
  assert.equal(lines[0], 'layer,source,target,head,alpha');
  assert.equal(lines.length - 1, E * 2 + E);
  // The attention into each node sums to 1 per layer and head; the first rows follow edges.csv.
  const sums = new Map<string, number>();
  for (const l of lines.slice(1)) {
    const [layer, , target, head, alpha] = l.split(',');
    const k = `${layer}/${target}/${head}`;
    sums.set(k, (sums.get(k) ?? 0) + Number(alpha));
  }
  for (const [k, s] of sums) assert.ok(Math.abs(s - 1) < 1e-5, `${k}: ${s}`);
  assert.deepEqual(lines[1].split(',').slice(0, 4), ['1', ds.nodeIds[ds.edgeSource[0]], ds.nodeIds[ds.edgeTarget[0]], '0']);
});
