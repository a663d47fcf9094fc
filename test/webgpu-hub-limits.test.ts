/**
 * The hub ("heavy segment") programs at the sizes where 32-bit indexing used to break, scaled
 * down by test-only limits (GatWebGPUBackend.gat.limits) so they run on lavapipe:
 *
 * - With one workgroup per (hub, column), TF.js's flat invocation index (an i32) wrapped once
 *   numHeavy * H * C * 256 passed 2^31, i.e. numHeavy * H * C > 2^23. Here the invocation limit
 *   is 2^31 / 2^11, and the graph has numHeavy * H * C > 2^23 / 2^11: the hub programs (one
 *   workgroup per hub, ids from workgroup_id) still run and agree with kernels/loops.ts, and the
 *   dispatcher refuses a program whose invocations pass the limit, and a hub dispatch past the
 *   workgroup limit, with the program named.
 * - A tensor past maxStorageBufferBindingSize (lowered) is refused, naming the tensor.
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
import * as loops from '../kernels/loops.js';
import { DEFAULT_HEAVY_THRESHOLD, I32_MAX, type GatWebGPUBackend } from '../kernels/webgpu/backend.js';
import { takeWebGPUErrors } from '../kernels/webgpu/device.js';

const unavailable = await selectBackend('webgpu').then(() => null, (e: Error) => e.message);
if (unavailable !== null && process.env['CI'] === 'true') {
  throw new Error(`CI needs a WebGPU adapter (run .ci/install-vulkan.sh): ${unavailable}`);
}
const skip = unavailable === null ? false : `no WebGPU adapter: ${unavailable}`;
const backend = () => tf.backend() as unknown as GatWebGPUBackend;

/** H * C = 80: wider than a hub workgroup's 64 column lanes, so rows are done in two blocks. */
const H = 2, C = 40, HC = H * C, SLOPE = 0.2;
const ATTRS = { heads: H, channels: C, negativeSlope: SLOPE };
/** In-degree above which a segment is a hub, lowered from 256 so that 80 nodes of in-degree 20
 * are hubs. */
const THRESHOLD = 8;
const HUBS = 80;
/** 2^31 scaled down by 2^11; numHeavy * H * C must exceed 2^23 scaled the same way. */
const SCALE = 2 ** 11;
const INVOCATIONS = 2 ** 31 / SCALE;

/** 300 nodes; nodes 0..79 hubs of in-degree 20, node 100 of out-degree 40, 200 random edges. */
function hubGraph(seed: number): GraphLayout {
  const r = new Prng(seed);
  const N = 300, src: number[] = [], dst: number[] = [];
  for (let i = 0; i < HUBS; i++) {
    for (let k = 0; k < 20; k++) {
      src.push(r.int(N));
      dst.push(i);
    }
  }
  for (let k = 0; k < 40; k++) {
    src.push(100);
    dst.push(r.int(N));
  }
  for (let k = 0; k < 200; k++) {
    src.push(r.int(N));
    dst.push(r.int(N));
  }
  return buildLayout(N, src, dst, { addSelfLoops: true });
}

function randn(r: Prng, n: number): Float32Array {
  return Float32Array.from({ length: n }, () => r.range(-1, 1));
}

function assertClose(got: ArrayLike<number>, want: ArrayLike<number>, what: string, tol = 2e-5): void {
  assert.equal(got.length, want.length, `${what}: length`);
  let maxRef = 0, maxDiff = 0;
  for (let i = 0; i < want.length; i++) {
    maxRef = Math.max(maxRef, Math.abs(want[i]!));
    const d = Math.abs(got[i]! - want[i]!);
    if (!(d <= maxDiff)) maxDiff = d; // NaN sticks
  }
  assert.ok(maxDiff / Math.max(maxRef, 1e-30) <= tol, `${what}: max abs diff ${maxDiff}, max ref ${maxRef}`);
}

async function read(t: tf.Tensor | tf.Tensor[]): Promise<Float32Array[]> {
  const ts = Array.isArray(t) ? t : [t];
  const out: Float32Array[] = [];
  for (const x of ts) out.push(Float32Array.from(await x.data()));
  tf.dispose(ts);
  return out;
}

const run = (name: string, inputs: Record<string, tf.Tensor>) =>
  tf.engine().runKernel(name, inputs as tf.NamedTensorMap, ATTRS) as tf.Tensor | tf.Tensor[];

function restore(): void {
  const b = backend();
  b.gat.heavyThreshold = DEFAULT_HEAVY_THRESHOLD;
  b.gat.subgroups = true;
  b.gat.limits.invocations = I32_MAX;
  b.gat.limits.workgroups = I32_MAX;
  b.gat.limits.bindingBytes = b.device.limits.maxStorageBufferBindingSize;
}

