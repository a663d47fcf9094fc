/**
 * The safetensors module and the PyG-named export: the file layout (header length, JSON header,
 * 8-byte alignment, names, shapes, dtype, contiguous offsets) read back by an independent parser
 * and checked against the PyG fixtures' own parameter names and shapes; the reader's errors on
 * damaged files; the metadata checks of import.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { useBackend } from '../src/backends/index.js';
import { listFixtureFiles, loadFixture } from '../src/check/fixture.js';
import { InputError } from '../src/util/errors.js';
import { exportCheckpoint, importCheckpoint } from '../src/exchange/pyg-checkpoint.js';
import { readSafetensors, writeSafetensors } from '../src/exchange/safetensors.js';
import { outputWidth, pygParamShapes } from '../src/model/config.js';
import { importPygState } from '../src/model/pyg-params.js';
import { saveCheckpoint, type ModelConfig } from '../src/run/checkpoint.js';
import { tmpDir } from './train-helpers.js';

interface HeaderEntry { dtype: string; shape: number[]; data_offsets: [number, number] }

/** The file parsed by hand, without the module under test. */
function parseByHand(bytes: Uint8Array): { headerLength: number; header: Record<string, unknown>; data: Uint8Array } {
  const n = Number(Buffer.from(bytes.buffer, bytes.byteOffset, 8).readBigUInt64LE(0));
  const header = JSON.parse(Buffer.from(bytes.subarray(8, 8 + n)).toString('utf8')) as Record<string, unknown>;
  return { headerLength: n, header, data: bytes.subarray(8 + n) };
}

test('export: one layer per PyG fixture becomes conv1.<PyG name> tensors in PyG shapes, float32, contiguous, with the model config', async () => {
  await useBackend('cpu');
  for (const file of listFixtureFiles('test/fixtures/pyg-gatv2')) {
    const fx = loadFixture(file);
    const cfg = fx.config;
    const modelConfig: ModelConfig = {
      network: { layers: [cfg], activation: 'elu', inputDropout: 0.6 },
      dataset: 'cora', normalizeFeatures: true, numFeatures: cfg.inChannels,
      classNames: Array.from({ length: outputWidth(cfg) }, (_, k) => `class-${k}`),
    };
    const state: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(fx.params)) state[k] = Array.from(v.data);
    const params = importPygState(state, pygParamShapes(cfg));
    const dir = tmpDir('st-layout');
    const prefixed: Record<string, tf.Tensor> = {};
    for (const [k, t] of Object.entries(params)) prefixed[`conv1.${k}`] = t;
    await saveCheckpoint(dir, { modelConfig, trainedWith: { backend: 'cpu', grad: 'analytic', seed: 0 }, epoch: 3 }, prefixed);
    tf.dispose(Object.values(params));

    const { bytes } = await exportCheckpoint(dir);
    const { headerLength, header, data } = parseByHand(bytes);
    assert.equal((8 + headerLength) % 8, 0, `${file}: data starts 8-byte aligned`);
    const meta = header['__metadata__'] as Record<string, string>;
    assert.deepEqual(JSON.parse(meta['gatv2']), modelConfig, `${file}: model config in __metadata__["gatv2"]`);
    assert.equal(meta['format'], 'pt');
    const names = Object.keys(header).filter((k) => k !== '__metadata__');
    assert.deepEqual(names.sort(), Object.keys(fx.params).map((k) => `conv1.${k}`).sort(), `${file}: PyG's names`);
    const entries = names.map((k) => [k, header[k] as HeaderEntry] as const).sort((a, b) => a[1].data_offsets[0] - b[1].data_offsets[0]);
    let at = 0;
    for (const [name, e] of entries) {
      const p = fx.params[name.slice('conv1.'.length)];
      assert.equal(e.dtype, 'F32', name);
      assert.deepEqual(e.shape, p.shape, `${file} ${name}: PyG's shape`);
      assert.deepEqual(e.data_offsets, [at, at + 4 * p.data.length], `${file} ${name}: contiguous offsets`);
      const values = new Float32Array(data.slice(e.data_offsets[0], e.data_offsets[1]).buffer);
      values.forEach((v, k) => assert.equal(v, Math.fround(p.data[k]), `${file} ${name}[${k}]: PyG's layout, row-major`));
      at = e.data_offsets[1];
    }
    assert.equal(at, data.length, `${file}: no bytes after the last tensor`);
  }
});

test('safetensors: writer and reader round trip; damaged files are InputErrors naming the file and the problem', () => {
  const bytes = writeSafetensors(
    { a: { shape: [2, 3], data: Float32Array.from([1, 2, 3, 4, 5, 6]) }, b: { shape: [1], data: Float32Array.from([-0.5]) } },
    { note: 'x' },
  );
  const f = readSafetensors(bytes, 'm.safetensors');
  assert.deepEqual(f.metadata, { note: 'x' });
  assert.deepEqual(f.tensors['a'].shape, [2, 3]);
  assert.deepEqual(Array.from(new Float32Array(f.tensors['b'].bytes.slice().buffer)), [-0.5]);

  const fails = (b: Uint8Array, re: RegExp) =>
    assert.throws(() => readSafetensors(b, 'm.safetensors'), (e: Error) => e instanceof InputError && /^m\.safetensors: /.test(e.message) && re.test(e.message) && !e.message.includes('\n'));
  fails(bytes.subarray(0, 5), /too short/);
  fails(bytes.subarray(0, 40), /header length says \d+ bytes but only 32 follow: the file is truncated/);
  fails(bytes.subarray(0, bytes.length - 4), /tensor "b" ends at byte 28 of the data, which holds 24: the file is truncated/);
  const withHeader = (h: unknown) => {
    const json = Buffer.from(JSON.stringify(h));
    const out = new Uint8Array(8 + json.length + 8);
    new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
    out.set(json, 8);
    return out;
  };
  fails(withHeader({ a: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }), /tensor "a" spans 8 bytes, but shape \[3\] of F32 needs 12/);
  fails(withHeader({ a: { dtype: 'Q8', shape: [2], data_offsets: [0, 8] } }), /dtype "Q8"/);
  fails(withHeader({ a: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }), /starts at byte 4 of the data, expected 0/);
  fails(withHeader({ a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } }), /cover 4 bytes of data, but 8 follow/);
  fails(withHeader({ __metadata__: { gatv2: 3 } }), /__metadata__\["gatv2"\] must be a string/);
  const notJson = withHeader({});
  notJson[8] = 0x7b + 1;
  fails(notJson, /header is not JSON/);
});

