/** --split random (stratified, seeded) and --to-undirected (PyG's ToUndirected) on small hand cases. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SPLIT_CODES } from '../src/data/dataset.js';
import { parseSplit, randomSplit } from '../src/data/split.js';
import { toUndirected } from '../src/data/undirected.js';
import { InputError } from '../src/util/errors.js';

function countsByClass(labels: Int32Array, split: Uint8Array, classes: number): number[][] {
  const c = Array.from({ length: classes }, () => [0, 0, 0, 0]);
  labels.forEach((l, i) => l >= 0 && c[l][split[i]]++);
  return c;
}

test('random split: stratified by class, unlabelled nodes left out, rest unlabeled', () => {
  // class 0: 10 nodes, class 1: 20, class 2: 5, plus 3 unlabelled
  const labels = Int32Array.from([...Array(10).fill(0), ...Array(20).fill(1), ...Array(5).fill(2), -1, -1, -1]);
  const split = randomSplit(labels, 3, parseSplit('random:0.6,0.2,0.2', 1));
  // [train, val, test, unlabeled] per class: round(0.6 n), round(0.2 n), the rest.
  assert.deepEqual(countsByClass(labels, split, 3), [[6, 2, 2, 0], [12, 4, 4, 0], [3, 1, 1, 0]]);
  for (const i of [35, 36, 37]) assert.equal(split[i], SPLIT_CODES.unlabeled);
  // Fractions below 1: the rest is unlabeled.
  const partial = randomSplit(labels, 3, parseSplit('random:0.5,0.1,0.2', 1));
  assert.deepEqual(countsByClass(labels, partial, 3), [[5, 1, 2, 2], [10, 2, 4, 4], [3, 1, 1, 0]]);
});

test('random split: the same seed gives the same split, another seed another', () => {
  const labels = Int32Array.from({ length: 200 }, (_, i) => i % 4);
  const a = randomSplit(labels, 4, parseSplit('random:0.6,0.2,0.2', 5));
  const b = randomSplit(labels, 4, parseSplit('random:0.6,0.2,0.2', 5));
  const c = randomSplit(labels, 4, parseSplit('random:0.6,0.2,0.2', 6));
  assert.deepEqual(a, b);
  assert.notDeepEqual(a, c);
  assert.deepEqual(countsByClass(labels, a, 4), countsByClass(labels, c, 4));
});

test('--split: bad specifications are refused with the expected form', () => {
  for (const bad of ['0.6,0.2,0.2', 'random:0.6,0.2', 'random:0.6,0.5,0.2', 'random:a,0.2,0.2', 'random:0,0.5,0.5', 'random:-0.1,0.5,0.5']) {
    assert.throws(() => parseSplit(bad, 0), (e: unknown) => e instanceof InputError && /--split/.test(e.message), bad);
  }
  assert.throws(() => parseSplit('random:0.6,0.2,0.2', -1), /--split-seed/);
});

test("to-undirected: reverse edges added, sorted by (source, target), repeats merged (PyG's coalesce)", () => {
  // 0->1, 1->0 (already reciprocal), 1->2, 1->2 again (duplicate), 2->2 (self loop)
  const src = Int32Array.from([0, 1, 1, 1, 2]);
  const dst = Int32Array.from([1, 0, 2, 2, 2]);
  const attr = { dim: 2, names: ['a', 'b'], values: Float32Array.from([1, 10, 2, 20, 3, 30, 4, 40, 5, 50]) };
  const add = toUndirected(3, src, dst, attr, 'add');
  assert.deepEqual([...add.source], [0, 1, 1, 2, 2]);
  assert.deepEqual([...add.target], [1, 0, 2, 1, 2]);
  // (0,1): edges 0->1 and reversed 1->0: 1+2; (1,2): two copies of 1->2 = 3+4; (2,1): their reverses;
  // (2,2): the loop and its own reverse: 5+5.
  assert.deepEqual([...add.edgeAttr!.values], [3, 30, 3, 30, 7, 70, 7, 70, 10, 100]);
  const mean = toUndirected(3, src, dst, attr, 'mean');
  assert.deepEqual([...mean.edgeAttr!.values], [1.5, 15, 1.5, 15, 3.5, 35, 3.5, 35, 5, 50]);
  const plain = toUndirected(3, src, dst, undefined, 'add');
  assert.equal(plain.edgeAttr, undefined);
  assert.deepEqual([...plain.source], [0, 1, 1, 2, 2]);
});