test('hub programs past the scaled 2^23 (hub x column) mark run under the scaled invocation limit and match the loops', { skip }, async () => {
  const L = hubGraph(1);
  const N = L.numNodes, E = L.numEdges;
  let numHeavy = 0;
  for (let i = 0; i < N; i++) if (L.rowPtr[i + 1]! - L.rowPtr[i]! > THRESHOLD) numHeavy++;
  assert.ok(numHeavy * HC > 2 ** 23 / SCALE, `only ${numHeavy} hubs x ${HC} columns`);
  const r = new Prng(2);
  const c = { xl: randn(r, N * HC), xr: randn(r, N * HC), att: randn(r, HC), dE: randn(r, E * H), dOut: randn(r, N * HC) };
  const arrays = { rowPtr: L.rowPtr, csrSrc: L.csrSrc, csrDst: L.csrDst };
  const g = {
    rowPtr: tf.tensor1d(L.rowPtr, 'int32'), csrSrc: tf.tensor1d(L.csrSrc, 'int32'), csrDst: tf.tensor1d(L.csrDst, 'int32'),
    srcPtr: tf.tensor1d(L.srcPtr, 'int32'), srcOrder: tf.tensor1d(L.srcOrder, 'int32'),
  };
  const xl = tf.tensor2d(c.xl, [N, HC]), xr = tf.tensor2d(c.xr, [N, HC]), att = tf.tensor1d(c.att);
  const dE = tf.tensor2d(c.dE, [E, H]), dOut = tf.tensor2d(c.dOut, [N, HC]);
  try {
    for (const subgroups of [true, false]) {
      const label = subgroups ? 'subgroups' : 'shared memory';
      const b = backend();
      b.gat.heavyThreshold = THRESHOLD;
      b.gat.subgroups = subgroups;
      b.gat.limits.invocations = INVOCATIONS;

      const wdxl = new Float32Array(N * HC), wdxr = new Float32Array(N * HC), wdAtt = new Float32Array(HC);
      loops.scoreBackward(arrays, c.xl, c.xr, c.att, null, c.dE, H, C, SLOPE, wdxl, wdxr, wdAtt, null);
      const [dxl, dxr, dAtt] = await read(run(K.GAT_SCORE_GRAD, { xl, xr, att, dE, ...g }));
      assertClose(dxl!, wdxl, `${label}: score grad dxl (hubs by source)`);
      assertClose(dxr!, wdxr, `${label}: score grad dxr (hubs by destination)`);
      assertClose(dAtt!, wdAtt, `${label}: score grad dAtt (sumAll over ${E} edges)`);

      const wAlpha = new Float32Array(E * H);
      loops.softmaxForward(L.rowPtr, c.dE, H, wAlpha);
      const [alpha] = await read(run(K.SEGMENT_SOFTMAX, { e: dE, rowPtr: g.rowPtr }));
      assertClose(alpha!, wAlpha, `${label}: softmax`);
      const wMax = new Float32Array(N * H);
      loops.segmentMax(L.rowPtr, c.dE, H, wMax);
      const [m] = await read(run(K.SEGMENT_MAX, { e: dE, rowPtr: g.rowPtr }));
      assertClose(m!, wMax, `${label}: segment max`);

      const alphaT = tf.tensor2d(wAlpha, [E, H]);
      const wOut = new Float32Array(N * HC);
      loops.aggregateForward(arrays, wAlpha, c.xl, H, C, wOut);
      const [out] = await read(run(K.GAT_AGGREGATE, { alpha: alphaT, xl, rowPtr: g.rowPtr, csrSrc: g.csrSrc }));
      assertClose(out!, wOut, `${label}: aggregate`);
      const wdA = new Float32Array(E * H), wdx = new Float32Array(N * HC);
      loops.aggregateBackward(arrays, wAlpha, c.xl, c.dOut, H, C, wdA, wdx);
      const [dA, dx] = await read(run(K.GAT_AGGREGATE_GRAD, { alpha: alphaT, xl, dOut, ...g }));
      assertClose(dA!, wdA, `${label}: aggregate grad dAlpha`);
      assertClose(dx!, wdx, `${label}: aggregate grad dxl`);
      alphaT.dispose();
    }

    // The guard: a program dispatching more invocations than the limit is refused, named.
    backend().gat.limits.invocations = E * H - 1;
    assert.throws(() => run(K.GAT_SCORE, { xl, xr, att, rowPtr: g.rowPtr, csrSrc: g.csrSrc, csrDst: g.csrDst }),
      /program score\w* would dispatch \d+ invocations for a \[\d+, 2\] output, more than its 32-bit invocation index can count/);
    backend().gat.limits.invocations = I32_MAX;
    // And a hub program dispatching more workgroups (hubs) than its limit.
    backend().gat.limits.workgroups = numHeavy - 1;
    assert.throws(() => run(K.SEGMENT_MAX, { e: dE, rowPtr: g.rowPtr }),
      new RegExp(`program seg_segmax_max_heavy would dispatch ${numHeavy} workgroups, more than its workgroup index can count`));
  } finally {
    restore();
    tf.dispose([xl, xr, att, dE, dOut, ...Object.values(g)]);
  }
  assert.deepEqual(takeWebGPUErrors(), []);
});

test('a tensor past maxStorageBufferBindingSize (lowered) is refused with the tensor named', { skip }, async () => {
  const L = hubGraph(3);
  const N = L.numNodes;
  const xl = tf.zeros([N, HC]), xr = tf.zeros([N, HC]), att = tf.zeros([HC]);
  const g = { rowPtr: tf.tensor1d(L.rowPtr, 'int32'), csrSrc: tf.tensor1d(L.csrSrc, 'int32'), csrDst: tf.tensor1d(L.csrDst, 'int32') };
  try {
    // One float short of xl and xr ([300, 80]); the edge scores and the index tensors fit.
    backend().gat.limits.bindingBytes = N * HC * 4 - 4;
    assert.throws(() => run(K.GAT_SCORE, { xl, xr, att, ...g }), (e: Error) => {
      assert.match(e.message, new RegExp(`^a \\[${N}, ${HC}\\] tensor \\(input xl of program score_v4, 0 MiB\\) is larger than this WebGPU adapter binds \\(maxStorageBufferBindingSize 0 MiB\\)`));
      return true;
    });
  } finally {
    restore();
    tf.dispose([xl, xr, att, ...Object.values(g)]);
  }
  assert.deepEqual(takeWebGPUErrors(), []);
});
