/**
 * The SIMD kernels work on tfjs-backend-wasm's heap in place (kernels/wasm/shared-heap.ts): the
 * build's binary has a shared memory, the kernels attach to it, a product copies nothing in or
 * out, a product whose last tile has fewer than 4 rows writes nothing past its output (the
 * tensors around it keep their values), and the results are those of the copying path
 * (GATV2_NO_SHARED_HEAP), bit for bit.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { useBackend } from '../src/backends/index.js';
import * as simd from '../kernels/simd/index.js';
import { mulberry32 } from '../src/util/prng.js';

function wasmMemory(): WebAssembly.Memory | undefined {
  return (tf.backend() as unknown as { wasm?: { asm?: { memory?: WebAssembly.Memory } } }).wasm?.asm?.memory;
}

function values(r: () => number, n: number): Float32Array {
  return Float32Array.from({ length: n }, () => r() * 2 - 1);
}

test('wasm: the heap is shared and a product runs on it in place (no bytes copied)', async (t) => {
  if (!simd.simdEnabled()) {
    t.skip(`SIMD unavailable: ${simd.simdDisabledReason()}`);
    return;
  }
  await useBackend('wasm');
  assert.ok(wasmMemory()?.buffer instanceof SharedArrayBuffer, 'tfjs-backend-wasm did not load the shared-memory binary (npm run build writes it)');
  const r = mulberry32(7);
  const a = tf.tensor2d(values(r, 6 * 40), [6, 40]), b = tf.tensor2d(values(r, 40 * 16), [40, 16]);
  const runs = simd.simdRunCount(), copied = simd.simdCopiedBytes();
  const y = tf.matMul(a, b);
  await y.data();
  assert.ok(simd.hostHeapInUse(), 'the kernels did not attach to the wasm heap');
  assert.ok(simd.simdRunCount() > runs, 'the product did not run in the SIMD module');
  assert.equal(simd.simdCopiedBytes() - copied, 0, 'bytes were copied for a product of tensors on the heap');
  tf.dispose([a, b, y]);
});

test('wasm: a product with a partial last tile writes nothing past its output', async (t) => {
  if (!simd.simdEnabled()) {
    t.skip(`SIMD unavailable: ${simd.simdDisabledReason()}`);
    return;
  }
  await useBackend('wasm');
  const r = mulberry32(11);
  // M = 6 rows (a tile of 4, then one of 2), N = 16: the output is 384 bytes. Guards of that size
  // with every other one freed leave holes the output is likely to take, between two guards.
  const M = 6, K = 33, N = 16;
  const guards = Array.from({ length: 64 }, () => tf.tensor1d(values(r, M * N)));
  const kept = guards.filter((g, i) => (i % 2 === 0 ? true : (g.dispose(), false)));
  const before = kept.map((g) => g.dataSync().slice());
  const a = tf.tensor2d(values(r, M * K), [M, K]), b = tf.tensor2d(values(r, K * N), [K, N]);
  const ys = Array.from({ length: 16 }, () => tf.matMul(a, b));
  const aT = tf.transpose(a);
  const yT = tf.matMul(aT, b, true, false);
  kept.forEach((g, i) => assert.deepEqual(g.dataSync(), before[i], `guard ${i} changed`));
  // And the product is right: every copy equal, the transposed path too, each element its sum.
  const want = ys[0].dataSync();
  for (const y of ys) assert.deepEqual(y.dataSync(), want);
  assert.deepEqual(yT.dataSync(), want);
  const av = a.dataSync(), bv = b.dataSync();
  for (let m = 0; m < M; m++) {
    for (let n = 0; n < N; n++) {
      let s = 0;
      for (let k = 0; k < K; k++) s = Math.fround(s + Math.fround(av[m * K + k] * bv[k * N + n]));
      assert.equal(want[m * N + n], s, `element ${m},${n}`);
    }
  }
  tf.dispose([...kept, a, b, aT, yT, ...ys]);
});

test('wasm: training gives the same bytes on the shared heap as with copies (GATV2_NO_SHARED_HEAP)', () => {
  const backend = new URL('../src/backends/index.js', import.meta.url).href;
  const simdUrl = new URL('../kernels/simd/index.js', import.meta.url).href;
  // A few steps of a 2-layer product chain with fused bias and ELU, reductions and the stage
  // kernels' gradients are covered by train-threads; here the ops the heap change touches most:
  // products (in place, partial tiles), sums and their gradients.
  const script = `Promise.all([import(${JSON.stringify(backend)}), import(${JSON.stringify(simdUrl)})]).then(async ([m, simd]) => {
    await m.useBackend('wasm');
    const tf = await import('@tensorflow/tfjs-core');
    let s = 3;
    const r = () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 4294967296) * 2 - 1;
    const x = tf.tensor2d(Array.from({ length: 301 * 37 }, r), [301, 37]);
    const w1 = tf.variable(tf.tensor2d(Array.from({ length: 37 * 24 }, r), [37, 24]));
    const w2 = tf.variable(tf.tensor2d(Array.from({ length: 24 * 5 }, r), [24, 5]));
    const b1 = tf.variable(tf.tensor1d(Array.from({ length: 24 }, r)));
    const opt = tf.train.adam(0.01);
    for (let i = 0; i < 5; i++) {
      opt.minimize(() => tf.sum(tf.square(tf.matMul(tf.fused.matMul({ a: x, b: w1, bias: b1, activation: 'elu' }), w2))));
    }
    const out = [w1, w2, b1].map((v) => Buffer.from(v.dataSync().buffer).toString('base64'));
    console.log(JSON.stringify({ inPlace: simd.hostHeapInUse(), out }));
  })`;
  const run = (env: Record<string, string>) => {
    const res = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      cwd: new URL('../..', import.meta.url), env: { ...process.env, ...env }, encoding: 'utf8',
    });
    assert.equal(res.status, 0, res.stderr);
    return JSON.parse(res.stdout.trim().split('\n').at(-1)!) as { inPlace: boolean; out: string[] };
  };
  const shared = run({}), copied = run({ GATV2_NO_SHARED_HEAP: '1' });
  if (simd.simdEnabled()) assert.equal(shared.inPlace, true, 'the kernels did not run on the shared heap');
  assert.equal(copied.inPlace, false, 'GATV2_NO_SHARED_HEAP did not keep the stock heap');
  assert.deepEqual(shared.out, copied.out);
});
