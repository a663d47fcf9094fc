/**
 * A user's own dataset end to end through the CLI: string node ids (one with a comma, one with a
 * quote), string labels, dense features with named columns, in a temporary directory.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { parse } from 'csv-parse/sync';
import { csvField } from '../src/cli/predict.js';
import { runCli } from './cli-helpers.js';
import { CLI_TINY, tmpDir } from './train-helpers.js';

const CLASSES = ['alpha', 'beta', 'gamma'];
const PER_CLASS = 15;

/** Small deterministic generator (LCG), so the dataset is the same on every run. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

function writeDataset(dir: string): { ids: string[]; labels: string[] } {
  const rand = rng(42);
  const ids: string[] = [];
  const labels: string[] = [];
  for (let c = 0; c < CLASSES.length; c++) {
    for (let k = 0; k < PER_CLASS; k++) {
      ids.push(c === 0 && k === 0 ? 'paper, the first' : c === 1 && k === 0 ? 'say "hi"' : `${CLASSES[c]}-${k}-x${(k * 7919) % 1000}`);
      labels.push(CLASSES[c]);
    }
  }
  const split = (k: number) => (k < 5 ? 'train' : k < 9 ? 'val' : 'test');
  const nodes = ['id,label,split', ...ids.map((id, i) => `${csvField(id)},${labels[i]},${split(i % PER_CLASS)}`)];
  const edges = ['source,target'];
  for (let i = 0; i < ids.length; i++) {
    const c = Math.floor(i / PER_CLASS);
    for (let e = 0; e < 4; e++) {
      // Three neighbours of the same class, one of any class.
      const j = e < 3 ? c * PER_CLASS + Math.floor(rand() * PER_CLASS) : Math.floor(rand() * ids.length);
      if (j === i) continue;
      edges.push(`${csvField(ids[i])},${csvField(ids[j])}`, `${csvField(ids[j])},${csvField(ids[i])}`);
    }
  }
  const features = ['id,colour,size,weight,noise_a,noise_b'];
  ids.forEach((id, i) => {
    const c = Math.floor(i / PER_CLASS);
    const f = [0, 1, 2].map((k) => (k === c ? 1 : 0) + 0.9 * rand());
    features.push([csvField(id), ...[...f, rand(), rand()].map((x) => x.toFixed(4))].join(','));
  });
  writeFileSync(join(dir, 'nodes.csv'), nodes.join('\n') + '\n');
  writeFileSync(join(dir, 'edges.csv'), edges.join('\n') + '\n');
  writeFileSync(join(dir, 'features.csv'), features.join('\n') + '\n');
  return { ids, labels };
}

test('a dataset with string ids and dense features trains, evaluates and predicts under its own names', async () => {
  const data = tmpDir('userdata');
  const { ids, labels } = writeDataset(data);
  const out = join(tmpDir('userrun'), 'run');

  const r = await runCli(['train', '--dataset', data, ...CLI_TINY, '--epochs', '60', '--out', out, '--json']);
  assert.equal(r.code, 0, r.err);
  const lines = r.out.trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(lines.filter((l) => l.type === 'epoch').length, lines.length - 1);
  const summary = lines[lines.length - 1];
  assert.equal(summary.type, 'summary');
  assert.ok(summary.runs[0].best.testAcc >= 0.8, `test accuracy ${summary.runs[0].best.testAcc}`);

  const e = await runCli(['evaluate', '--checkpoint', out, '--json']);
  assert.equal(e.code, 0, e.err);
  assert.equal(JSON.parse(e.out).splits.test.accuracy, summary.runs[0].best.testAcc);

  const pred = join(out, 'predictions.csv');
  const p = await runCli(['predict', '--checkpoint', out, '--out', pred]);
  assert.equal(p.code, 0, p.err);
  const rows = parse(readFileSync(pred, 'utf8')) as string[][];
  assert.deepEqual(rows[0], ['id', 'predicted', 'p_alpha', 'p_beta', 'p_gamma']);
  assert.deepEqual(rows.slice(1).map((row) => row[0]), ids);
  for (const row of rows.slice(1)) assert.ok(CLASSES.includes(row[1]));
  const right = rows.slice(1).filter((row, i) => row[1] === labels[i]).length;
  assert.ok(right / ids.length >= 0.8, `${right} of ${ids.length} right`);
});
