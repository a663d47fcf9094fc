/**
 * dL/da (gradients.md "Score stage") on WebGPU, summed over all E edges in two passes over chunks
 * of SUM_CHUNK edges (kernels/webgpu/segment-reduce.ts sumAll), against a float64 reference: E
 * within one chunk (pass 2 skipped), an exact number of chunks, and over HEAVY_WG chunks plus a
 * partial one (each pass-2 invocation adds several partials), with and without edge features,
 * with and without subgroups; and bitwise repeatable.
 *
 * Needs a WebGPU adapter (lavapipe will do, see .ci/install-vulkan.sh). Without one the tests
 * skip, except under CI=true, where that is a failure.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { selectBackend } from '../src/backends/index.js';
import { buildLayout, type GraphLayout } from '../src/graph/layout.js';
import { Prng } from '../src/util/prng.js';
import * as K from '../kernels/names.js';
import { runGatKernel } from '../kernels/run-kernel.js';
import type { GatWebGPUBackend } from '../kernels/webgpu/backend.js';
import { takeWebGPUErrors } from '../kernels/webgpu/device.js';
import { SUM_CHUNK } from '../kernels/webgpu/segment-reduce.js';
import { HEAVY_WG } from '../kernels/webgpu/wgsl.js';

const unavailable = await selectBackend('webgpu').then(() => null, (e: Error) => e.message);
if (unavailable !== null && process.env['CI'] === 'true') {
  throw new Error(`CI needs a WebGPU adapter (run .ci/install-vulkan.sh): ${unavailable}`);
}
const skip = unavailable === null ? false : `no WebGPU adapter: ${unavailable}`;
const backend = () => tf.backend() as unknown as GatWebGPUBackend;

const H = 2, C = 5, HC = H * C, SLOPE = 0.2;
const ATTRS = { heads: H, channels: C, negativeSlope: SLOPE };

/** A random graph of exactly E edges (no loops added, so E is what the chunks see). */
function graphOf(N: number, E: number, r: Prng): GraphLayout {
  const src: number[] = [], dst: number[] = [];
  for (let k = 0; k < E; k++) {
    src.push(r.int(N));
    dst.push(r.int(N));
  }
  const L = buildLayout(N, src, dst, { addSelfLoops: false });
  assert.equal(L.numEdges, E);
  return L;
}

function randn(r: Prng, n: number, scale = 1): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = r.range(-scale, scale);
  return a;
}

/** dAtt[col] = sum_k dE[k, h] leaky(z_k[col]) in float64 (z from the float32 inputs, in float32 as the GPU forms it), and sum_k |term| per column. */
function reference(L: GraphLayout, xl: Float32Array, xr: Float32Array, ep: Float32Array | null, dE: Float32Array) {
  const want = new Float64Array(HC), mag = new Float64Array(HC);
  for (let p = 0; p < L.numEdges; p++) {
    const i = L.csrDst[p]!, j = L.csrSrc[p]!;
    for (let col = 0; col < HC; col++) {
      let z = Math.fround(xr[i * HC + col]! + xl[j * HC + col]!);
      if (ep) z = Math.fround(z + ep[p * HC + col]!);
      const term = dE[p * H + Math.floor(col / C)]! * (z > 0 ? z : SLOPE * z);
      want[col] += term;
      mag[col] += Math.abs(term);
    }
  }
  return { want, mag };
}

async function dAttOf(L: GraphLayout, xl: Float32Array, xr: Float32Array, att: Float32Array, ep: Float32Array | null, dE: Float32Array) {
  const N = L.numNodes, E = L.numEdges;
  const int = (a: Int32Array) => tf.tensor1d(a, 'int32');
  const inputs: K.ScoreGradInputs<tf.Tensor> = {
    xl: tf.tensor2d(xl, [N, HC]), xr: tf.tensor2d(xr, [N, HC]), att: tf.tensor1d(att), dE: tf.tensor2d(dE, [E, H]),
    rowPtr: int(L.rowPtr), csrSrc: int(L.csrSrc), csrDst: int(L.csrDst), srcPtr: int(L.srcPtr), srcOrder: int(L.srcOrder),
  };
  if (ep) inputs.edgeProj = tf.tensor2d(ep, [E, HC]);
  const outs = runGatKernel(K.GAT_SCORE_GRAD, inputs, ATTRS);
  assert.deepEqual(outs[2]!.shape, [HC]);
  const got = Float32Array.from(await outs[2]!.data());
  tf.dispose([...outs.filter((t) => t !== undefined), ...Object.values(inputs)]);
  return got;
}

const SIZES = [
  { label: 'E within one chunk', E: SUM_CHUNK - 37 },
  { label: 'E an exact number of chunks', E: 5 * SUM_CHUNK },
  { label: `E over ${HEAVY_WG} chunks plus a partial one`, E: (HEAVY_WG + 44) * SUM_CHUNK + 57 },
];

test('dL/da over chunks of edges matches a float64 reference', { skip }, async () => {
  const b = backend();
  const r = new Prng(11);
  for (const { label, E } of SIZES) {
    const N = Math.max(20, Math.floor(E / 8));
    const L = graphOf(N, E, r);
    const xl = randn(r, N * HC), xr = randn(r, N * HC), att = randn(r, HC), ep = randn(r, E * HC, 0.5);
    const dE = randn(r, E * H);
    for (let k = 0; k < dE.length; k += 7) dE[k] = 0; // the de == 0 skip
    for (const withEp of [false, true]) {
      const { want, mag } = reference(L, xl, xr, withEp ? ep : null, dE);
      for (const subgroups of [true, false]) {
        b.gat.subgroups = subgroups;
        const got = await dAttOf(L, xl, xr, att, withEp ? ep : null, dE);
        for (let col = 0; col < HC; col++) {
          // float32 sums of up to SUM_CHUNK terms, then of the partials: error within a few
          // hundred ulps of sum |term|.
          const err = Math.abs(got[col]! - want[col]!);
          assert.ok(err <= 2e-5 * mag[col]!, `${label}, edgeProj ${withEp}, subgroups ${subgroups}, col ${col}: got ${got[col]}, want ${want[col]} (error ${err}, sum |term| ${mag[col]})`);
        }
      }
    }
  }
  b.gat.subgroups = true;
  assert.deepEqual(takeWebGPUErrors(), []);
});

test('dL/da over chunks of edges is bitwise repeatable', { skip }, async () => {
  const r = new Prng(12);
  const E = SIZES[2]!.E, N = 3000;
  const L = graphOf(N, E, r);
  const xl = randn(r, N * HC), xr = randn(r, N * HC), att = randn(r, HC), dE = randn(r, E * H);
  const a = await dAttOf(L, xl, xr, att, null, dE);
  const c = await dAttOf(L, xl, xr, att, null, dE);
  assert.deepEqual(c, a);
  assert.deepEqual(takeWebGPUErrors(), []);
});
