/**
 * No tensor leaks: tf.memory().numTensors returns to where it started after a forward + backward
 * of the layer inside tf.tidy, in both modes, on cpu and wasm, with and without edge features
 * (src/model/edge-attr.ts caches 4 index tensors per graph until graphTensors.dispose()), in
 * evaluation and in training (attention dropout); and runLayer leaves nothing behind.
 * (Not covered: a layer that throws inside tf.grads. TF.js then never disposes the tensors the
 * tape saved for the backward pass, whoever the caller is.)
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { useBackend } from '../src/backends/index.js';
import { loadFixture } from '../src/check/fixture.js';
import { relError } from '../src/check/dense.js';
import { runLayer } from '../src/check/layer-run.js';
import { DEFAULT_CONFIG, type GATv2Config } from '../src/model/config.js';
import { buildLayout } from '../src/graph/layout.js';
import { graphTensors, type GradMode } from '../src/ops/graph-tensors.js';
import { initParams, layerForward } from '../src/model/gatv2-layer.js';

const FIXTURES = fileURLToPath(new URL('../../test/fixtures/pyg-gatv2/', import.meta.url));
const BACKENDS = ['cpu', 'wasm'] as const;
const MODES: GradMode[] = ['analytic', 'autograd'];
/** Index tensors src/model/edge-attr.ts caches per graph (keptInput, keptDst, invDegree, csrToEdgeId). */
const EDGE_INDEX_CACHE = 4;

// 7 nodes: duplicates (0->1 twice), an input self loop (2->2), node 6 without in-edges.
const SOURCES = [0, 2, 0, 2, 1, 3, 4, 5, 6, 1];
const TARGETS = [1, 1, 1, 2, 0, 0, 3, 4, 5, 5];
const N = 7;

for (const backend of BACKENDS) {
  for (const withEdges of [false, true]) {
    test(`[${backend}] layer forward+backward in tf.tidy leaks nothing (edge features: ${withEdges})`, async () => {
      await useBackend(backend);
      const start = tf.memory().numTensors;
      const startBytes = tf.memory().numBytes;
      const cfg: GATv2Config = {
        ...DEFAULT_CONFIG, inChannels: 5, outChannels: 3, heads: 4, edgeDim: withEdges ? 2 : null, residual: true, dropout: 0.3,
      };
      const g = graphTensors(buildLayout(N, SOURCES, TARGETS, { addSelfLoops: true }));
      const params = initParams(cfg, 7);
      const names = Object.keys(params);
      const x = tf.randomNormal([N, 5], 0, 1, 'float32', 1) as tf.Tensor2D;
      const ea = withEdges ? (tf.randomNormal([SOURCES.length, 2], 0, 1, 'float32', 2) as tf.Tensor2D) : null;
      const up = tf.randomNormal([N, 12], 0, 1, 'float32', 3);
      const wrt = [...names.map((n) => params[n]!), x, ...(ea ? [ea] : [])];
      const setup = tf.memory().numTensors;
      assert.equal(setup - start, 5 + names.length + 2 + (ea ? 1 : 0), 'graph tensors, params, x, upstream (, edge_attr)');

      for (const mode of MODES) {
        let evalOutput: Float32Array | null = null;
        for (const training of [false, true]) {
          const label = `${backend} ${mode} training=${training} edges=${withEdges}`;
          const [output, ...grads] = tf.tidy(() => {
            let out: tf.Tensor | null = null;
            const gs = tf.grads((...ins: tf.Tensor[]) => {
              const p: Record<string, tf.Tensor> = {};
              names.forEach((n, i) => (p[n] = ins[i]!));
              const r = layerForward(cfg, p, ins[names.length] as tf.Tensor2D, g, {
                mode, training, dropoutSeed: 9, edgeAttr: ea ? (ins[names.length + 1] as tf.Tensor2D) : null,
              });
              out = tf.keep(r.output);
              return tf.sum(tf.mul(r.output, up));
            })(wrt);
            return [out!, ...gs];
          });
          assert.equal(grads.length, wrt.length);
          // Real values came out: finite, and the output bias gradient is the column sum of upstream.
          const outData = (await output!.data()) as Float32Array;
          assert.ok(outData.every(Number.isFinite), `${label}: output finite`);
          if (!training) evalOutput = outData;
          else assert.ok(outData.some((v, k) => Math.abs(v - evalOutput![k]!) > 1e-4), `${label}: attention dropout changed the output`);
          for (const t of grads) assert.ok((await t.data()).every(Number.isFinite), `${label}: gradient finite`);
          const dBias = await grads[names.indexOf('bias')]!.data();
          const colSumT = tf.sum(up, 0);
          const colSum = await colSumT.data();
          colSumT.dispose();
          assert.ok(dBias.every((v, k) => Math.abs(v - colSum[k]!) < 1e-5), `${label}: d bias`);
          const cached = withEdges ? EDGE_INDEX_CACHE : 0;
          assert.equal(tf.memory().numTensors, setup + 1 + grads.length + cached, `${label}: only the results (and the edge index cache) remain`);
          tf.dispose([output!, ...grads]);
          assert.equal(tf.memory().numTensors, setup + cached, `${label}: back to the setup count`);
        }
      }
      g.dispose();
      tf.dispose([...Object.values(params), x, up, ...(ea ? [ea] : [])]);
      assert.equal(tf.memory().numTensors, start, `${backend}: everything disposed`);
      assert.equal(tf.memory().numBytes, startBytes, `${backend}: every byte released`);
    });
  }

  test(`[${backend}] runLayer leaves no tensor behind (with and without edge features, both modes)`, async () => {
    await useBackend(backend);
    for (const file of ['edge-features.json', 'share-weights.json', 'no-self-loops-isolated.json']) {
      const fx = loadFixture(join(FIXTURES, file));
      for (const mode of MODES) {
        const before = tf.memory().numTensors;
        const r = await runLayer(fx, fx.upstream, mode);
        assert.equal(tf.memory().numTensors, before, `${backend} ${file} ${mode}`);
        assert.ok(relError(r.output, fx.output) < 1e-5, `${backend} ${file} ${mode}: output matches PyG`);
        assert.deepEqual(Object.keys(r.grads).sort(), Object.keys(fx.grads).sort());
        for (const [name, g] of Object.entries(fx.grads)) {
          assert.ok(relError(r.grads[name]!, g) < 1e-5, `${backend} ${file} ${mode}: d${name} matches PyG`);
        }
      }
    }
  });
}
