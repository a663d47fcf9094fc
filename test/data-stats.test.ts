import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadDataset } from '../src/store/load.js';
import { countDuplicates, datasetStats, summarize } from '../src/data/stats.js';

function writeDataset(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'gatv2-stats-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

/*
 * Five nodes a..e. Edge rows:
 *   a->b, a->b (duplicate), b->a, c->c (self loop), b->c, d->d (self loop), d->d (duplicate self loop)
 * e has no edge at all; d only self loops.
 */
const TINY = {
  'nodes.csv': 'id,label,split\na,x,train\nb,y,val\nc,x,test\nd,,unlabeled\ne,y,unlabeled\n',
  'edges.csv': 'source,target\na,b\na,b\nb,a\nc,c\nb,c\nd,d\nd,d\n',
  'features.csv': 'node,feature,value\na,0,1\nb,1,1\n',
};

test('stats of a tiny hand-made graph equal hand-computed values', async () => {
  const s = datasetStats(await loadDataset(writeDataset(TINY)));
  assert.equal(s.nodes, 5);
  assert.equal(s.edges, 7);
  assert.equal(s.features, 2);
  assert.equal(s.featureKind, 'sparse');
  assert.equal(s.featureEntries, 2);
  assert.equal(s.classes, 2);
  assert.deepEqual(s.classNames, ['x', 'y']);
  assert.deepEqual(s.classCounts, [2, 2]);
  assert.equal(s.labelledNodes, 4);
  assert.deepEqual(s.splits, { train: 1, val: 1, test: 1, unlabeled: 2 });
  // c->c, d->d, d->d.
  assert.equal(s.selfLoops, 3);
  // Second a->b and second d->d.
  assert.equal(s.duplicateEdges, 2);
  // d (self loops only) and e (nothing).
  assert.equal(s.isolatedNodes, 2);
  // As given: a 1, b 2, c 2 (c->c, b->c), d 2, e 0 -> sorted 0 1 2 2 2.
  assert.deepEqual(s.inDegree.asGiven, { min: 0, median: 2, max: 2, mean: 7 / 5, shareDegreeOne: 1 / 5 });
  // Self loops removed then one added: a 1+1, b 2+1, c 1+1, d 0+1, e 0+1 -> sorted 1 1 2 2 3.
  assert.deepEqual(s.inDegree.withSelfLoops, { min: 1, median: 2, max: 3, mean: 9 / 5, shareDegreeOne: 2 / 5 });
  assert.deepEqual(s.warnings, []);
});

test('median of an even count is the mean of the middle two', () => {
  assert.equal(summarize(Int32Array.from([4, 1, 2, 9])).median, 3);
  assert.deepEqual(summarize(new Int32Array(0)), { min: 0, median: 0, max: 0, mean: 0, shareDegreeOne: 0 });
});

test('countDuplicates counts repeats beyond the first of each pair', () => {
  const src = Int32Array.from([0, 1, 0, 0, 2, 1]);
  const dst = Int32Array.from([1, 0, 1, 1, 2, 0]);
  assert.equal(countDuplicates(src, dst, 3), 3);
  assert.equal(countDuplicates(new Int32Array(0), new Int32Array(0), 3), 0);
});

test('Cora stats: symmetric citation graph without loops or duplicates', async () => {
  const s = datasetStats(await loadDataset('cora'));
  assert.equal(s.selfLoops, 0);
  assert.equal(s.duplicateEdges, 0);
  assert.equal(s.isolatedNodes, 0);
  assert.equal(s.inDegree.withSelfLoops.min, 2);
  assert.equal(s.inDegree.asGiven.max + 1, s.inDegree.withSelfLoops.max);
});
