import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { InputError } from '../src/util/errors.js';
import { loadDataset } from '../src/store/load.js';
import { assertBadDataset } from './data-helpers.js';

const NODES = 'id,label,split\nn1,a,train\nn2,b,val\nn3,a,test\nn4,,unlabeled\n';
const EDGES = 'source,target\nn1,n2\nn2,n3\nn3,n1\n';
const FEATURES = 'node,feature,value\nn1,0,1\nn2,1,1\nn3,2,0.5\n';

/** A valid small dataset with some files replaced (undefined: left out). */
function writeDataset(overrides: Record<string, string | Buffer | undefined> = {}): string {
  const files: Record<string, string | Buffer | undefined> = {
    'nodes.csv': NODES,
    'edges.csv': EDGES,
    'features.csv': FEATURES,
    ...overrides,
  };
  const dir = mkdtempSync(join(tmpdir(), 'gatv2-bad-'));
  for (const [name, text] of Object.entries(files)) if (text !== undefined) writeFileSync(join(dir, name), text);
  return dir;
}

/**
 * Loading must fail with an InputError whose message is one line and starts with
 * "<dir>/<file> line <line>: " (or "<dir>/<file>: " when no line applies), and contains `fix`.
 */
test('the valid base dataset loads (so each case below fails for its own reason)', async () => {
  const ds = await loadDataset(writeDataset());
  assert.equal(ds.nodeIds.length, 4);
});

test('missing file', async () => {
  await assertBadDataset(writeDataset({ 'edges.csv': undefined }), 'edges.csv', null, /file not found \(nor edges\.csv\.gz\)/);
});

test('missing header', async () => {
  await assertBadDataset(writeDataset({ 'nodes.csv': 'n1,a,train\nn2,b,val\n' }), 'nodes.csv', 1, /first line must be "id,label,split"/);
});

test('wrong header', async () => {
  await assertBadDataset(writeDataset({ 'edges.csv': 'src,dst\nn1,n2\n' }), 'edges.csv', 1, /first line must be "source,target"/);
  await assertBadDataset(writeDataset({ 'features.csv': 'node,feat,val\nn1,0,1\n' }), 'features.csv', 1, /node,feature,value/);
});

test('empty file', async () => {
  await assertBadDataset(writeDataset({ 'nodes.csv': '' }), 'nodes.csv', 1, /file is empty/);
});

test('wrong number of fields in a row', async () => {
  await assertBadDataset(writeDataset({ 'edges.csv': 'source,target\nn1,n2\nn2\n' }), 'edges.csv', 3, /expected 2 fields/);
});

test('non-numeric feature value', async () => {
  await assertBadDataset(
    writeDataset({ 'features.csv': 'node,feature,value\nn1,0,1\nn2,1,abc\n' }),
    'features.csv',
    3,
    /"abc" is not a number/,
  );
  await assertBadDataset(writeDataset({ 'features.csv': 'node,feature,value\nn1,0,\n' }), 'features.csv', 2, /not a number/);
  await assertBadDataset(writeDataset({ 'features.csv': 'id,f0,f1\nn1,1,2\nn2,x,2\n' }), 'features.csv', 3, /f0 "x" is not a number/);
});

test('edge naming an unknown node', async () => {
  const dir = writeDataset({ 'edges.csv': 'source,target\nn1,n2\nn2,n99\n' });
  await assertBadDataset(dir, 'edges.csv', 3, /^.*: target "n99" is not a node id in nodes\.csv; add it there or remove the edge$/);
  await assertBadDataset(writeDataset({ 'edges.csv': 'source,target\nzz,n2\n' }), 'edges.csv', 2, /source "zz" is not a node id/);
});

test('feature naming an unknown node', async () => {
  await assertBadDataset(writeDataset({ 'features.csv': 'node,feature,value\nn1,0,1\nn7,0,1\n' }), 'features.csv', 3, /node "n7" is not a node id/);
  await assertBadDataset(writeDataset({ 'features.csv': 'id,f0\nn1,1\nn7,1\n' }), 'features.csv', 3, /node "n7" is not a node id/);
});

test('duplicate node id', async () => {
  await assertBadDataset(
    writeDataset({ 'nodes.csv': 'id,label,split\nn1,a,train\nn2,b,val\nn1,a,test\n' }),
    'nodes.csv',
    4,
    /node id "n1" is already used on line 2/,
  );
});

test('label missing for a train / val / test node', async () => {
  for (const split of ['train', 'val', 'test']) {
    await assertBadDataset(
      writeDataset({ 'nodes.csv': `id,label,split\nn1,a,train\nn2,,${split}\nn3,a,test\n` }),
      'nodes.csv',
      3,
      new RegExp(`node "n2" is in split ${split} but has no label`),
    );
  }
});

test('split value not one of the four', async () => {
  await assertBadDataset(
    writeDataset({ 'nodes.csv': 'id,label,split\nn1,a,train\nn2,b,validation\n' }),
    'nodes.csv',
    3,
    /split "validation" is not one of train, val, test, unlabeled/,
  );
  await assertBadDataset(writeDataset({ 'nodes.csv': 'id,label,split\nn1,a,constructor\n' }), 'nodes.csv', 2, /split "constructor"/);
});

