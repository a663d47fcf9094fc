import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { splitIndices, splitSizes } from '../src/data/dataset.js';
import { BUILTIN_DATASETS, builtinDir, loadDataset, packageRoot } from '../src/store/load.js';
import { orderClasses } from '../src/data/nodes.js';
import { rowNormalize, toDense } from '../src/data/normalize.js';
import type { DenseFeatures, SparseFeatures } from '../src/data/dataset.js';

/** Writes files into a fresh temporary directory and returns its path. */
function writeDataset(files: Record<string, string | Buffer>): string {
  const dir = mkdtempSync(join(tmpdir(), 'gatv2-data-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

test('built-in names resolve to the package datasets/ directory', () => {
  assert.deepEqual(BUILTIN_DATASETS, ['cora', 'citeseer']);
  assert.equal(builtinDir('cora'), join(packageRoot(), 'datasets', 'cora'));
  assert.ok(JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')).name === 'gatv2');
});

test('Cora loads with the Planetoid sizes', async () => {
  const t0 = performance.now();
  const ds = await loadDataset('cora');
  const ms = performance.now() - t0;
  assert.equal(ds.name, 'cora');
  assert.equal(ds.nodeIds.length, 2708);
  assert.equal(ds.edgeSource.length, 10556);
  assert.equal(ds.edgeTarget.length, 10556);
  assert.equal(ds.features.kind, 'sparse');
  assert.equal(ds.features.numFeatures, 1433);
  assert.equal(ds.features.numNodes, 2708);
  assert.equal(ds.classNames.length, 7);
  // Integer labels keep their value as class index.
  assert.deepEqual(ds.classNames, ['0', '1', '2', '3', '4', '5', '6']);
  assert.equal(ds.labels[0], 3);
  assert.deepEqual(splitSizes(ds), { train: 140, val: 500, test: 1000, unlabeled: 1068 });
  assert.equal(splitIndices(ds, 'train').length, 140);
  assert.equal(splitIndices(ds, 'val').length, 500);
  assert.equal(splitIndices(ds, 'test').length, 1000);
  // Planetoid's public split: train = nodes 0..139, val = 140..639, test = 1708..2707.
  assert.deepEqual(Array.from(splitIndices(ds, 'train')), Array.from({ length: 140 }, (_, i) => i));
  assert.equal(splitIndices(ds, 'test')[0], 1708);
  assert.deepEqual(ds.warnings, []);
  assert.equal(ds.featureNames, undefined);
  // Bag of words: every stored value is 1, CSR columns ascending within a row.
  const f = ds.features as SparseFeatures;
  assert.equal(f.rowPtr[2708], f.colIdx.length);
  assert.ok(f.values.every((v) => v === 1));
  for (let i = 0; i < 2708; i++) {
    for (let p = f.rowPtr[i] + 1; p < f.rowPtr[i + 1]; p++) assert.ok(f.colIdx[p] > f.colIdx[p - 1]);
  }
  // First edge of edges.csv is 0 -> 633.
  assert.equal(ds.edgeSource[0], 0);
  assert.equal(ds.edgeTarget[0], 633);
  console.log(`cora loaded in ${ms.toFixed(0)} ms`);
});

test('CiteSeer loads, with its unlabeled nodes that have no label', async () => {
  const ds = await loadDataset('citeseer');
  assert.equal(ds.nodeIds.length, 3327);
  assert.equal(ds.edgeSource.length, 9104);
  assert.equal(ds.features.numFeatures, 3703);
  assert.equal(ds.classNames.length, 6);
  assert.deepEqual(splitSizes(ds), { train: 120, val: 500, test: 1000, unlabeled: 1707 });
  const unlabeledIdx = splitIndices(ds, 'unlabeled');
  const noLabel = Array.from(unlabeledIdx).filter((i) => ds.labels[i] === -1);
  assert.equal(noLabel.length, 15);
  assert.equal(ds.nodeIds[noLabel[0]], '2407');
  // Every node that is trained or scored on has a label.
  for (let i = 0; i < ds.labels.length; i++) if (ds.split[i] !== 3) assert.ok(ds.labels[i] >= 0);
});

test('a user dataset with string ids, string labels and dense features keeps the mappings', async () => {
  const dir = writeDataset({
    'nodes.csv': 'id,label,split\nalice,cat,train\nbob,dog,val\ncarol,cat,test\ndave,,unlabeled\n',
    'edges.csv': 'source,target\nalice,bob\nbob,carol\ncarol,alice\ndave,dave\n',
    // Rows in another order than nodes.csv: placed by id.
    'features.csv': 'id,f0,f1,f2\nbob,0,1,0\nalice,1,2,3\ndave,0,0,0\ncarol,0.5,0.5,1e-3\n',
  });
  const ds = await loadDataset(dir);
  assert.deepEqual(ds.nodeIds, ['alice', 'bob', 'carol', 'dave']);
  assert.deepEqual(ds.classNames, ['cat', 'dog']);
  assert.deepEqual(Array.from(ds.labels), [0, 1, 0, -1]);
  assert.deepEqual(Array.from(ds.split), [0, 1, 2, 3]);
  assert.deepEqual(Array.from(ds.edgeSource), [0, 1, 2, 3]);
  assert.deepEqual(Array.from(ds.edgeTarget), [1, 2, 0, 3]);
  const f = ds.features as DenseFeatures;
  assert.equal(f.kind, 'dense');
  assert.equal(f.numFeatures, 3);
  assert.deepEqual(Array.from(f.values), Array.from(new Float32Array([1, 2, 3, 0, 1, 0, 0.5, 0.5, 1e-3, 0, 0, 0])));
  assert.equal(ds.featureNames, undefined);
  assert.deepEqual(ds.warnings, []);
});

test('dense headers with real names are kept as featureNames', async () => {
  const dir = writeDataset({
    'nodes.csv': 'id,label,split\na,1,train\nb,2,test\n',
    'edges.csv': 'source,target\na,b\n',
    'features.csv': 'ID,height,weight\na,1,2\nb,3,4\n',
  });
  const ds = await loadDataset(dir);
  assert.deepEqual(ds.featureNames, ['height', 'weight']);
});

test('sparse features under a feature_name header are columns in sorted name order, whatever the row order', async () => {
  const nodes = 'id,label,split\nx,a,train\ny,b,test\n';
  const dir = writeDataset({
    'nodes.csv': nodes,
    'edges.csv': 'source,target\nx,y\n',
    'features.csv': 'node,feature_name,value\ny,red,1\nx,blue,2\nx,red,3\n',
  });
  const ds = await loadDataset(dir);
  assert.deepEqual(ds.featureNames, ['blue', 'red']);
  assert.deepEqual(Array.from(toDense(ds.features).values), [2, 3, 0, 1]);
  const reordered = writeDataset({
    'nodes.csv': nodes,
    'edges.csv': 'source,target\nx,y\n',
    'features.csv': 'node,feature_name,value\nx,red,3\nx,blue,2\ny,red,1\n',
  });
  const again = await loadDataset(reordered);
  assert.deepEqual(again.featureNames, ds.featureNames);
  assert.deepEqual(Array.from(toDense(again.features).values), Array.from(toDense(ds.features).values));
});

test('integer feature ids give F = max + 1 and unsorted triplets end up sorted per row', async () => {
  const dir = writeDataset({
    'nodes.csv': 'id,label,split\n0,0,train\n1,1,test\n2,1,unlabeled\n',
    'edges.csv': 'source,target\n0,1\n',
    'features.csv': 'node,feature,value\n1,4,1\n0,3,0.5\n0,1,0.25\n',
  });
  const ds = await loadDataset(dir);
  const f = ds.features as SparseFeatures;
  assert.equal(f.numFeatures, 5);
  assert.deepEqual(Array.from(f.rowPtr), [0, 2, 3, 3]);
  assert.deepEqual(Array.from(f.colIdx), [1, 3, 4]);
  assert.deepEqual(Array.from(f.values), [0.25, 0.5, 1]);
});

test('a directory of .csv.gz files loads the same as the plain one', async () => {
  const src = builtinDir('cora');
  const dir = writeDataset({
    'nodes.csv.gz': gzipSync(readFileSync(join(src, 'nodes.csv'))),
    'edges.csv.gz': gzipSync(readFileSync(join(src, 'edges.csv'))),
    'features.csv.gz': gzipSync(readFileSync(join(src, 'features.csv'))),
  });
  const [plain, gz] = await Promise.all([loadDataset('cora'), loadDataset(dir)]);
  assert.deepEqual({ ...gz, name: '', dir: '', nodesFile: '' }, { ...plain, name: '', dir: '', nodesFile: '' });
});

test('the built-in name is case-insensitive', async () => {
  const ds = await loadDataset('CiteSeer');
  assert.equal(ds.name, 'citeseer');
});

test('integer labels are ordered numerically, others by first appearance', () => {
  assert.deepEqual(orderClasses(['10', '2', '', '1', '2']), ['1', '2', '10']);
  assert.deepEqual(orderClasses(['b', '', 'a', 'b', '3']), ['b', 'a', '3']);
  assert.deepEqual(orderClasses(['', '']), []);
});

test('rowNormalize divides rows by their sums and leaves zero rows alone', () => {
  const sparse: SparseFeatures = {
    kind: 'sparse',
    numNodes: 3,
    numFeatures: 4,
    rowPtr: Int32Array.from([0, 3, 3, 5]),
    colIdx: Int32Array.from([0, 1, 3, 1, 2]),
    values: Float32Array.from([1, 1, 2, 3, -3]),
  };
  const ns = rowNormalize(sparse);
  assert.equal(ns.kind, 'sparse');
  assert.deepEqual(Array.from(ns.values), [0.25, 0.25, 0.5, 3, -3]);
  assert.deepEqual(Array.from(sparse.values), [1, 1, 2, 3, -3], 'input untouched');
  assert.notEqual(ns.rowPtr, sparse.rowPtr);

  const dense = toDense(sparse);
  assert.deepEqual(Array.from(dense.values), [1, 1, 0, 2, 0, 0, 0, 0, 0, 3, -3, 0]);
  const nd = rowNormalize(dense);
  assert.equal(nd.kind, 'dense');
  assert.deepEqual(Array.from(nd.values), [0.25, 0.25, 0, 0.5, 0, 0, 0, 0, 0, 3, -3, 0]);
  assert.equal(toDense(nd), nd);
});

test('row-normalised Cora rows sum to 1', async () => {
  const ds = await loadDataset('cora');
  const f = rowNormalize(ds.features) as SparseFeatures;
  for (let i = 0; i < f.numNodes; i++) {
    let s = 0;
    for (let p = f.rowPtr[i]; p < f.rowPtr[i + 1]; p++) s += f.values[p];
    assert.ok(Math.abs(s - 1) < 1e-5, `row ${i} sums to ${s}`);
  }
});
