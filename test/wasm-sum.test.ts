/**
 * TF.js's Sum on wasm over leading or trailing axes runs the threaded column and row sums of
 * kernels/simd (kernels/wasm/sum.ts): each output is the float32 sum of its terms added one at a
 * time in index order from 0 (what the stock kernel's loop computes), to the bit, on 1, 2 and 3
 * threads; other sums (middle axes, int32) still give TF.js's results.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { useBackend } from '../src/backends/index.js';
import * as simd from '../kernels/simd/index.js';
import { mulberry32 } from '../src/util/prng.js';

const rng = mulberry32;

/** The reference: x [R, C] summed over rows (byRows) or columns, one float32 add at a time. */
function reference(x: Float32Array, R: number, C: number, byRows: boolean): Float32Array {
  const out = new Float32Array(byRows ? C : R);
  for (let r = 0; r < R; r++) {
    for (let c = 0; c < C; c++) {
      const o = byRows ? c : r;
      out[o] = Math.fround(out[o] + x[r * C + c]);
    }
  }
  return out;
}

const CASES: { shape: number[]; axis: number | number[] | undefined; keepDims: boolean; R: number; C: number; byRows: boolean }[] = [
  { shape: [300, 37], axis: 0, keepDims: false, R: 300, C: 37, byRows: true },
  { shape: [2000, 64], axis: 0, keepDims: true, R: 2000, C: 64, byRows: true },
  { shape: [4, 5, 6], axis: [1, 0], keepDims: false, R: 20, C: 6, byRows: true },
  { shape: [300, 37], axis: 1, keepDims: true, R: 300, C: 37, byRows: false },
  { shape: [4, 5, 6], axis: [-1, -2], keepDims: false, R: 4, C: 30, byRows: false },
  { shape: [1001], axis: undefined, keepDims: false, R: 1, C: 1001, byRows: false },
  { shape: [3, 0], axis: 0, keepDims: false, R: 3, C: 0, byRows: true },
  { shape: [0, 3], axis: 0, keepDims: false, R: 0, C: 3, byRows: true },
];

after(() => simd.setThreads(1));

test('wasm Sum over leading or trailing axes: the stock loop order, same bits on 1, 2 and 3 threads', async (t) => {
  if (!simd.simdEnabled()) {
    t.skip(`SIMD unavailable: ${simd.simdDisabledReason()}`);
    return;
  }
  await useBackend('wasm');
  simd.setMinParallelWork(0);
  try {
    let seed = 1;
    for (const c of CASES) {
      const r = rng(seed++);
      const x = Float32Array.from({ length: c.R * c.C }, () => r() * 2 - 1);
      const want = reference(x, c.R, c.C, c.byRows);
      for (const threads of [1, 2, 3]) {
        simd.setThreads(threads);
        await simd.threadsReady();
        const before = simd.simdRunCount();
        const y = tf.tidy(() => tf.sum(tf.tensor(x, c.shape), c.axis, c.keepDims));
        const got = y.dataSync() as Float32Array;
        const what = `sum of [${c.shape}] over ${JSON.stringify(c.axis)} on ${threads} threads`;
        assert.deepEqual(y.shape, tf.tidy(() => tf.sum(tf.zeros(c.shape), c.axis, c.keepDims).shape), what);
        assert.deepEqual(got, want, what);
        if (want.length > 0 && c.R * c.C > 0) assert.ok(simd.simdRunCount() > before, `${what}: the stock kernel ran`);
        y.dispose();
      }
    }
  } finally {
    simd.setMinParallelWork(simd.DEFAULT_MIN_PARALLEL_WORK);
    simd.setThreads(1);
  }
});

test('other wasm sums keep TF.js results (middle axes, int32)', async () => {
  await useBackend('wasm');
  const x = tf.tensor3d([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12], [2, 3, 2]);
  assert.deepEqual(Array.from(tf.sum(x, 1).dataSync()), [9, 12, 27, 30]);
  assert.deepEqual(Array.from(tf.sum(tf.tensor2d([1, 2, 3, 4], [2, 2], 'int32'), 0).dataSync()), [4, 6]);
  x.dispose();
});
