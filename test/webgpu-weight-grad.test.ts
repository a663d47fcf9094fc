/**
 * The weight gradient x^T dy on webgpu (kernels/webgpu/weight-grad.ts, names.ts WEIGHT_GRAD), as
 * src/ops/linear.ts runs it for inputs of two row slices or more, against a float64 product:
 * a whole number of slices, slices plus a partial one, shapes that are not multiples of the
 * 64 x 64 tile or of 4 (several tiles each way, partial edge tiles), a single slice, and the
 * empty cases; the kernel really runs (no padding copies) and nothing leaks. And x read through a
 * dropout mask (projectWeightGrads, a block's backward): the same as the product of the dropped-out
 * x that GatV2Dropout makes, without making it.
 *
 * Needs a WebGPU adapter (lavapipe will do, see .ci/install-vulkan.sh). Without one the tests
 * skip, except under CI=true, where that is a failure.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { selectBackend } from '../src/backends/index.js';
import { Prng } from '../src/util/prng.js';
import { WEIGHT_GRAD } from '../kernels/names.js';
import { takeWebGPUErrors } from '../kernels/webgpu/device.js';
import { dropout } from '../src/ops/dropout.js';
import { projectWeightGrad, projectWeightGrads } from '../src/ops/linear.js';
import { runGatKernel } from '../kernels/run-kernel.js';
import { setSplitRows, SPLIT_ROWS } from '../kernels/webgpu/settings.js';

const unavailable = await selectBackend('webgpu').then(() => null, (e: Error) => e.message);
if (unavailable !== null && process.env['CI'] === 'true') {
  throw new Error(`CI needs a WebGPU adapter (run .ci/install-vulkan.sh): ${unavailable}`);
}
const skip = unavailable === null ? false : `no WebGPU adapter: ${unavailable}`;

/** A [rows, cols] tensor of standard normals, with its values. */
function randomMatrix(rng: Prng, rows: number, cols: number): { values: Float32Array; t: tf.Tensor2D } {
  const values = Float32Array.from({ length: rows * cols }, () => rng.normal(0, 1));
  return { values, t: tf.tensor2d(values, [rows, cols]) };
}

/** max |got - x^T dy| / max |x^T dy|, the product in float64. */
function relError(xv: Float32Array, dv: Float32Array, N: number, F: number, K: number, got: Float32Array): number {
  const want = new Float64Array(F * K);
  for (let r = 0; r < N; r++) {
    for (let f = 0; f < F; f++) {
      const a = xv[r * F + f]!;
      for (let k = 0; k < K; k++) want[f * K + k]! += a * dv[r * K + k]!;
    }
  }
  let diff = 0, scale = 0;
  for (let i = 0; i < F * K; i++) {
    diff = Math.max(diff, Math.abs(got[i]! - want[i]!));
    scale = Math.max(scale, Math.abs(want[i]!));
  }
  return diff / Math.max(scale, 1e-30);
}

test('weight gradients on webgpu (row slices, tiles) equal a float64 x^T dy', { skip }, async () => {
  await selectBackend('webgpu');
  const rng = new Prng(9);
  const before = tf.memory().numTensors;
  const cases: Array<{ N: number; F: number; K: number }> = [
    { N: 2 * SPLIT_ROWS, F: 128, K: 64 }, // whole slices, whole tiles
    { N: 2 * SPLIT_ROWS + 1809, F: 70, K: 131 }, // a partial slice; 2 x 3 tiles, partial ones, not multiples of 4
    { N: 3 * SPLIT_ROWS - 1, F: 6, K: 10 }, // smaller than one tile
  ];
  for (const { N, F, K } of cases) {
    const { values: xv, t: x } = randomMatrix(rng, N, F);
    const { values: dv, t: dy } = randomMatrix(rng, N, K);
    const w = tf.zeros([F, K]) as tf.Tensor2D;
    let g: tf.Tensor | undefined;
    const profile = await tf.profile(() => {
      g = projectWeightGrad(x, dy, w);
    });
    const kernels = profile.kernels.map((k) => k.name);
    assert.ok(kernels.includes(WEIGHT_GRAD), `N ${N}: runs ${WEIGHT_GRAD}: ${kernels.join(', ')}`);
    assert.ok(!kernels.includes('PadV2') && !kernels.includes('BatchMatMul'), `N ${N}: no padding, no stock matmul: ${kernels.join(', ')}`);
    assert.deepEqual(g!.shape, [F, K]);
    const err = relError(xv, dv, N, F, K, (await g!.data()) as Float32Array);
    // float32 sums of ~10^4 products, in slices: a few 1e-7 of the largest entry.
    assert.ok(err < 1e-5, `N ${N}, F ${F}, K ${K}: relative error ${err}`);
    tf.dispose([x, dy, w, g!]);
  }
  assert.equal(tf.memory().numTensors, before);
  assert.deepEqual(takeWebGPUErrors(), []);
});

