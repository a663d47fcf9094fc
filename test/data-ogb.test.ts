/**
 * OGB node-property directories (raw/*.csv.gz, split/<name>/*.csv.gz, as OGB's downloader leaves
 * them): loading, training on one, and the one-line errors naming file and line.
 */
import assert from 'node:assert/strict';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { loadDataset } from '../src/store/load.js';
import { splitSizes } from '../src/data/dataset.js';
import { InputError } from '../src/util/errors.js';
import { trainSession } from '../src/train/session.js';
import { stopControl } from '../src/train/stop.js';
import { evaluateCheckpoint } from '../src/cli/evaluate.js';
import { runCli } from './cli-helpers.js';
import { CLI_TINY, recorder, tinyConfig, tmpDir } from './train-helpers.js';
import { assertBadDataset } from './data-helpers.js';

const N = 60;
const CLASSES = 3;
const F = 5;

/** Deterministic LCG, so the graph is the same every run. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

interface OgbFiles {
  edge: string;
  nodeFeat: string;
  nodeLabel: string;
  edgeFeat?: string;
  train: string;
  valid: string;
  test: string;
}

/** A graph whose classes are readable from features and neighbourhoods; node i has class i % 3. */
function ogbFiles(): OgbFiles {
  const rand = rng(7);
  const edges: string[] = [];
  const edgeFeat: string[] = [];
  for (let i = 0; i < N; i++) {
    for (let e = 0; e < 3; e++) {
      const j = (i + 3 * (1 + Math.floor(rand() * 10))) % N; // same class
      edges.push(`${j},${i}`);
      edgeFeat.push(`${(rand() - 0.5).toFixed(3)},${(rand() * 2).toFixed(3)}`);
    }
  }
  const feats = Array.from({ length: N }, (_, i) =>
    Array.from({ length: F }, (_, f) => (f === i % CLASSES ? 1 + rand() : rand() * 0.5).toFixed(4)).join(','));
  const labels = Array.from({ length: N }, (_, i) => String(i % CLASSES));
  const idx = (lo: number, hi: number) => Array.from({ length: hi - lo }, (_, k) => String(lo + k)).join('\n') + '\n';
  return {
    edge: edges.join('\n') + '\n', nodeFeat: feats.join('\n') + '\n', nodeLabel: labels.join('\n') + '\n',
    edgeFeat: edgeFeat.join('\n') + '\n', train: idx(0, 30), valid: idx(30, 45), test: idx(45, 60),
  };
}

function writeOgb(files: Partial<OgbFiles> = {}, opts: { withEdgeFeat?: boolean } = {}): string {
  const all = { ...ogbFiles(), ...files };
  const dir = tmpDir('ogb');
  mkdirSync(join(dir, 'raw'));
  mkdirSync(join(dir, 'split', 'time'), { recursive: true });
  const gz = (p: string, text: string | undefined) => text !== undefined && writeFileSync(join(dir, p), gzipSync(text));
  gz('raw/edge.csv.gz', all.edge);
  gz('raw/node-feat.csv.gz', all.nodeFeat);
  gz('raw/node-label.csv.gz', all.nodeLabel);
  if (opts.withEdgeFeat) gz('raw/edge-feat.csv.gz', all.edgeFeat);
  gz('split/time/train.csv.gz', all.train);
  gz('split/time/valid.csv.gz', all.valid);
  gz('split/time/test.csv.gz', all.test);
  return dir;
}

test('an OGB directory loads: nodes, dense features, labels, edges in file order, the split', async () => {
  const dir = writeOgb();
  const ds = await loadDataset(dir);
  assert.equal(ds.nodeIds.length, N);
  assert.deepEqual(ds.nodeIds.slice(0, 3), ['0', '1', '2']);
  assert.deepEqual(ds.classNames, ['0', '1', '2']);
  assert.equal(ds.features.kind, 'dense');
  assert.equal(ds.features.numFeatures, F);
  assert.equal(ds.edgeSource.length, 3 * N);
  const first = ogbFiles().edge.split('\n')[0].split(',').map(Number);
  assert.deepEqual([ds.edgeSource[0], ds.edgeTarget[0]], first);
  assert.deepEqual(splitSizes(ds), { train: 30, val: 15, test: 15, unlabeled: 0 });
  assert.equal(ds.edgeAttr, undefined);
  for (let i = 0; i < N; i++) assert.equal(ds.labels[i], i % CLASSES);
});

test('raw/edge-feat.csv.gz becomes edge features, one row per edge', async () => {
  const ds = await loadDataset(writeOgb({}, { withEdgeFeat: true }));
  assert.equal(ds.edgeAttr?.dim, 2);
  assert.equal(ds.edgeAttr?.values.length, 2 * 3 * N);
  const firstRow = ogbFiles().edgeFeat!.split('\n')[0].split(',').map((v) => Math.fround(Number(v)));
  assert.deepEqual([...ds.edgeAttr!.values.slice(0, 2)], firstRow);
});

