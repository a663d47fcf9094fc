import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { useBackend } from '../src/backends/index.js';
import { loadFixture } from '../src/check/fixture.js';
import { pygParamShapes } from '../src/model/config.js';
import { exportPygState, importPygState } from '../src/model/pyg-params.js';

test('PyG parameters load into TF layouts and save back unchanged (every fixture layout)', async () => {
  await useBackend('cpu');
  for (const file of ['edge-features', 'residual', 'share-weights', 'heads3-mean', 'no-bias']) {
    const fx = loadFixture(`test/fixtures/pyg-gatv2/${file}.json`);
    const shapes = pygParamShapes(fx.config);
    const state: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(fx.params)) state[k] = Array.from(v.data);
    const before = tf.memory().numTensors;
    const params = importPygState(state, shapes);
    // TF layout: linear weights transposed to [in, out], att flattened to [H*C].
    assert.deepEqual(params['lin_l.weight'].shape, [fx.config.inChannels, fx.config.heads * fx.config.outChannels]);
    assert.deepEqual(params['att'].shape, [fx.config.heads * fx.config.outChannels]);
    const back = await exportPygState(params, shapes);
    for (const [k, v] of Object.entries(fx.params)) {
      const flat = (back[k] as unknown[]).flat(Infinity) as number[];
      assert.equal(flat.length, v.data.length, `${file} ${k}`);
      flat.forEach((x, i) => assert.ok(Math.abs(x - v.data[i]) <= 1e-6 * Math.max(1, Math.abs(v.data[i])), `${file} ${k}[${i}]`));
      // Nested exactly as PyG's shape.
      let level: unknown = back[k];
      for (const dim of v.shape) {
        assert.ok(Array.isArray(level) && level.length === dim, `${file} ${k} shape ${v.shape}`);
        level = (level as unknown[])[0];
      }
    }
    tf.dispose(Object.values(params));
    assert.equal(tf.memory().numTensors, before);
  }
});
