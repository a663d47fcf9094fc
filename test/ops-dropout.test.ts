/**
 * The GatV2Dropout kernel (kernels/dropout-hash.ts): the same bits on cpu, wasm and webgpu for the
 * same seed, a keep rate of 1 - p, survivors scaled by 1 / (1 - p), masks that differ between
 * seeds and do not depend on the shape, and a gradient that is the same mask applied to dy.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { selectBackend, useBackend } from '../src/backends/index.js';
import { dropout } from '../src/ops/dropout.js';
import { dropoutConstants, dropoutLoop, mix32 } from '../kernels/dropout-hash.js';
import { takeWebGPUErrors } from '../kernels/webgpu/device.js';

// Probed before any test is declared (node:test starts tests as they are declared).
const unavailable = await selectBackend('webgpu').then(() => null, (e: Error) => e.message);
if (unavailable !== null && process.env['CI'] === 'true') {
  throw new Error(`CI needs a WebGPU adapter (run .ci/install-vulkan.sh): ${unavailable}`);
}
const skipWebGPU = unavailable === null ? false : `no WebGPU adapter: ${unavailable}`;

const SIZE = 100_003; // not a multiple of any workgroup size
const X = Float32Array.from({ length: SIZE }, (_, i) => 1 + (i % 97) / 10);

/** The mask and values every backend must produce, from the plain loop. */
function expected(p: number, seed: number): Float32Array {
  const out = new Float32Array(SIZE);
  dropoutLoop(X, dropoutConstants(p, seed), out);
  return out;
}

test('mix32 is the lowbias32 finaliser on uint32 (known values)', () => {
  // Computed by hand from the definition: 0 stays 0; 1 and 0xffffffff avalanche.
  assert.equal(mix32(0), 0);
  const a = mix32(1), b = mix32(2), c = mix32(0xffffffff);
  for (const v of [a, b, c]) assert.ok(Number.isInteger(v) && v >= 0 && v < 2 ** 32);
  assert.notEqual(a, b);
  // Flipping one input bit flips about half the output bits.
  let flips = 0;
  for (let i = 0; i < 256; i++) {
    const d = (mix32(i * 7919) ^ mix32((i * 7919) ^ 1)) >>> 0;
    for (let k = 0; k < 32; k++) flips += (d >>> k) & 1;
  }
  const mean = flips / 256;
  assert.ok(mean > 13 && mean < 19, `mean flipped bits ${mean}`);
});

test('the loop keeps 1 - p of the elements, scales them by 1 / (1 - p), and seeds give other masks', () => {
  for (const p of [0.1, 0.5, 0.6, 0.9]) {
    const y = expected(p, 12345);
    const scale = Math.fround(1 / (1 - p));
    let kept = 0;
    for (let i = 0; i < SIZE; i++) {
      if (y[i] !== 0) {
        kept++;
        assert.equal(y[i], Math.fround(X[i]! * scale));
      }
    }
    const rate = kept / SIZE;
    // Binomial standard deviation at this size is below 0.0016: 5 of them.
    assert.ok(Math.abs(rate - (1 - p)) < 0.008, `p ${p}: kept ${rate}`);
  }
  // Two seeds: masks agree about as often as independent ones would (p^2 + (1-p)^2 = 0.5 at p 0.5).
  const a = expected(0.5, 1), b = expected(0.5, 2);
  let same = 0;
  for (let i = 0; i < SIZE; i++) if ((a[i] === 0) === (b[i] === 0)) same++;
  assert.ok(Math.abs(same / SIZE - 0.5) < 0.008, `agreement ${same / SIZE}`);
  // p = 0 keeps everything unchanged.
  assert.deepEqual(expected(0, 9), X);
});

async function checkBackend(name: string): Promise<void> {
  for (const [p, seed] of [[0.6, 7], [0.5, 4294967295], [0.1, 0]] as const) {
    const want = expected(p, seed);
    const before = tf.memory().numTensors;
    // The mask depends on the flat index only: [SIZE] and [1, SIZE] give the same values.
    for (const shape of [[SIZE], [1, SIZE]]) {
      const x = tf.tensor(X, shape);
      const y = dropout(x, p, seed);
      assert.deepEqual(y.shape, shape);
      assert.deepEqual(await y.data(), want, `${name} p ${p} seed ${seed}: values`);
      // The gradient of sum(dropout(x) * w) is the same mask times w, scaled.
      const w = tf.tensor(Float32Array.from({ length: SIZE }, (_, i) => (i % 5) - 2), shape);
      const g = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(dropout(t, p, seed), w)))(x);
      const gv = await g.data(), wv = await w.data();
      for (let i = 0; i < SIZE; i += 97) {
        // w * 0 is -0 where w < 0: the same signed zero on every backend.
        const wantG = Math.fround(wv[i]! * (want[i] === 0 ? 0 : Math.fround(1 / (1 - p))));
        assert.equal(gv[i], wantG, `${name} p ${p}: gradient at ${i}`);
      }
      tf.dispose([x, y, w, g]);
    }
    assert.equal(tf.memory().numTensors, before, `${name}: tensors left behind`);
  }
}

for (const backend of ['cpu', 'wasm'] as const) {
  test(`dropout on ${backend}: the loop's bits, and its gradient`, async () => {
    await useBackend(backend);
    await checkBackend(backend);
  });
}

test('dropout on webgpu: the same bits as the loop, and its gradient', { skip: skipWebGPU }, async () => {
  await selectBackend('webgpu');
  await checkBackend('webgpu');
  assert.deepEqual(takeWebGPUErrors(), []);
});
