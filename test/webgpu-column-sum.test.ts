/**
 * Sum over axis 0 on WebGPU (kernels/webgpu/column-sum.ts, through sumAll's two passes) against a
 * float64 sum: one chunk of rows, an exact number of chunks, many chunks plus a partial one, rank
 * 3, keepDims and a negative axis; other axes still go to TF.js's stock Sum; nothing leaks.
 *
 * Needs a WebGPU adapter (lavapipe will do, see .ci/install-vulkan.sh). Without one the tests
 * skip, except under CI=true, where that is a failure.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { selectBackend } from '../src/backends/index.js';
import { Prng } from '../src/util/prng.js';
import { takeWebGPUErrors } from '../kernels/webgpu/device.js';
import { SUM_CHUNK } from '../kernels/webgpu/segment-reduce.js';
import { HEAVY_WG } from '../kernels/webgpu/wgsl.js';

const unavailable = await selectBackend('webgpu').then(() => null, (e: Error) => e.message);
if (unavailable !== null && process.env['CI'] === 'true') {
  throw new Error(`CI needs a WebGPU adapter (run .ci/install-vulkan.sh): ${unavailable}`);
}
const skip = unavailable === null ? false : `no WebGPU adapter: ${unavailable}`;

/** max |got - want| / max |want|, want summed in float64 over axis `axis` of a [rows, cols] view. */
function relErrColumnSums(x: Float32Array, rows: number, cols: number, got: Float32Array): number {
  let diff = 0, scale = 0;
  for (let c = 0; c < cols; c++) {
    let s = 0;
    for (let r = 0; r < rows; r++) s += x[r * cols + c]!;
    diff = Math.max(diff, Math.abs(got[c]! - s));
    scale = Math.max(scale, Math.abs(s));
  }
  return diff / Math.max(scale, 1e-30);
}

test('Sum over axis 0 on webgpu matches a float64 column sum', { skip }, async () => {
  await selectBackend('webgpu');
  const rng = new Prng(5);
  const before = tf.memory().numTensors;
  const cases: Array<{ shape: number[]; axis: number | number[]; keepDims: boolean }> = [
    { shape: [37, 11], axis: 0, keepDims: false },
    { shape: [SUM_CHUNK * 4, 8], axis: [0], keepDims: false },
    { shape: [SUM_CHUNK * (HEAVY_WG + 3) + 17, 6], axis: -2, keepDims: true },
    { shape: [300, 3, 4], axis: 0, keepDims: false },
  ];
  for (const c of cases) {
    const n = c.shape.reduce((a, b) => a * b, 1);
    const values = Float32Array.from({ length: n }, () => rng.normal(0, 1));
    const x = tf.tensor(values, c.shape);
    const y = tf.sum(x, c.axis, c.keepDims);
    const rest = c.shape.slice(1);
    assert.deepEqual(y.shape, c.keepDims ? [1, ...rest] : rest, `${c.shape}: shape`);
    const rows = c.shape[0]!, cols = n / rows;
    const err = relErrColumnSums(values, rows, cols, (await y.data()) as Float32Array);
    // float32 sums of up to ~33,000 terms in chunks: a few 1e-7 of the largest sum.
    assert.ok(err < 1e-5, `${c.shape}: relative error ${err}`);
    tf.dispose([x, y]);
  }
  // Another axis: TF.js's own kernel, the right numbers all the same.
  const m = tf.tensor2d([[1, 2, 3], [4, 5, 6]]);
  const s = tf.sum(m, 1);
  assert.deepEqual(Array.from(await s.data()), [6, 15]);
  const all = tf.sum(m);
  assert.deepEqual(Array.from(await all.data()), [21]);
  tf.dispose([m, s, all]);
  assert.equal(tf.memory().numTensors, before);
  assert.deepEqual(takeWebGPUErrors(), []);
});
