/**
 * `gatv2 export` and `gatv2 import` end to end: a trained run exported to safetensors and imported
 * back predicts bit for bit what the run predicts (weights, logits, evaluate, predict's CSV), and
 * damaged or mismatched files stop with one line and exit code 2.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { useBackend } from '../src/backends/index.js';
import { readSafetensors, writeSafetensors } from '../src/exchange/safetensors.js';
import { infer } from '../src/train/inference.js';
import { trainSession } from '../src/train/session.js';
import { stopControl } from '../src/train/stop.js';
import { runCli } from './cli-helpers.js';
import { recorder, tinyConfig, tmpDir } from './train-helpers.js';
import { loadModel } from '../src/run/saved-model.js';

async function logitsOf(dir: string): Promise<{ logits: Float32Array; params: Record<string, Float32Array> }> {
  const m = await loadModel(dir, { strictLabels: true });
  try {
    const params: Record<string, Float32Array> = {};
    for (const [k, t] of Object.entries(m.checkpoint.params)) params[k] = t.dataSync() as Float32Array;
    return { logits: (await infer(m)).logits, params };
  } finally {
    m.dispose();
  }
}

const bytesOf = (a: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

test('export then import gives a checkpoint with the same bits: weights, logits, evaluate and predict', async () => {
  const dir = tmpDir('pyg-exchange');
  const run = join(dir, 'run');
  await trainSession({ config: tinyConfig({ epochs: 6 }), out: run, reporter: recorder(), stop: stopControl({ signals: false }) });
  const file = join(dir, 'model.safetensors');
  const ex = await runCli(['export', '--checkpoint', run, '--out', file]);
  assert.equal(ex.code, 0, ex.err);
  const im = await runCli(['import', file, '--out', join(dir, 'imported')]);
  assert.equal(im.code, 0, im.err);

  await useBackend('cpu');
  const a = await logitsOf(run), b = await logitsOf(join(dir, 'imported'));
  assert.deepEqual(Object.keys(b.params).sort(), Object.keys(a.params).sort());
  for (const k of Object.keys(a.params)) assert.ok(bytesOf(a.params[k]).equals(bytesOf(b.params[k])), `weight ${k}`);
  assert.ok(bytesOf(a.logits).equals(bytesOf(b.logits)), 'logits, bit for bit');

  const evA = await runCli(['evaluate', '--checkpoint', run, '--json']);
  const evB = await runCli(['evaluate', '--checkpoint', join(dir, 'imported'), '--json']);
  assert.equal(evA.code, 0, evA.err);
  assert.equal(evB.code, 0, evB.err);
  const splits = (s: string) => (JSON.parse(s) as { splits: unknown }).splits;
  assert.deepEqual(splits(evB.out), splits(evA.out));
  const pA = await runCli(['predict', '--checkpoint', run, '--out', join(dir, 'a.csv')]);
  const pB = await runCli(['predict', '--checkpoint', join(dir, 'imported'), '--out', join(dir, 'b.csv')]);
  assert.equal(pA.code + pB.code, 0, pA.err + pB.err);
  assert.equal(readFileSync(join(dir, 'b.csv'), 'utf8'), readFileSync(join(dir, 'a.csv'), 'utf8'));

  // The file itself: PyG's names with module prefixes and the run's model config.
  const st = readSafetensors(readFileSync(file), file);
  assert.ok('conv1.lin_l.weight' in st.tensors && 'conv2.att' in st.tensors);
  assert.deepEqual(st.tensors['conv2.att'].shape.slice(0, 2), [1, 1]);
  const manifest = JSON.parse(readFileSync(join(run, 'best', 'model.json'), 'utf8')) as { modelConfig: unknown };
  assert.deepEqual(JSON.parse(st.metadata['gatv2']), manifest.modelConfig);

  // Damaged and mismatched files: one line, exit 2.
  const bytes = readFileSync(file);
  const oneLine = async (argv: string[], re: RegExp) => {
    const r = await runCli(argv);
    assert.equal(r.code, 2, r.err);
    assert.match(r.err, re);
    assert.equal(r.err.trim().split('\n').length, 1, r.err);
  };
  writeFileSync(join(dir, 'cut.safetensors'), bytes.subarray(0, bytes.length - 100));
  await oneLine(['import', join(dir, 'cut.safetensors'), '--out', join(dir, 'x1')], /cut\.safetensors: tensor "[^"]+" ends at byte \d+ of the data, which holds \d+: the file is truncated/);
  const tensors: Record<string, { shape: number[]; data: Float32Array }> = {};
  for (const [k, t] of Object.entries(st.tensors)) tensors[k] = { shape: t.shape, data: new Float32Array(t.bytes.slice().buffer) };
  const w = tensors['conv2.lin_l.weight'];
  writeFileSync(join(dir, 'shape.safetensors'), writeSafetensors({ ...tensors, 'conv2.lin_l.weight': { shape: [w.shape[1], w.shape[0]], data: w.data } }, st.metadata));
  await oneLine(['import', join(dir, 'shape.safetensors'), '--out', join(dir, 'x2')], /tensor "conv2\.lin_l\.weight" has shape \[\d+,7\], the model config needs \[7,\d+\]/);
  await oneLine(['export', '--checkpoint', join(dir, 'nowhere'), '--out', join(dir, 'y.safetensors')], /no such checkpoint directory/);
  await oneLine(['import', join(dir, 'missing.safetensors'), '--out', join(dir, 'x3')], /missing\.safetensors: cannot read/);
});
