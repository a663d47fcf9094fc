/**
 * A tensor larger than the adapter's maxStorageBufferBindingSize stops the program that would bind
 * it with an error naming the shape and the limit (kernels/webgpu/backend.ts), before anything is
 * allocated, instead of Dawn's validation error and a program that silently never ran.
 *
 * Needs a WebGPU adapter (lavapipe will do, see .ci/install-vulkan.sh). Without one the test
 * skips, except under CI=true, where that is a failure.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { selectBackend } from '../src/backends/index.js';
import { takeWebGPUErrors } from '../kernels/webgpu/device.js';
import type { GatWebGPUBackend } from '../kernels/webgpu/backend.js';

const unavailable = await selectBackend('webgpu').then(() => null, (e: Error) => e.message);
if (unavailable !== null && process.env['CI'] === 'true') {
  throw new Error(`CI needs a WebGPU adapter (run .ci/install-vulkan.sh): ${unavailable}`);
}
const skip = unavailable === null ? false : `no WebGPU adapter: ${unavailable}`;

test('a program whose output exceeds maxStorageBufferBindingSize fails with the sizes named', { skip }, async () => {
  await selectBackend('webgpu');
  const limit = (tf.backend() as GatWebGPUBackend).device.limits.maxStorageBufferBindingSize;
  const before = tf.memory().numTensors;
  // One float32 element more than the limit holds: refused before any buffer is made.
  const elements = Math.floor(limit / 4) + 1;
  assert.throws(() => tf.fill([elements], 1.5), (e: Error) => {
    assert.match(e.message, new RegExp(`\\[${elements}\\] tensor .*maxStorageBufferBindingSize ${Math.round(limit / 2 ** 20)} MiB`));
    return true;
  });
  // A small one still runs.
  const fits = tf.fill([1024], 2);
  assert.deepEqual(Array.from(await fits.data()).slice(0, 2), [2, 2]);
  fits.dispose();
  assert.equal(tf.memory().numTensors, before);
  assert.deepEqual(takeWebGPUErrors(), []);
});
