import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from './cli-helpers.js';

const run = runCli;

test('gatv2 datasets lists the built-ins with their sizes', async () => {
  const { out } = await run(['datasets']);
  const lines = out.split('\n');
  assert.match(lines[0], /^name\s+nodes\s+edges\s+features\s+classes\s+train\s+val\s+test\s+unlabeled$/);
  assert.match(lines[1], /^cora\s+2708\s+10556\s+1433\s+7\s+140\s+500\s+1000\s+1068$/);
  assert.match(lines[2], /^citeseer\s+3327\s+9104\s+3703\s+6\s+120\s+500\s+1000\s+1707$/);
});

test('gatv2 datasets --json', async () => {
  const { out } = await run(['datasets', '--json']);
  const obj = JSON.parse(out);
  assert.deepEqual(
    obj.datasets.map((d: { name: string; nodes: number; edges: number; features: number; classes: number }) => [
      d.name,
      d.nodes,
      d.edges,
      d.features,
      d.classes,
    ]),
    [
      ['cora', 2708, 10556, 1433, 7],
      ['citeseer', 3327, 9104, 3703, 6],
    ],
  );
  assert.deepEqual(obj.datasets[0].splits, { train: 140, val: 500, test: 1000, unlabeled: 1068 });
});

test('gatv2 datasets inspect NAME prints the graph description', async () => {
  const { out } = await run(['datasets', 'inspect', 'cora']);
  assert.match(out, /^nodes\s+2708$/m);
  assert.match(out, /^edges\s+10556 rows: 0 self loops, 0 duplicates$/m);
  assert.match(out, /^isolated nodes\s+0 /m);
  assert.match(out, /^splits\s+train 140, val 500, test 1000, unlabeled 1068$/m);
  assert.match(out, /^\s+with self loops\s+2\s+4\s+169\s/m);
});

test('gatv2 datasets inspect PATH --json, with the empty-edge warning on stderr', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gatv2-cli-'));
  writeFileSync(join(dir, 'nodes.csv'), 'id,label,split\nu,a,train\nv,b,test\n');
  writeFileSync(join(dir, 'edges.csv'), 'source,target\n');
  writeFileSync(join(dir, 'features.csv'), 'id,f0\nu,1\nv,2\n');
  const { out, err } = await run(['datasets', 'inspect', dir, '--json']);
  const s = JSON.parse(out);
  assert.equal(s.nodes, 2);
  assert.equal(s.edges, 0);
  assert.equal(s.isolatedNodes, 2);
  assert.equal(s.featureKind, 'dense');
  assert.deepEqual(s.inDegree.withSelfLoops, { min: 1, median: 1, max: 1, mean: 1, shareDegreeOne: 1 });
  assert.match(err, /^warning: .*edges\.csv: no edges/m);
});

test('gatv2 datasets inspect on bad input: one line naming file and line, exit 2', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gatv2-cli-'));
  writeFileSync(join(dir, 'nodes.csv'), 'id,label,split\nu,a,training\n');
  writeFileSync(join(dir, 'edges.csv'), 'source,target\n');
  writeFileSync(join(dir, 'features.csv'), 'id,f0\nu,1\n');
  const { code, out, err } = await run(['datasets', 'inspect', dir]);
  assert.equal(code, 2);
  assert.equal(out, '');
  assert.equal(err, `gatv2: ${join(dir, 'nodes.csv')} line 2: split "training" is not one of train, val, test, unlabeled; use one of those\n`);
});
