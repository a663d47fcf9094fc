/**
 * --normalize-features: auto row-normalises non-negative features only, says on one line what it
 * chose and why, and the choice (with standardize's statistics) travels in the checkpoint so
 * evaluate and predict see the inputs training saw.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DenseFeatures, SparseFeatures } from '../src/data/dataset.js';
import { applyNormalization, chooseNormalization, requestedMode, savedNormalization } from '../src/data/feature-normalization.js';
import { runCli } from './cli-helpers.js';
import { writeSignedDataset } from './signed-dataset.js';
import { CLI_TINY, tmpDir } from './train-helpers.js';

const dense = (rows: number[][]): DenseFeatures => ({
  kind: 'dense', numNodes: rows.length, numFeatures: rows[0].length, values: Float32Array.from(rows.flat()),
});

test('auto: row for non-negative features; with one negative value, standardize when dense, none when sparse; each with its reason', () => {
  const counts = chooseNormalization(dense([[1, 3], [0, 2]]), 'auto');
  assert.deepEqual(counts.normalization, { mode: 'row' });
  assert.equal(counts.reason, 'features: row-normalised (--normalize-features auto: no value is negative, so each row is divided by its sum, the GAT recipe)');
  const signed = chooseNormalization(dense([[1, -1], [3, 1]]), 'auto');
  assert.deepEqual(signed.normalization, { mode: 'standardize', mean: [2, 0], std: [1, 1] });
  assert.equal(
    signed.reason,
    'features: standardised per column to mean 0 and standard deviation 1 (--normalize-features auto: 1 of 4 values (25%) are negative, and dividing a signed row by its sum blows up rows summing near zero; --normalize-features none|row to override)',
  );
  const sparse: SparseFeatures = {
    kind: 'sparse', numNodes: 2, numFeatures: 3, rowPtr: Int32Array.from([0, 1, 2]), colIdx: Int32Array.from([0, 2]), values: Float32Array.from([-1, 2]),
  };
  const sparseSigned = chooseNormalization(sparse, 'auto');
  assert.deepEqual(sparseSigned.normalization, { mode: 'none' });
  assert.equal(
    sparseSigned.reason,
    'features: left as they are (--normalize-features auto: 1 of 2 values (50%) are negative, and dividing a signed row by its sum blows up rows summing near zero; standardising would fill in every zero of these sparse features; --normalize-features row|standardize to override)',
  );
  assert.match(chooseNormalization(dense([[1, -1]]), 'row').reason, /row-normalised as asked .* although 1 of 2 values \(50%\) are negative/);
});

test('standardize: per-column mean and std over all nodes, a constant column only centred; sparse becomes dense', () => {
  const f: SparseFeatures = {
    kind: 'sparse', numNodes: 3, numFeatures: 2, rowPtr: Int32Array.from([0, 2, 3, 4]), colIdx: Int32Array.from([0, 1, 0, 1]),
    values: Float32Array.from([1, 5, 2, 5]),
  };
  // Columns: [1, 2, 0] (mean 1, std sqrt(2/3)) and [5, 0, 5].
  const { normalization } = chooseNormalization(f, 'standardize');
  assert.equal(normalization.mode, 'standardize');
  if (normalization.mode !== 'standardize') return;
  assert.deepEqual(normalization.mean, [1, 10 / 3]);
  assert.ok(Math.abs(normalization.std[0] - Math.sqrt(2 / 3)) < 1e-12);
  const out = applyNormalization(f, normalization);
  assert.equal(out.kind, 'dense');
  const s0 = Math.sqrt(2 / 3);
  const s1 = Math.sqrt(50 / 9);
  const want = [0, (5 - 10 / 3) / s1, 1 / s0, -10 / 3 / s1, -1 / s0, (5 - 10 / 3) / s1];
  Array.from(out.values).forEach((v, k) => assert.ok(Math.abs(v - want[k]) < 1e-6, `${k}: ${v} vs ${want[k]}`));
  const constant = chooseNormalization(dense([[2], [2]]), 'standardize').normalization;
  assert.deepEqual(constant, { mode: 'standardize', mean: [2], std: [1] });
});

test('older configs and checkpoints keep their transform: true is row, false none, no field at all is auto', () => {
  assert.equal(requestedMode(true), 'row');
  assert.equal(requestedMode(false), 'none');
  assert.equal(requestedMode(undefined), 'auto');
  assert.equal(requestedMode('standardize'), 'standardize');
  assert.deepEqual(savedNormalization({ normalizeFeatures: true }), { mode: 'row' });
  assert.deepEqual(savedNormalization({ normalizeFeatures: false }), { mode: 'none' });
  assert.deepEqual(savedNormalization({ normalizeFeatures: true, featureNormalization: { mode: 'none' } }), { mode: 'none' });
});

interface Trained {
  code: number;
  err: string;
  testAcc: number;
  out: string;
}

async function train(dataset: string, flags: string[], epochs = 60): Promise<Trained> {
  const out = join(tmpDir('norm-run'), 'run');
  const r = await runCli(['train', '--dataset', dataset, ...CLI_TINY, '--epochs', String(epochs), '--out', out, '--json', ...flags]);
  assert.equal(r.code, 0, r.err);
  const lines = r.out.trim().split('\n').map((l) => JSON.parse(l));
  return { code: r.code, err: r.err, testAcc: lines[lines.length - 1].runs[0].best.testAcc, out };
}

test('dense signed features: the default trains to within 1 point of --no-normalize-features or better, and says why', async () => {
  const data = tmpDir('signed');
  writeSignedDataset(data, { scales: 'unit' });
  const auto = await train(data, []);
  const none = await train(data, ['--no-normalize-features']);
  const named = await train(data, ['--normalize-features', 'none']);
  const standardized = await train(data, ['--normalize-features', 'standardize']);
  assert.equal(named.testAcc, none.testAcc, '--no-normalize-features is --normalize-features none');
  assert.equal(auto.testAcc, standardized.testAcc, 'auto standardises dense signed features');
  assert.ok(auto.testAcc >= none.testAcc - 0.01, `default ${auto.testAcc} vs none ${none.testAcc}`);
  const values = readFileSync(join(data, 'features.csv'), 'utf8').trim().split('\n').slice(1).flatMap((l) => l.split(',').slice(1));
  const negative = values.filter((v) => Number(v) < 0).length;
  const pct = ((100 * negative) / values.length).toPrecision(2);
  const chosen = auto.err.split('\n').filter((l) => l.startsWith('features: '));
  assert.deepEqual(chosen, [
    `features: standardised per column to mean 0 and standard deviation 1 (--normalize-features auto: ${negative} of ${values.length} values (${pct}%) are negative, and dividing a signed row by its sum blows up rows summing near zero; --normalize-features none|row to override)`,
  ]);
  assert.ok(!auto.out.includes('features: '), 'the line is on stderr, stdout is JSON only');
});

test('Cora: auto picks row, the same run as --normalize-features row; an old checkpoint without the field evaluates the same', async () => {
  const auto = await train('cora', [], 3);
  const row = await train('cora', ['--normalize-features', 'row'], 3);
  assert.equal(auto.testAcc, row.testAcc);
  assert.match(auto.err, /^features: row-normalised \(--normalize-features auto: no value is negative/m);
  const manifestPath = join(auto.out, 'best', 'model.json');
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8'));
  assert.deepEqual(manifest.modelConfig.featureNormalization, { mode: 'row' });
  assert.equal(manifest.modelConfig.normalizeFeatures, true);
  // A checkpoint written before the modes: only the boolean.
  delete manifest.modelConfig.featureNormalization;
  writeFileSync(manifestPath, JSON.stringify(manifest));
  const e = await runCli(['evaluate', '--checkpoint', auto.out, '--json']);
  assert.equal(e.code, 0, e.err);
  assert.equal(JSON.parse(e.out).splits.test.accuracy, auto.testAcc);
});

test('standardize: the column statistics are saved and evaluate reproduces the run from them', async () => {
  const data = tmpDir('signed-std');
  writeSignedDataset(data, { perClass: 50 });
  const run = await train(data, ['--normalize-features', 'standardize'], 20);
  const mc = JSON.parse(readFileSync(join(run.out, 'best', 'model.json'), 'utf8')).modelConfig;
  assert.equal(mc.featureNormalization.mode, 'standardize');
  assert.equal(mc.featureNormalization.mean.length, 16);
  assert.equal(mc.featureNormalization.std.length, 16);
  assert.equal(mc.normalizeFeatures, false);
  const e = await runCli(['evaluate', '--checkpoint', run.out, '--json']);
  assert.equal(e.code, 0, e.err);
  assert.equal(JSON.parse(e.out).splits.test.accuracy, run.testAcc);
});

test('--normalize-features with an unknown mode: exit 2, one line naming the modes', async () => {
  const r = await runCli(['train', '--dataset', 'cora', '--normalize-features', 'l2', '--epochs', '1']);
  assert.equal(r.code, 2);
  assert.match(r.err, /^gatv2: --normalize-features must be one of auto, row, none, standardize, got "l2"\n/);
});