test('NaN or Inf feature', async () => {
  await assertBadDataset(writeDataset({ 'features.csv': 'node,feature,value\nn1,0,NaN\n' }), 'features.csv', 2, /NaN/);
  await assertBadDataset(writeDataset({ 'features.csv': 'node,feature,value\nn1,0,1\nn2,0,inf\n' }), 'features.csv', 3, /infinite/);
  await assertBadDataset(writeDataset({ 'features.csv': 'node,feature,value\nn1,0,-Infinity\n' }), 'features.csv', 2, /infinite/);
  // Finite in float64, infinite once stored as float32.
  await assertBadDataset(writeDataset({ 'features.csv': 'id,f0\nn1,1\nn2,1e39\n' }), 'features.csv', 3, /too large for float32/);
});

test('empty edge list loads, with a warning', async () => {
  const dir = writeDataset({ 'edges.csv': 'source,target\n' });
  const ds = await loadDataset(dir);
  assert.equal(ds.edgeSource.length, 0);
  assert.equal(ds.warnings.length, 1);
  assert.match(ds.warnings[0], /edges\.csv: no edges; every node will only attend to itself/);
});

test('the same (node, feature) pair twice', async () => {
  await assertBadDataset(
    writeDataset({ 'features.csv': 'node,feature,value\nn1,5,1\nn2,1,1\nn1,5,2\n' }),
    'features.csv',
    4,
    /node "n1" feature "5" is already given on line 2/,
  );
});

test('dense features: duplicate row and missing row', async () => {
  await assertBadDataset(writeDataset({ 'features.csv': 'id,f0\nn1,1\nn1,2\n' }), 'features.csv', 3, /already has a row on line 2/);
  await assertBadDataset(
    writeDataset({ 'features.csv': 'id,f0\nn1,1\nn2,1\nn4,1\n' }),
    'features.csv',
    null,
    /node "n3" \(nodes\.csv line 4\) has no row/,
  );
});

test('line numbers count blank lines and CRLF line ends', async () => {
  await assertBadDataset(
    writeDataset({ 'edges.csv': 'source,target\r\nn1,n2\r\n\r\nn2,n3\r\nn3,bad\r\n' }),
    'edges.csv',
    5,
    /target "bad"/,
  );
});

test('broken CSV quoting', async () => {
  await assertBadDataset(writeDataset({ 'edges.csv': 'source,target\nn1,"n2\n' }), 'edges.csv', 2, /malformed CSV/);
});

test('gzip problems: corrupt file, and both .csv and .csv.gz present', async () => {
  await assertBadDataset(
    writeDataset({ 'edges.csv': undefined, 'edges.csv.gz': Buffer.from('not gzip at all') }),
    'edges.csv.gz',
    null,
    /not a valid gzip file/,
  );
  const both = writeDataset({ 'edges.csv.gz': gzipSync(EDGES) });
  await assert.rejects(loadDataset(both), (err: unknown) => {
    assert.ok(err instanceof InputError);
    assert.match(err.message, /edges\.csv and edges\.csv\.gz both exist/);
    return true;
  });
});

test('bad line numbers inside a .csv.gz file', async () => {
  const dir = writeDataset({ 'edges.csv': undefined, 'edges.csv.gz': gzipSync('source,target\nn1,n2\nn2,n42\n') });
  await assertBadDataset(dir, 'edges.csv.gz', 3, /target "n42"/);
});

test('not a directory, and not a built-in name', async () => {
  const missing = join(tmpdir(), 'gatv2-no-such-dataset-dir');
  await assert.rejects(loadDataset(missing), (err: unknown) => {
    assert.ok(err instanceof InputError);
    assert.match(err.message, /no such directory, and not a built-in dataset \(cora, citeseer\)/);
    return true;
  });
  const dir = writeDataset();
  await assert.rejects(loadDataset(join(dir, 'nodes.csv')), InputError);
});

test('features file with no rows', async () => {
  await assertBadDataset(writeDataset({ 'features.csv': 'node,feature,value\n' }), 'features.csv', null, /no feature rows/);
});

test('sparse feature ids that are not non-negative integers are refused, naming the feature_name header', async () => {
  for (const id of ['2.5', '-3', '1e9', 'red']) {
    await assertBadDataset(
      writeDataset({ 'features.csv': `node,feature,value\nn1,0,1\nn2,${id},1\n` }),
      'features.csv',
      3,
      new RegExp(`^.*: feature "${id.replace('.', '\\.')}" is not an index \\(an integer 0\\.\\.F-1\\); number the features, or give names under the header "node,feature_name,value"$`),
    );
  }
  await assertBadDataset(writeDataset({ 'features.csv': 'node,feature,value\nn1,,1\n' }), 'features.csv', 2, /feature index is empty/);
  await assertBadDataset(writeDataset({ 'features.csv': 'node,feature_name,value\nn1,,1\n' }), 'features.csv', 2, /feature name is empty/);
});

test('a huge feature index is refused on its line, before anything of its size is allocated', async () => {
  await assertBadDataset(
    writeDataset({ 'features.csv': 'node,feature,value\nn1,0,1\nn2,1000000000,1\n' }),
    'features.csv',
    3,
    /feature index 1000000000 is over the limit of 999999 \(at most 1000000 features, F = the largest index \+ 1\)/,
  );
  // The largest index allowed loads.
  const ds = await loadDataset(writeDataset({ 'features.csv': 'node,feature,value\nn1,999999,1\n' }));
  assert.equal(ds.features.numFeatures, 1000000);
});
