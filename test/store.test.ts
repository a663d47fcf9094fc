import { applyNormalization, chooseNormalization, columnStats, type FeatureNormalization } from '../src/data/feature-normalization.js';
import { openStoreTraining } from '../src/train/store-data.js';
import { writeSignedDataset } from './signed-dataset.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, truncateSync, writeFileSync, existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { GraphDataset } from '../src/data/dataset.js';
import { loadDataset } from '../src/store/load.js';
import { buildLayout } from '../src/graph/layout.js';
import { decodeHalf, encodeHalf, fromHalfBits, toHalfBits } from '../src/store/float16.js';
import { MANIFEST_FILE } from '../src/store/format.js';
import { loadStore, StoreReader, verifyStore } from '../src/store/read.js';
import { storeFeatures, gatherRows } from '../src/store/features.js';
import { writeStore } from '../src/store/write.js';
import { runCli } from './cli-helpers.js';

function tmp(prefix: string): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** A small dataset with string ids, string labels, dense features, a duplicate edge and a self loop. */
function writeCsvDataset(): string {
  const dir = tmp('gatv2-store-src-');
  writeFileSync(join(dir, 'nodes.csv'), 'id,label,split\nalpha,cat,train\nbéta,dog,val\ngamma,,unlabeled\ndelta,cat,test\neps,dog,train\n');
  writeFileSync(join(dir, 'edges.csv'), 'source,target\nalpha,béta\ngamma,béta\nalpha,béta\ndelta,delta\neps,alpha\nbéta,eps\n');
  writeFileSync(join(dir, 'features.csv'), 'id,f0,f1,f2\nalpha,1,0.5,-2\nbéta,0,0,0\ngamma,3.25,1e-3,7\ndelta,-1,2,0.125\neps,0.1,0.2,0.3\n');
  return dir;
}

/** The edges as (source, target) pairs sorted by target then file order: CSR order. */
function csrPairs(ds: GraphDataset): Array<[number, number]> {
  const idx = Array.from(ds.edgeTarget.keys());
  idx.sort((a, b) => ds.edgeTarget[a]! - ds.edgeTarget[b]! || a - b);
  return idx.map((k) => [ds.edgeSource[k]!, ds.edgeTarget[k]!]);
}

function assertSameDataset(a: GraphDataset, b: GraphDataset): void {
  assert.deepEqual(b.nodeIds, a.nodeIds);
  assert.deepEqual(b.classNames, a.classNames);
  assert.deepEqual(Array.from(b.labels), Array.from(a.labels));
  assert.deepEqual(Array.from(b.split), Array.from(a.split));
  assert.deepEqual(csrPairs(b), csrPairs(a));
  assert.deepEqual(b.features, a.features);
  assert.deepEqual(b.featureNames, a.featureNames);
  // The same edge layout (what training sees), position by position.
  const la = buildLayout(a.nodeIds.length, a.edgeSource, a.edgeTarget, { addSelfLoops: true });
  const lb = buildLayout(b.nodeIds.length, b.edgeSource, b.edgeTarget, { addSelfLoops: true });
  assert.deepEqual(lb.rowPtr, la.rowPtr);
  assert.deepEqual(lb.csrSrc, la.csrSrc);
}

test('a store of Cora loads equal to the CSV it came from', async () => {
  const out = join(tmp('gatv2-store-'), 'cora.store');
  const csv = await loadDataset('cora');
  await writeStore(csv, out, { featuresDtype: 'float32', overwrite: false, source: 'cora' });
  const stored = await loadDataset(out);
  assert.equal(stored.features.kind, 'sparse');
  assertSameDataset(csv, stored);
  const r = new StoreReader(out, out);
  verifyStore(r);
  assert.equal(r.manifest.arrays.indptr!.dtype, 'int32');
  r.close();
  // Only the store is left: the temporary directory was renamed onto it.
  assert.deepEqual(readdirSync(join(out, '..')), ['cora.store']);
});

test('a store of a dense, string-id dataset round-trips through the CLI; float16 rounds as float16', async () => {
  const src = writeCsvDataset();
  const out = join(tmp('gatv2-store-'), 's');
  const r = await runCli(['convert', src, '--out', out, '--json']);
  assert.equal(r.code, 0, r.err);
  const res = JSON.parse(r.out) as { nodes: number; edges: number; featureKind: string };
  assert.deepEqual([res.nodes, res.edges, res.featureKind], [5, 6, 'dense']);
  assert.match(r.err, /rows\/s/);
  assert.match(r.err, /MB/);
  const csv = await loadDataset(src);
  assertSameDataset(csv, await loadDataset(out));

  const half = join(tmp('gatv2-store-'), 'h');
  const rh = await runCli(['convert', src, '--out', half, '--features-dtype', 'float16']);
  assert.equal(rh.code, 0, rh.err);
  const h = await loadDataset(half);
  const want = decodeHalf(encodeHalf((csv.features as { values: Float32Array }).values));
  assert.deepEqual((h.features as { values: Float32Array }).values, want);
  // Exact in float16: 0.125, 3.25, -2; 1e-3 is not.
  assert.equal(want[2], -2);
  assert.notEqual(want[7], Math.fround(1e-3));
  assert.ok(Math.abs(want[7]! - 1e-3) < 1e-6);

  // An existing store is not replaced without --overwrite.
  const again = await runCli(['convert', src, '--out', out]);
  assert.equal(again.code, 2);
  assert.match(again.err, /already exists.*--overwrite/);
});