test('trains on an OGB directory with --to-undirected and edge features; evaluate reproduces the test accuracy', async () => {
  const dir = writeOgb({}, { withEdgeFeat: true });
  const out = tmpDir('ogb-run');
  const config = tinyConfig({ dataset: dir, epochs: 6, toUndirected: 'add', normalizeFeatures: false });
  const r = await trainSession({ config, out, reporter: recorder(), stop: stopControl({ signals: false }) });
  assert.ok(r.summary);
  const run = r.summary.runs[0];
  assert.ok(Number.isFinite(run.best.testAcc));
  const ev = await evaluateCheckpoint(out, {});
  assert.equal(ev.splits.test?.accuracy, run.best.testAcc);
  assert.equal(ev.splits.test?.nodes, 15);
});

test('bad OGB files: one line naming the file and the line', async () => {
  await assertBadDataset(writeOgb({ edge: '0,1\n1,x\n' }), 'raw/edge.csv.gz', 2, /target "x" is not a node index in 0\.\.59/);
  await assertBadDataset(writeOgb({ edge: '0,1\n1,60\n' }), 'raw/edge.csv.gz', 2, /target "60" is not a node index/);
  await assertBadDataset(writeOgb({ edge: '0,1,2\n' }), 'raw/edge.csv.gz', 1, /expected 2 fields/);
  const feats = ogbFiles().nodeFeat.split('\n');
  feats[3] = '1,2,abc,4,5';
  await assertBadDataset(writeOgb({ nodeFeat: feats.join('\n') }), 'raw/node-feat.csv.gz', 4, /column 3 "abc" is not a finite number/);
  feats[3] = '1,2,3';
  await assertBadDataset(writeOgb({ nodeFeat: feats.join('\n') }), 'raw/node-feat.csv.gz', 4, /expected 5 values \(as on line 1\), found 3/);
  await assertBadDataset(writeOgb({ nodeLabel: '0\n1\n' }), 'raw/node-label.csv.gz', null, /2 rows, but raw\/node-feat has 60 nodes/);
  const labels = ogbFiles().nodeLabel.split('\n');
  labels[4] = '1.5';
  await assertBadDataset(writeOgb({ nodeLabel: labels.join('\n') }), 'raw/node-label.csv.gz', 5, /label "1\.5" is not a class index/);
  labels[4] = '1,2';
  await assertBadDataset(writeOgb({ nodeLabel: labels.join('\n') }), 'raw/node-label.csv.gz', 5, /multi-label/);
  await assertBadDataset(writeOgb({ valid: '30\n31\n5\n' }), 'split/time/valid.csv.gz', 3, /node 5 is already in .*train\.csv\.gz \(line 6\)/);
  await assertBadDataset(writeOgb({ test: '45\n99\n' }), 'split/time/test.csv.gz', 2, /"99" is not a node index in 0\.\.59/);
  await assertBadDataset(writeOgb({ edgeFeat: '1,2\n' }, { withEdgeFeat: true }), 'raw/edge-feat.csv.gz', null, /1 rows, but .*edge\.csv\.gz has 180 edges/);
  const missing = writeOgb();
  rmSync(join(missing, 'raw', 'node-label.csv.gz'));
  await assertBadDataset(missing, 'raw/node-label.csv.gz', null, /file not found; an OGB node-property directory needs/);
  const corrupt = writeOgb();
  writeFileSync(join(corrupt, 'raw', 'node-feat.csv.gz'), 'not gzip');
  await assertBadDataset(corrupt, 'raw/node-feat.csv.gz', null, /not a valid gzip file/);
});

test('a label that is nan is an unlabelled node; one in a split is refused', async () => {
  const labels = ogbFiles().nodeLabel.split('\n');
  labels[50] = 'nan';
  await assertBadDataset(writeOgb({ nodeLabel: labels.join('\n') }), 'split/time/test.csv.gz', 6, /node 50 has no label/);
  const ds = await loadDataset(writeOgb({ nodeLabel: labels.join('\n'), test: '45\n' }));
  assert.equal(ds.labels[50], -1);
});

test('the CLI: an OGB directory without split/ trains with --split random, exit 2 and a hint without it', async () => {
  const dir = writeOgb();
  rmSync(join(dir, 'split'), { recursive: true });
  const bad = await runCli(['train', '--dataset', dir, ...CLI_TINY, '--epochs', '2', '--out', join(tmpDir('ogb-cli'), 'r')]);
  assert.equal(bad.code, 2, bad.err);
  assert.match(bad.err, /no node is in the train split; .* or use --split random:0\.6,0\.2,0\.2/);
  const out = join(tmpDir('ogb-cli'), 'r');
  const ok = await runCli(['train', '--dataset', dir, ...CLI_TINY, '--epochs', '2', '--split', 'random:0.5,0.25,0.25', '--split-seed', '3', '--json', '--out', out]);
  assert.equal(ok.code, 0, ok.err);
  const ev = await runCli(['evaluate', '--checkpoint', out, '--json']);
  assert.equal(ev.code, 0, ev.err);
  const r = JSON.parse(ev.out) as { splits: Record<string, { nodes: number }> };
  // Stratified 0.5/0.25/0.25 of 3 classes x 20 nodes: 10/5/5 per class. evaluate used the saved split.
  assert.deepEqual(Object.fromEntries(Object.entries(r.splits).map(([k, v]) => [k, v.nodes])), { train: 30, val: 15, test: 15 });
});
