/**
 * Named sparse features (`node,feature_name,value`): the checkpoint keeps the names of its columns,
 * and evaluate/predict match another file to them by name, so row order and missing names do not
 * change predictions; a name the model never saw, or numbered features, are refused.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli } from './cli-helpers.js';
import { CLI_TINY, tmpDir } from './train-helpers.js';

const WORDS = ['apple', 'kiwi', 'banana', 'plum', 'fig', 'cherry', 'lime', 'pear'];

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

/** 3 classes x 12 nodes; class c uses words c, c+3 mostly; edges within the class. */
function writeNamed(dir: string, features: string[][]): void {
  const nodes = ['id,label,split'];
  const edges = ['source,target'];
  for (let i = 0; i < 36; i++) {
    const c = Math.floor(i / 12);
    const k = i % 12;
    nodes.push(`v${i},c${c},${k < 4 ? 'train' : k < 7 ? 'val' : 'test'}`);
    edges.push(`v${i},v${c * 12 + ((k + 1) % 12)}`, `v${c * 12 + ((k + 1) % 12)},v${i}`);
  }
  writeFileSync(join(dir, 'nodes.csv'), nodes.join('\n') + '\n');
  writeFileSync(join(dir, 'edges.csv'), edges.join('\n') + '\n');
  writeFileSync(join(dir, 'features.csv'), ['node,feature_name,value', ...features.map((r) => r.join(','))].join('\n') + '\n');
}

function featureRows(): string[][] {
  const rand = lcg(3);
  const rows: string[][] = [];
  for (let i = 0; i < 36; i++) {
    const c = Math.floor(i / 12);
    for (const w of [WORDS[c], WORDS[c + 3], WORDS[Math.floor(rand() * WORDS.length)]]) {
      if (!rows.some((r) => r[0] === `v${i}` && r[1] === w)) rows.push([`v${i}`, w, (1 + rand()).toFixed(3)]);
    }
  }
  return rows;
}

async function predict(ckpt: string, dataset: string): Promise<{ code: number; err: string; csv: string }> {
  const out = join(tmpDir('names-pred'), 'p.csv');
  const r = await runCli(['predict', '--checkpoint', ckpt, '--dataset', dataset, '--out', out]);
  return { code: r.code, err: r.err, csv: r.code === 0 ? readFileSync(out, 'utf8') : '' };
}

test('named sparse features: the checkpoint keeps the names; other row orders and missing names predict the same', async () => {
  const rows = featureRows();
  const data = tmpDir('names');
  writeNamed(data, rows);
  const run = join(tmpDir('names-run'), 'run');
  const t = await runCli(['train', '--dataset', data, ...CLI_TINY, '--epochs', '20', '--out', run]);
  assert.equal(t.code, 0, t.err);
  const mc = JSON.parse(readFileSync(join(run, 'best', 'model.json'), 'utf8')).modelConfig;
  assert.deepEqual(mc.featureNames, [...WORDS].sort());

  const base = await predict(run, data);
  assert.equal(base.code, 0, base.err);

  const shuffled = tmpDir('names-shuffled');
  writeNamed(shuffled, [...rows].reverse());
  assert.equal((await predict(run, shuffled)).csv, base.csv, 'row order does not matter');

  // "pear" given nowhere: its column is all zeros, as when its values are written as 0.
  const withoutPear = tmpDir('names-no-pear');
  writeNamed(withoutPear, rows.filter((r) => r[1] !== 'pear'));
  const zeroPear = tmpDir('names-zero-pear');
  writeNamed(zeroPear, rows.map((r) => (r[1] === 'pear' ? [r[0], r[1], '0'] : r)));
  const a = await predict(run, withoutPear);
  assert.equal(a.code, 0, a.err);
  assert.equal(a.csv, (await predict(run, zeroPear)).csv);

  const extra = tmpDir('names-extra');
  writeNamed(extra, [...rows, ['v0', 'mango', '1']]);
  const bad = await predict(run, extra);
  assert.equal(bad.code, 2);
  assert.match(bad.err, /^gatv2: .*: feature "mango" is not one of the model's 8 features; remove it, or train on this data$/m);

  const numbered = tmpDir('names-numbered');
  writeNamed(numbered, rows.map((r) => [r[0], String(WORDS.indexOf(r[1])), r[2]]));
  writeFileSync(join(numbered, 'features.csv'), readFileSync(join(numbered, 'features.csv'), 'utf8').replace('feature_name', 'feature'));
  const num = await predict(run, numbered);
  assert.equal(num.code, 2);
  assert.match(num.err, /its features are numbered, the model's are named \("apple", "banana", "cherry", \.\.\.\)/);
});
