/**
 * `gatv2 predict`: the CSVs are streamed to disk in chunks (never one string) with the same bytes
 * as the whole CSV built in one string, the way predict wrote them before; `--json` summarises the
 * files and the accuracy on labelled nodes, equal to `gatv2 evaluate`'s.
 */
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { csvField } from '../src/cli/predict.js';
import type { GraphLayout } from '../src/graph/layout.js';
import { writeTextAtomic } from '../src/util/atomic.js';
import { infer } from '../src/train/inference.js';
import { softmaxRows } from '../src/model/loss.js';
import { trainSession } from '../src/train/session.js';
import { stopControl } from '../src/train/stop.js';
import { runCli } from './cli-helpers.js';
import { recorder, tinyConfig, tmpDir } from './train-helpers.js';
import { loadModel } from '../src/run/saved-model.js';

/** A small graph: 3 classes of 8 nodes, a ring within each class and a few edges across. */
function writeSmallDataset(dir: string): void {
  const nodes = ['id,label,split'];
  const edges = ['source,target'];
  const features = ['node,feature,value'];
  for (let c = 0; c < 3; c++) {
    for (let k = 0; k < 8; k++) {
      const id = c === 0 && k === 0 ? '"node, first"' : `n${c}-${k}`;
      nodes.push(`${id},class${c},${k < 3 ? 'train' : k < 5 ? 'val' : k < 7 ? 'test' : 'unlabeled'}`);
      const next = (k + 1) % 8 === 0 && c === 0 ? '"node, first"' : `n${c}-${(k + 1) % 8}`;
      edges.push(`${id},${next}`, `${next},${id}`);
      if (k === 2) edges.push(`${id},n${(c + 1) % 3}-4`);
      features.push(`${id},${c},1`, `${id},${3 + (k % 2)},0.5`);
    }
  }
  writeFileSync(join(dir, 'nodes.csv'), nodes.join('\n') + '\n');
  writeFileSync(join(dir, 'edges.csv'), edges.join('\n') + '\n');
  writeFileSync(join(dir, 'features.csv'), features.join('\n') + '\n');
}

// The CSVs as predict built them before streaming: whole strings (kept here as the reference).
const num = (x: number) => String(Number(x.toPrecision(7)));
function predictionsCsvString(nodeIds: string[], classNames: string[], logits: Float32Array): string {
  const C = classNames.length;
  const probs = softmaxRows(logits, C);
  const lines = [['id', 'predicted', ...classNames.map((c) => `p_${c}`)].map(csvField).join(',')];
  for (let i = 0; i < nodeIds.length; i++) {
    let best = 0;
    for (let c = 1; c < C; c++) if (probs[i * C + c] > probs[i * C + best]) best = c;
    const p: string[] = [];
    for (let c = 0; c < C; c++) p.push(num(probs[i * C + c]));
    lines.push([csvField(nodeIds[i]), csvField(classNames[best]), ...p].join(','));
  }
  return lines.join('\n') + '\n';
}
function attentionCsvString(nodeIds: string[], layout: GraphLayout, layers: { heads: number; values: Float32Array }[]): string {
  const posOfEdge = new Int32Array(layout.numEdges);
  for (let p = 0; p < layout.numEdges; p++) posOfEdge[layout.csrToEdgeId[p]] = p;
  const ids = nodeIds.map(csvField);
  const lines = ['layer,source,target,head,alpha'];
  layers.forEach(({ heads, values }, l) => {
    for (let k = 0; k < layout.numEdges; k++) {
      const p = posOfEdge[k];
      const prefix = `${l + 1},${ids[layout.csrSrc[p]]},${ids[layout.csrDst[p]]},`;
      for (let h = 0; h < heads; h++) lines.push(`${prefix}${h},${num(values[p * heads + h])}`);
    }
  });
  return lines.join('\n') + '\n';
}

let run = '';

before(async () => {
  const data = tmpDir('small');
  writeSmallDataset(data);
  run = join(tmpDir('predict'), 'run');
  await trainSession({ config: tinyConfig({ dataset: data, epochs: 3 }), out: run, reporter: recorder(), stop: stopControl({ signals: false }) });
});

test('predict writes, streamed, the same bytes as the CSVs built in one string', async () => {
  const out = tmpDir('predout');
  const r = await runCli(['predict', '--checkpoint', run, '--out', join(out, 'p.csv'), '--attention', join(out, 'a.csv')]);
  assert.equal(r.code, 0, r.err);
  assert.deepEqual(readdirSync(out).sort(), ['a.csv', 'p.csv'], 'no temporary file left');

  const m = await loadModel(run, { strictLabels: false });
  try {
    const inf = await infer(m, true);
    const { nodeIds } = m.data.dataset;
    assert.equal(readFileSync(join(out, 'p.csv'), 'utf8'), predictionsCsvString(nodeIds, m.checkpoint.manifest.modelConfig.classNames, inf.logits));
    assert.equal(readFileSync(join(out, 'a.csv'), 'utf8'), attentionCsvString(nodeIds, m.data.layout, inf.attention!));
  } finally {
    m.dispose();
  }
});

test('predict --json: files, rows and the accuracy on labelled nodes, as evaluate reports it', async () => {
  const out = tmpDir('predjson');
  const r = await runCli(['predict', '--checkpoint', run, '--out', join(out, 'p.csv'), '--attention', join(out, 'a.csv'), '--json']);
  assert.equal(r.code, 0, r.err);
  const s = JSON.parse(r.out);
  const csvRows = (f: string) => readFileSync(f, 'utf8').trim().split('\n').length - 1;
  assert.deepEqual(s.predictions, { file: join(out, 'p.csv'), rows: 24 });
  assert.equal(s.predictions.rows, csvRows(join(out, 'p.csv')));
  assert.equal(s.attention.rows, csvRows(join(out, 'a.csv')));
  assert.equal(s.attention.layers, 2);
  // 51 edges as given, one self loop per node (24), in each of 2 layers: 2 heads, then 1.
  assert.equal(s.attention.edges, 51 + 24);
  assert.equal(s.attention.rows, s.attention.edges * (2 + 1));
  const e = await runCli(['evaluate', '--checkpoint', run, '--json']);
  assert.equal(e.code, 0, e.err);
  const ev = JSON.parse(e.out);
  for (const split of ['train', 'val', 'test']) {
    assert.deepEqual(s.accuracy[split], { nodes: ev.splits[split].nodes, accuracy: ev.splits[split].accuracy }, split);
  }
  assert.equal(s.accuracy.unlabeled, undefined);
});

test('writeTextAtomic: chunk boundaries do not change the bytes; a failed rename leaves no temporary file', () => {
  const dir = tmpDir('atomic');
  const pieces = Array.from({ length: 50 }, (_, k) => `row ${k},é,${'x'.repeat(k % 7)}\n`);
  for (const chunk of [1, 7, 64, 1 << 20]) {
    writeTextAtomic(join(dir, `f${chunk}.csv`), pieces, chunk);
    assert.equal(readFileSync(join(dir, `f${chunk}.csv`), 'utf8'), pieces.join(''));
  }
  const target = join(dir, 'target');
  mkdirSync(target);
  assert.throws(() => writeTextAtomic(target, pieces));
  assert.deepEqual(readdirSync(dir).filter((f) => f.includes('.tmp-')), []);
});