test('import: wrong names, shapes, dtypes and metadata are InputErrors naming the tensor or field', async () => {
  await useBackend('cpu');
  const fx = loadFixture('test/fixtures/pyg-gatv2/heads4-concat.json');
  const cfg = fx.config;
  const mc: ModelConfig = {
    network: { layers: [cfg], activation: 'elu', inputDropout: 0 },
    dataset: 'cora', normalizeFeatures: true, numFeatures: cfg.inChannels,
    classNames: Array.from({ length: outputWidth(cfg) }, (_, k) => `c${k}`),
  };
  const good: Record<string, { shape: number[]; data: Float32Array }> = {};
  for (const [k, v] of Object.entries(fx.params)) good[`conv1.${k}`] = { shape: v.shape, data: Float32Array.from(v.data) };
  const dir = tmpDir('st-import');
  const attempt = async (tensors: typeof good, meta: Record<string, string>, re: RegExp) => {
    const file = join(dir, 'm.safetensors');
    writeFileSync(file, writeSafetensors(tensors, meta));
    await assert.rejects(importCheckpoint(file, join(dir, `out-${Math.random()}`)), (e: Error) => e instanceof InputError && re.test(e.message) && e.message.startsWith(file));
  };
  const meta = { gatv2: JSON.stringify(mc) };
  const { ['conv1.att']: att, ...noAtt } = good;
  await attempt(noAtt, meta, /no tensor "conv1\.att", which the model config's network needs \(shape \[1,4,6\]\)/);
  await attempt({ ...noAtt, 'conv1.attention': att }, meta, /tensor "conv1\.attention" is not a parameter/);
  await attempt({ ...noAtt, 'conv1.att': { shape: [4, 6], data: att.data } }, meta, /tensor "conv1\.att" has shape \[4,6\], the model config needs \[1,4,6\]/);
  await attempt(good, {}, /no __metadata__\["gatv2"\]/);
  await attempt(good, { gatv2: '{"network": ' }, /__metadata__\["gatv2"\] is not JSON/);
  const badHeads = { ...mc, network: { ...mc.network, layers: [{ ...cfg, heads: 0 }] } };
  await attempt(good, { gatv2: JSON.stringify(badHeads) }, /__metadata__\["gatv2"\]\.network\.layers\[0\]\.heads must be a positive integer, got 0/);
  await attempt(good, { gatv2: JSON.stringify({ ...mc, classNames: ['a'] }) }, /outputs 24 values per node but classNames lists 1 classes/);

  // A file written from PyG with only the options it changed: PyG's defaults fill the rest.
  const { inChannels, outChannels, heads } = cfg;
  const sparse = { ...mc, network: { ...mc.network, layers: [{ inChannels, outChannels, heads }] } };
  const file = join(dir, 'pyg.safetensors');
  writeFileSync(file, writeSafetensors(good, { gatv2: JSON.stringify(sparse) }));
  const r = await importCheckpoint(file, join(dir, 'pyg'));
  assert.equal(r.tensors, Object.keys(good).length);
  const manifest = JSON.parse(readFileSync(join(dir, 'pyg', 'model.json'), 'utf8')) as { modelConfig: ModelConfig };
  assert.deepEqual(manifest.modelConfig.network.layers[0], cfg);
  await assert.rejects(importCheckpoint(file, join(dir, 'pyg')), /already holds a checkpoint; choose another --out/);

  // share_weights: PyG's state_dict names lin_l twice (as lin_r too); an exact copy is accepted.
  const sw = loadFixture('test/fixtures/pyg-gatv2/share-weights.json');
  const swMc: ModelConfig = { ...mc, network: { ...mc.network, layers: [sw.config] }, numFeatures: sw.config.inChannels,
    classNames: Array.from({ length: outputWidth(sw.config) }, (_, k) => `c${k}`) };
  const swTensors: typeof good = {};
  for (const [k, v] of Object.entries(sw.params)) swTensors[`conv1.${k}`] = { shape: v.shape, data: Float32Array.from(v.data) };
  const lin = swTensors['conv1.lin_l.weight'];
  const swFile = join(dir, 'sw.safetensors');
  writeFileSync(swFile, writeSafetensors({ ...swTensors, 'conv1.lin_r.weight': { shape: lin.shape, data: lin.data.slice() } }, { gatv2: JSON.stringify(swMc) }));
  await importCheckpoint(swFile, join(dir, 'sw'));
  const changed = lin.data.slice();
  changed[0] += 1;
  await attempt({ ...swTensors, 'conv1.lin_r.weight': { shape: lin.shape, data: changed } }, { gatv2: JSON.stringify(swMc) },
    /tensor "conv1\.lin_r\.weight" differs from conv1\.lin_l\.weight, but layer 1 shares its weights/);
});
