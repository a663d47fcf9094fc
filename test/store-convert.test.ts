/**
 * The streaming converter (store/convert-csv.ts) writes the same store, byte for byte, as loading
 * the CSVs whole and writing them (writeStore), for every layout; bad input is refused with the
 * loader's message and leaves nothing behind.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadDataset, resolveDataset } from '../src/store/load.js';
import { convertCsvToStore } from '../src/store/convert-csv.js';
import { MANIFEST_FILE, type StoreManifest } from '../src/store/format.js';
import { writeStore } from '../src/store/write.js';
import { runCli } from './cli-helpers.js';

function tmp(prefix: string): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Dense features with rows out of node order (node 4's row first), string ids, a duplicate edge, a self loop. */
function writeShuffledDense(dir: string): void {
  writeFileSync(join(dir, 'nodes.csv'), 'id,label,split\nalpha,cat,train\nbéta,dog,val\ngamma,,unlabeled\ndelta,cat,test\neps,dog,train\n');
  writeFileSync(join(dir, 'edges.csv'), 'source,target\nalpha,béta\ngamma,béta\nalpha,béta\ndelta,delta\neps,alpha\nbéta,eps\n');
  writeFileSync(
    join(dir, 'features.csv'),
    'id,width,height,depth\neps,0.1,0.2,0.3\nalpha,1,0.5,-2\nbéta,0,0,0\ndelta,-1,2,0.125\ngamma,3.25,1e-3,7\n',
  );
}

/** Dense features in node order (the file is hashed as it is written). */
function writeOrderedDense(dir: string): void {
  writeFileSync(join(dir, 'nodes.csv'), 'id,label,split\n0,a,train\n1,b,val\n2,a,test\n3,b,train\n');
  writeFileSync(join(dir, 'edges.csv'), 'source,target\n0,1\n1,2\n2,3\n3,0\n3,1\n');
  writeFileSync(join(dir, 'features.csv'), 'id,f0,f1\n0,1,2\n1,-3,4.5\n2,0,0\n3,7,-8\n');
}

function manifestOf(store: string): StoreManifest {
  return JSON.parse(readFileSync(join(store, MANIFEST_FILE), 'utf8')) as StoreManifest;
}

/** Everything but the creation time: the same arrays (names, types, lengths, SHA-256) and metadata. */
function assertSameStore(streamed: string, loaded: string, what: string): void {
  const a = manifestOf(streamed);
  const b = manifestOf(loaded);
  assert.deepEqual({ ...a, createdAt: '' }, { ...b, createdAt: '' }, what);
  for (const entry of Object.values(a.arrays)) {
    assert.deepEqual(readFileSync(join(streamed, entry.file)), readFileSync(join(loaded, entry.file)), `${what}: ${entry.file}`);
  }
}

test('streaming convert writes the same store as load-then-write (dense in and out of order, sparse, float16)', async () => {
  const shuffled = tmp('gatv2-conv-shuf-');
  writeShuffledDense(shuffled);
  const ordered = tmp('gatv2-conv-ord-');
  writeOrderedDense(ordered);
  for (const src of [shuffled, ordered, 'cora']) {
    for (const featuresDtype of ['float32', 'float16'] as const) {
      const root = tmp('gatv2-conv-out-');
      const opts = { featuresDtype, overwrite: false, source: src };
      await convertCsvToStore(resolveDataset(src), join(root, 'streamed'), opts);
      await writeStore(await loadDataset(src), join(root, 'loaded'), opts);
      assertSameStore(join(root, 'streamed'), join(root, 'loaded'), `${src} ${featuresDtype}`);
      // Only the two stores: no spill file or temporary directory is left.
      assert.deepEqual(readdirSync(root).sort(), ['loaded', 'streamed']);
      assert.ok(!readdirSync(join(root, 'streamed')).some((f) => f.includes('spill')));
    }
  }
});

test('streaming convert refuses what the loader refuses, with its message, and leaves nothing behind', async () => {
  const cases: Array<[string, (dir: string) => void, RegExp]> = [
    [
      'unknown target',
      (d) => {
        writeOrderedDense(d);
        writeFileSync(join(d, 'edges.csv'), 'source,target\n0,1\n1,9\n');
      },
      /edges\.csv line 3: target "9" is not a node id in nodes\.csv/,
    ],
    [
      'missing feature row',
      (d) => {
        writeOrderedDense(d);
        writeFileSync(join(d, 'features.csv'), 'id,f0,f1\n0,1,2\n1,-3,4.5\n3,7,-8\n');
      },
      /features\.csv: node "2" \(nodes\.csv line 4\) has no row/,
    ],
    [
      'edge features',
      (d) => {
        writeOrderedDense(d);
        writeFileSync(join(d, 'edges.csv'), 'source,target,weight\n0,1,0.5\n');
      },
      /edges\.csv: has edge features \(weight\); a store does not hold edge features yet/,
    ],
    [
      'float16 overflow',
      (d) => {
        writeOrderedDense(d);
        writeFileSync(join(d, 'features.csv'), 'id,f0,f1\n0,1,2\n1,-3,70000\n2,0,0\n3,7,-8\n');
      },
      /features\.csv: node "1" has the feature value 70000, outside float16's range/,
    ],
  ];
  for (const [what, make, message] of cases) {
    const src = tmp('gatv2-conv-bad-');
    make(src);
    const root = tmp('gatv2-conv-out-');
    const r = await runCli(['convert', src, '--out', join(root, 'store'), '--features-dtype', 'float16']);
    assert.equal(r.code, 2, `${what}: ${r.err}`);
    const last = r.err.trim().split('\n').at(-1)!;
    assert.match(last, message, what);
    assert.deepEqual(readdirSync(root), [], `${what}: no store and no temporary directory`);
  }
});

test('convert of a CSV directory reports each file with rows/s and each array written', async () => {
  const src = tmp('gatv2-conv-cli-');
  writeShuffledDense(src);
  const out = join(tmp('gatv2-conv-out-'), 'store');
  const r = await runCli(['convert', src, '--out', out, '--json']);
  assert.equal(r.code, 0, r.err);
  const res = JSON.parse(r.out) as { nodes: number; edges: number; features: number; bytes: number; rowsPerSecond: number };
  assert.deepEqual([res.nodes, res.edges, res.features], [5, 6, 3]);
  const m = manifestOf(out);
  assert.equal(res.bytes, Object.values(m.arrays).reduce((a, x) => a + x.bytes, 0));
  for (const f of ['nodes.csv', 'edges.csv', 'features.csv']) assert.match(r.err, new RegExp(`read .*${f}: \\d+ `));
  assert.match(r.err, /wrote features\.bin: 0\.0 MB/);
  assert.deepEqual(m.featureNames, ['width', 'height', 'depth']);
});