test('the weight-gradient kernel with a single slice, and with nothing to sum', { skip }, async () => {
  await selectBackend('webgpu');
  const rng = new Prng(10);
  const before = tf.memory().numTensors;
  const N = 300, F = 65, K = 3;
  const { values: xv, t: x } = randomMatrix(rng, N, F);
  const { values: dv, t: dy } = randomMatrix(rng, N, K);
  // One slice of exactly N rows, one longer than N, 5 slices (the last partial), 43 slices of 7.
  for (const rowsPerSlice of [N, 1000, 64, 7]) {
    const g = runGatKernel(WEIGHT_GRAD, { x, dy }, { rowsPerSlice });
    assert.deepEqual(g.shape, [F, K]);
    const err = relError(xv, dv, N, F, K, (await g.data()) as Float32Array);
    assert.ok(err < 1e-5, `rowsPerSlice ${rowsPerSlice}: relative error ${err}`);
    g.dispose();
  }
  // No rows: a zero gradient; no columns: an empty one.
  const x0 = tf.zeros([0, 4]), d0 = tf.zeros([0, 5]);
  const g0 = runGatKernel(WEIGHT_GRAD, { x: x0, dy: d0 }, { rowsPerSlice: 16 });
  assert.deepEqual(g0.shape, [4, 5]);
  assert.deepEqual(Array.from(await g0.data()), new Array(20).fill(0));
  const dNone = tf.zeros([N, 0]);
  const gNone = runGatKernel(WEIGHT_GRAD, { x, dy: dNone }, { rowsPerSlice: 16 });
  assert.deepEqual(gNone.shape, [F, 0]);
  assert.throws(() => runGatKernel(WEIGHT_GRAD, { x, dy: x0 }, { rowsPerSlice: 16 }), /same N/);
  tf.dispose([x, dy, x0, d0, g0, dNone, gNone]);
  assert.equal(tf.memory().numTensors, before);
  assert.deepEqual(takeWebGPUErrors(), []);
});

test('weight gradients through a dropout mask equal those of the dropped-out x', { skip }, async () => {
  await selectBackend('webgpu');
  const rng = new Prng(12);
  const before = tf.memory().numTensors;
  const N = 2 * SPLIT_ROWS + 333, F = 70, K = 9, drop = { p: 0.6, seed: 987654321 };
  const { t: x } = randomMatrix(rng, N, F);
  const dys = [K, 2 * K].map((k) => randomMatrix(rng, N, k).t);
  const ws = dys.map((d) => tf.zeros([F, d.shape[1]]) as tf.Tensor2D);
  const terms = dys.map((d, k) => [d, ws[k]!] as [tf.Tensor2D, tf.Tensor2D]);
  let fused: tf.Tensor2D[] = [];
  const profile = await tf.profile(() => {
    fused = projectWeightGrads(x, drop, terms);
  });
  const kernels = profile.kernels.map((k) => k.name);
  assert.deepEqual(kernels.filter((k) => k === WEIGHT_GRAD).length, 2, `one kernel per gradient: ${kernels.join(', ')}`);
  assert.ok(!kernels.includes('GatV2Dropout'), `x is not dropped out as a tensor: ${kernels.join(', ')}`);
  // The reference: the dropped-out x made by GatV2Dropout, its product in float64.
  const xd = dropout(x, drop.p, drop.seed);
  const xdv = (await xd.data()) as Float32Array;
  const dropped = xdv.filter((v) => v === 0).length / xdv.length;
  assert.ok(Math.abs(dropped - drop.p) < 0.02, `the mask drops ${dropped} of x`);
  for (const [k, g] of fused.entries()) {
    const dv = (await dys[k]!.data()) as Float32Array;
    const err = relError(xdv, dv, N, F, dys[k]!.shape[1], (await g.data()) as Float32Array);
    assert.ok(err < 1e-5, `gradient ${k}: relative error ${err} against the dropped-out x`);
  }
  // The split turned off (GATV2_SPLIT_ROWS=0 at start): one slice of all rows, the same numbers.
  setSplitRows(0);
  try {
    const plain = projectWeightGrads(x, drop, terms);
    for (const [k, g] of plain.entries()) {
      const a = (await g.data()) as Float32Array, b = (await fused[k]!.data()) as Float32Array;
      let diff = 0, scale = 0;
      for (let i = 0; i < a.length; i++) {
        diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
        scale = Math.max(scale, Math.abs(a[i]!));
      }
      assert.ok(diff <= 1e-5 * scale, `gradient ${k}: kernel vs stock matmul ${diff / scale}`);
    }
    tf.dispose(plain);
  } finally {
    setSplitRows(SPLIT_ROWS);
  }
  // Without dropout: projectWeightGrad's numbers.
  const undropped = projectWeightGrads(x, null, terms);
  const direct = projectWeightGrad(x, dys[0]!, ws[0]!);
  assert.deepEqual(await undropped[0]!.data(), await direct.data());
  tf.dispose([x, xd, ...dys, ...ws, ...fused, ...undropped, direct]);
  assert.equal(tf.memory().numTensors, before);
  assert.deepEqual(takeWebGPUErrors(), []);
});
