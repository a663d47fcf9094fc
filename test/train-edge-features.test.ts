/**
 * Edge features from edges.csv's extra columns (PyG's edge_attr): they reach every layer's
 * lin_edge in training, evaluation and prediction, are part of the saved model, and the
 * gradients through the edge projection pass `gatv2 gradcheck --checkpoint` (analytic vs
 * autograd on the network, each layer against the float64 reference).
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadDataset } from '../src/store/load.js';
import { InputError } from '../src/util/errors.js';
import { readManifest } from '../src/run/checkpoint.js';
import { runCli } from './cli-helpers.js';
import { CLI_TINY, tmpDir } from './train-helpers.js';

const CLASSES = 3;
const PER_CLASS = 12;

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

/** Edge column w0 says whether an edge joins two nodes of the same class; w1 is noise. */
function writeDataset(dir: string, edgeHeader = 'source,target,w0,w1'): void {
  const rand = rng(11);
  const n = CLASSES * PER_CLASS;
  const cls = (i: number) => Math.floor(i / PER_CLASS);
  const split = (i: number) => (i % PER_CLASS < 5 ? 'train' : i % PER_CLASS < 8 ? 'val' : 'test');
  const nodes = ['id,label,split', ...Array.from({ length: n }, (_, i) => `v${i},c${cls(i)},${split(i)}`)];
  const edges = [edgeHeader];
  for (let i = 0; i < n; i++) {
    for (let e = 0; e < 4; e++) {
      const j = Math.floor(rand() * n);
      const cols = edgeHeader.split(',').length - 2;
      const w = [cls(i) === cls(j) ? 1 : 0, Number(rand().toFixed(3))].slice(0, cols);
      edges.push([`v${j}`, `v${i}`, ...w].join(','));
    }
  }
  const features = ['id,f0,f1,f2'];
  for (let i = 0; i < n; i++) features.push([`v${i}`, ...[0, 1, 2].map((k) => ((k === cls(i) ? 0.6 : 0) + rand()).toFixed(4))].join(','));
  writeFileSync(join(dir, 'nodes.csv'), nodes.join('\n') + '\n');
  writeFileSync(join(dir, 'edges.csv'), edges.join('\n') + '\n');
  writeFileSync(join(dir, 'features.csv'), features.join('\n') + '\n');
}

test('edges.csv extra columns load as edge features, in edge order', async () => {
  const dir = tmpDir('edgefeat');
  writeDataset(dir);
  const ds = await loadDataset(dir);
  assert.equal(ds.edgeAttr?.dim, 2);
  assert.deepEqual(ds.edgeAttr?.names, ['w0', 'w1']);
  assert.equal(ds.edgeAttr?.values.length, 2 * ds.edgeSource.length);
  const row1 = readFileSync(join(dir, 'edges.csv'), 'utf8').split('\n')[1].split(',');
  assert.deepEqual([...ds.edgeAttr!.values.slice(0, 2)], [Number(row1[2]), Math.fround(Number(row1[3]))]);
});

test('bad edge feature values and headers: one line naming file and line', async () => {
  const dir = tmpDir('edgefeat-bad');
  writeDataset(dir);
  const lines = readFileSync(join(dir, 'edges.csv'), 'utf8').split('\n');
  const bad = (text: string, line: number, fix: RegExp) =>
    assert.rejects(async () => {
      writeFileSync(join(dir, 'edges.csv'), text);
      await loadDataset(dir);
    }, (err: unknown) => {
      assert.ok(err instanceof InputError);
      assert.ok(err.message.startsWith(`${join(dir, 'edges.csv')} line ${line}: `), err.message);
      assert.match(err.message, fix);
      return true;
    });
  const broken = [...lines];
  broken[3] = 'v0,v1,0.5,abc';
  await bad(broken.join('\n'), 4, /edge feature w1 "abc" is not a finite number/);
  broken[3] = 'v0,v1,0.5';
  await bad(broken.join('\n'), 4, /expected 4 fields \(source,target,w0,w1\), found 3/);
  await bad(['source,target,,w1', ...lines.slice(1)].join('\n'), 1, /column 3 of the header has no name/);
  await bad(['src,target,w0,w1', ...lines.slice(1)].join('\n'), 1, /first line must be "source,target"/);
});

test('a model with edge features trains, evaluates, predicts, and passes gradcheck through lin_edge', async () => {
  const data = tmpDir('edgefeat-data');
  writeDataset(data);
  const out = join(tmpDir('edgefeat-run'), 'run');
  const r = await runCli(['train', '--dataset', data, ...CLI_TINY, '--epochs', '15', '--out', out, '--json']);
  assert.equal(r.code, 0, r.err);
  const summary = JSON.parse(r.out.trim().split('\n').pop()!);

  const manifest = readManifest(join(out, 'best'));
  assert.deepEqual(manifest.modelConfig.network.layers.map((l) => l.edgeDim), [2, 2]);
  const names = manifest.weightsManifest[0].weights.map((w) => w.name);
  assert.ok(names.includes('conv1.lin_edge.weight') && names.includes('conv2.lin_edge.weight'), names.join(', '));

  const e = await runCli(['evaluate', '--checkpoint', out, '--json']);
  assert.equal(e.code, 0, e.err);
  assert.equal(JSON.parse(e.out).splits.test.accuracy, summary.runs[0].best.testAcc);

  const p = await runCli(['predict', '--checkpoint', out, '--out', join(out, 'p.csv'), '--attention', join(out, 'a.csv')]);
  assert.equal(p.code, 0, p.err);

  const g = await runCli(['gradcheck', '--checkpoint', out, '--json']);
  assert.equal(g.code, 0, g.out.slice(-3000) + g.err);
  const report = JSON.parse(g.out) as { ok: boolean; reports: { name: string; ok: boolean; rows: { tensor: string }[] }[] };
  assert.ok(report.ok);
  const tensors = report.reports.flatMap((x) => x.rows.map((row) => row.tensor));
  for (const t of ['grad conv1.lin_edge.weight', 'grad conv2.lin_edge.weight', 'grad lin_edge.weight', 'grad edge_attr']) {
    assert.ok(tensors.includes(t), `gradcheck checks ${t}`);
  }

  // The diagnostics' host loops include the edge term of the score: they agree with the tape.
  const d = await runCli(['diagnose', '--checkpoint', out, '--json']);
  assert.equal(d.code, 0, d.err);
  const checks = (JSON.parse(d.out) as { layers: { check: { dxrRelErr: number; oneSideResidual: number } }[] }).layers.map((l) => l.check);
  for (const c of checks) assert.ok(c.dxrRelErr <= 1e-4 && c.oneSideResidual <= 1e-4, JSON.stringify(c));

  // Without the edge columns the model cannot run: exit 2, saying why.
  const plain = tmpDir('edgefeat-plain');
  writeDataset(plain, 'source,target');
  const wrong = await runCli(['evaluate', '--checkpoint', out, '--dataset', plain]);
  assert.equal(wrong.code, 2, wrong.err);
  assert.match(wrong.err, /has no edge features per edge, the model was trained on 2/);
});