test('a truncated store is refused with the file named (exit 2)', async () => {
  const out = join(tmp('gatv2-store-'), 'cora.store');
  await writeStore(await loadDataset('cora'), out, { featuresDtype: 'float32', overwrite: false, source: 'cora' });
  truncateSync(join(out, 'indices.bin'), 1000);
  const r = await runCli(['datasets', 'inspect', out]);
  assert.equal(r.code, 2);
  const lines = r.err.trim().split('\n');
  assert.equal(lines.length, 1);
  assert.match(lines[0]!, /indices\.bin: 1000 bytes, the manifest says 42224: the store is truncated/);
  await assert.rejects(loadDataset(out), /indices\.bin: 1000 bytes/);
});

test('a store without its manifest is not a store', async () => {
  const out = join(tmp('gatv2-store-'), 'cora.store');
  await writeStore(await loadDataset('cora'), out, { featuresDtype: 'float32', overwrite: false, source: 'cora' });
  assert.ok(existsSync(join(out, MANIFEST_FILE)));
  writeFileSync(join(out, MANIFEST_FILE), '{"format":"gatv2-store","version":1');
  await assert.rejects(loadDataset(out), /gatv2-store\.json: not readable JSON/);
});

test('float16 conversion: exact values, rounding to nearest even, subnormals, overflow', () => {
  for (const v of [0, 1, -1, 0.5, 65504, 2 ** -24, 2 ** -14, 1.5, -3.75]) assert.equal(fromHalfBits(toHalfBits(v)), v);
  assert.equal(toHalfBits(1 + 2 ** -11), toHalfBits(1)); // tie -> even
  assert.equal(fromHalfBits(toHalfBits(1 + 3 * 2 ** -11)), 1 + 2 * 2 ** -10); // tie -> even (up)
  assert.equal(fromHalfBits(toHalfBits(70000)), Infinity);
  assert.ok(Number.isNaN(fromHalfBits(toHalfBits(NaN))));
  assert.equal(fromHalfBits(toHalfBits(2 ** -26)), 0);
});

test('feature rows read from a store equal the rows in memory (dense, float16, sparse; repeats, any order)', async () => {
  const src = writeCsvDataset();
  const nodes = Int32Array.from([4, 0, 2, 2, 3, 1, 4]);
  for (const [dataset, dtype] of [[src, 'float32'], [src, 'float16'], ['cora', 'float32']] as const) {
    const ds = await loadDataset(dataset);
    const out = join(tmp('gatv2-store-'), 's');
    await writeStore(ds, out, { featuresDtype: dtype, overwrite: false, source: dataset });
    const reader = new StoreReader(out, out);
    const pick = dataset === 'cora' ? Int32Array.from([2707, 5, 1000, 5, 0, 1, 2, 3, 1500]) : nodes;
    const inMemory = loadStore(out, out).features;
    const { mean, std } = columnStats(inMemory);
    for (const normalization of [{ mode: 'none' }, { mode: 'row' }, { mode: 'standardize', mean, std }] as FeatureNormalization[]) {
      const want = gatherRows(applyNormalization(inMemory, normalization), pick);
      assert.deepEqual(storeFeatures(reader, { normalization }).rows(pick), want, `${dataset} ${dtype} ${normalization.mode}`);
    }
    reader.close();
  }
});

test('training from a store\'s files resolves --normalize-features as the whole matrix in memory does (signed dense: standardise; Cora: row)', async () => {
  const signed = tmp('gatv2-store-signed-');
  writeSignedDataset(signed);
  for (const [src, mode] of [[signed, 'auto'], [signed, 'standardize'], ['cora', 'auto'], ['cora', 'none']] as const) {
    const out = join(tmp('gatv2-store-norm-'), 'store');
    const ds = await loadDataset(src);
    await writeStore(ds, out, { featuresDtype: 'float32', overwrite: false, source: src });
    const want = chooseNormalization(loadStore(out, out).features, mode);
    const opened = openStoreTraining(out, out, { normalizeFeatures: mode });
    try {
      assert.deepEqual(opened.normalization, want, `${src} ${mode}`);
    } finally {
      opened.close();
    }
  }
});
