/**
 * Degenerate datasets: what cannot train is refused (exit 2, one line), what trains but misleads is
 * a warning, and `datasets inspect` reports exactly what `train` does, from the same check.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadDataset } from '../src/store/load.js';
import { checkTrainable } from '../src/data/trainable.js';
import { runCli } from './cli-helpers.js';
import { CLI_TINY } from './train-helpers.js';

const EDGES = 'source,target\nn1,n2\nn2,n3\nn3,n4\nn4,n5\nn5,n6\nn6,n1\n';
const FEATURES = 'node,feature,value\nn1,0,1\nn2,1,1\nn3,0,1\nn4,1,1\nn5,0,1\nn6,1,1\n';

function dataset(nodes: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'gatv2-degenerate-'));
  writeFileSync(join(dir, 'nodes.csv'), 'id,label,split\n' + nodes);
  writeFileSync(join(dir, 'edges.csv'), EDGES);
  writeFileSync(join(dir, 'features.csv'), FEATURES);
  return dir;
}

const nodesFile = (dir: string) => join(dir, 'nodes.csv');

const CASES: { name: string; nodes: string; error?: (dir: string) => string; warning?: (dir: string) => string }[] = [
  {
    name: 'a single class',
    nodes: 'n1,a,train\nn2,a,train\nn3,a,val\nn4,a,val\nn5,a,test\nn6,a,test\n',
    error: (d) => `${nodesFile(d)}: the train nodes have a single class ("a"); a classifier needs at least two, so label train nodes of another class`,
  },
  {
    name: 'no train nodes',
    nodes: 'n1,a,val\nn2,b,val\nn3,a,test\nn4,b,test\nn5,a,unlabeled\nn6,,unlabeled\n',
    error: (d) => `${nodesFile(d)}: no node is in the train split; set the split of some labelled nodes to train, or use --split random:0.6,0.2,0.2`,
  },
  {
    name: 'no val nodes',
    nodes: 'n1,a,train\nn2,b,train\nn3,a,test\nn4,b,test\nn5,a,test\nn6,b,test\n',
    error: (d) =>
      `${nodesFile(d)}: no node is in the val split; early stopping and the best checkpoint are chosen on it, so set the split of some labelled nodes to val, or use --split random:0.6,0.2,0.2`,
  },
  {
    name: 'a class present only in test',
    nodes: 'n1,a,train\nn2,b,train\nn3,a,val\nn4,b,val\nn5,a,test\nn6,c,test\n',
    warning: (d) => `${nodesFile(d)}: class "c" has no train node (only test); the model cannot learn to predict it`,
  },
  {
    name: 'no test nodes',
    nodes: 'n1,a,train\nn2,b,train\nn3,a,val\nn4,b,val\nn5,a,unlabeled\nn6,,unlabeled\n',
    warning: (d) => `${nodesFile(d)}: no node is in the test split; no test accuracy will be reported`,
  },
];

for (const c of CASES) {
  test(`${c.name}: checkTrainable, datasets inspect and train agree`, async () => {
    const dir = dataset(c.nodes);
    const problems = checkTrainable(await loadDataset(dir));
    assert.deepEqual(problems.errors, c.error ? [c.error(dir)] : []);
    assert.deepEqual(problems.warnings, c.warning ? [c.warning(dir)] : []);

    const inspect = await runCli(['datasets', 'inspect', dir]);
    const train = await runCli(['train', '--dataset', dir, ...CLI_TINY, '--epochs', '3', '--out', join(dir, 'run')]);
    if (c.error) {
      const line = `gatv2: ${c.error(dir)}`;
      assert.equal(inspect.code, 2, inspect.err);
      assert.equal(train.code, 2, train.err);
      assert.deepEqual(inspect.err.split('\n').filter((l) => l.startsWith('gatv2:')), [line]);
      assert.deepEqual(train.err.split('\n').filter((l) => l.startsWith('gatv2:')), [line]);
      assert.match(inspect.out, /^splits\s/m, 'inspect still describes the dataset');
    } else {
      const line = `warning: ${c.warning!(dir)}`;
      assert.equal(inspect.code, 0, inspect.err);
      assert.equal(train.code, 0, train.err);
      assert.ok(inspect.err.split('\n').includes(line), inspect.err);
      assert.ok(train.err.split('\n').includes(line), train.err);
      assert.doesNotMatch(train.out, /NaN/);
    }
  });
}

test('no test nodes: the summary says so instead of "test accuracy NaN%", with one seed and several', async () => {
  const dir = dataset(CASES.find((c) => c.name === 'no test nodes')!.nodes);
  const one = await runCli(['train', '--dataset', dir, ...CLI_TINY, '--epochs', '3', '--out', join(dir, 'one')]);
  assert.equal(one.code, 0, one.err);
  assert.match(one.out, /^seed 0: best epoch \d+ \(val \d+\.\d\d%; no test nodes, so no test accuracy\), 3 epochs/m);
  const two = await runCli(['train', '--dataset', dir, ...CLI_TINY, '--epochs', '3', '--seeds', '2', '--out', join(dir, 'two')]);
  assert.equal(two.code, 0, two.err);
  assert.match(two.out, /^over 2 seeds: val accuracy \d+\.\d\d \+- \d+\.\d\d% \(no test nodes\)$/m);
  assert.doesNotMatch(one.out + two.out, /NaN/);
});

test('inspect --json lists the problems it found', async () => {
  const dir = dataset(CASES[0].nodes);
  const r = await runCli(['datasets', 'inspect', dir, '--json']);
  assert.equal(r.code, 2);
  const s = JSON.parse(r.out);
  assert.deepEqual(s.problems, { errors: [CASES[0].error!(dir)], warnings: [] });
});

test('string node ids, isolated nodes and nodes without features train', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gatv2-isolated-'));
  writeFileSync(join(dir, 'nodes.csv'), 'id,label,split\npaper one,a,train\npaper two,b,train\nx,a,val\ny,b,val\nlonely,a,test\nz,b,test\n');
  writeFileSync(join(dir, 'edges.csv'), 'source,target\npaper one,x\nx,paper one\npaper two,y\ny,z\n');
  writeFileSync(join(dir, 'features.csv'), 'node,feature,value\npaper one,0,1\npaper two,1,1\nx,0,1\ny,1,1\nz,1,1\n');
  const inspect = await runCli(['datasets', 'inspect', dir]);
  assert.equal(inspect.code, 0, inspect.err);
  assert.match(inspect.out, /^isolated nodes\s+1 /m);
  const train = await runCli(['train', '--dataset', dir, ...CLI_TINY, '--epochs', '3', '--out', join(dir, 'run')]);
  assert.equal(train.code, 0, train.err);
  assert.match(train.out, /^seed 0: test accuracy \d+\.\d\d% at epoch/m);
});
