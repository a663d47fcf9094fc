/**
 * The kernel conformance suite: every kernel of kernels/names.ts, on every backend registered here
 * (cpu, wasm, and webgpu when an adapter exists), against its reference in kernels/loops.ts (the
 * dropout against kernels/dropout-hash.ts's loop, the same bits everywhere), on ONE table of cases:
 * graphs with a hub of 300 in-edges (a workgroup of its own on webgpu), isolated nodes and
 * single-edge rows, no edges at all (E = 0), and no nodes (N = 0); head layouts with C not a
 * multiple of 4 and one with (webgpu's vec4 path); the score with and without edgeProj, its
 * gradient with and without dxlAdd. CHECKS is keyed by kernel name, so a kernel added to names.ts
 * without a check here does not compile. Optional kernels (names.ts OPTIONAL_KERNELS) are checked
 * where the backend registered them; a required one missing fails.
 *
 * The measure (as test/simd-kernels.test.ts): |got - want| / M per element, M the sum of the
 * magnitudes of the terms that make it (the reference run on absolute values), since float32
 * rounding error is proportional to M, not to a result that may cancel to near zero.
 *
 * Without a WebGPU adapter the webgpu cases skip with the reason, except under CI=true, where that
 * is a failure (lavapipe will do, see .ci/install-vulkan.sh).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { selectBackend } from '../src/backends/index.js';
import { buildLayout, type GraphLayout } from '../src/graph/layout.js';
import { Prng } from '../src/util/prng.js';
import * as K from '../kernels/names.js';
import * as loops from '../kernels/loops.js';
import { dropoutConstants, dropoutLoop } from '../kernels/dropout-hash.js';
import { hasGatKernel, runGatKernel } from '../kernels/run-kernel.js';
import { missingGatKernels } from '../kernels/register-kernel.js';

/** float32 sums in another order, and WGSL's exp, sqrt and division (not correctly rounded). */
const TOL = 1e-5;
const SLOPE = 0.2;

/** N = 24: node 0 a hub of 300 in-edges; nodes 16..19 isolated; 20..23 with out-edges only. */
function hubGraph(): GraphLayout {
  const r = new Prng(31);
  const src: number[] = [], dst: number[] = [];
  for (let k = 0; k < 300; k++) {
    src.push(r.int(16));
    dst.push(0);
  }
  for (let k = 0; k < 40; k++) {
    src.push(r.int(16));
    dst.push(1 + r.int(15));
  }
  for (let j = 20; j < 24; j++) {
    src.push(j);
    dst.push(1 + (j % 15)); // rows of a single edge among them
  }
  return buildLayout(24, src, dst, { addSelfLoops: false });
}

const GRAPHS: Array<{ name: string; layout: GraphLayout }> = [
  { name: 'hub, isolated nodes', layout: hubGraph() },
  { name: 'E = 0', layout: buildLayout(5, [], [], { addSelfLoops: false }) },
  { name: 'N = 0', layout: buildLayout(0, [], [], { addSelfLoops: false }) },
];
const HEADS: Array<{ H: number; C: number }> = [{ H: 2, C: 3 }, { H: 3, C: 5 }, { H: 1, C: 8 }];

/** The table: every graph with every head layout. */
const CASES = GRAPHS.flatMap((g) => HEADS.map((h) => ({ ...g, ...h })));

/** One case's random data, as arrays (the reference's inputs) and as tensors (the kernels'). */
interface Data {
  L: GraphLayout; N: number; E: number; H: number; C: number; HC: number; F: number;
  a: Record<string, Float32Array>;
  t: Record<string, tf.Tensor>;
  graph: K.CsrInputs<tf.Tensor> & K.BySourceInputs<tf.Tensor>;
}

function makeData(c: (typeof CASES)[number], seed: number): Data {
  const L = c.layout, N = L.numNodes, E = L.numEdges, HC = c.H * c.C, F = N + 2;
  const r = new Prng(seed);
  const rand = (n: number, scale = 1) => Float32Array.from({ length: n }, () => r.range(-scale, scale));
  const dE = rand(E * c.H);
  for (let k = 0; k < dE.length; k += 7) dE[k] = 0; // exact zeros: loops.ts skips those edges
  const a: Record<string, Float32Array> = {
    xl: rand(N * HC), xr: rand(N * HC), att: rand(HC), ep: rand(E * HC, 0.5), dE, dAlpha: rand(E * c.H),
    dOut: rand(N * HC), add: rand(N * HC), values: rand(E), w: rand(F * HC), dy: rand(N * HC),
    m: rand(N * HC, 0.1), v: rand(N * HC, 0.01).map(Math.abs), grad: rand(N * HC), dyW: rand(N * (c.H + 1)),
  };
  const alpha = new Float32Array(E * c.H);
  loops.softmaxForward(L.rowPtr, rand(E * c.H, 3), c.H, alpha);
  a['alpha'] = alpha;
  const shapes: Record<string, number[]> = {
    xl: [N, HC], xr: [N, HC], att: [HC], ep: [E, HC], dE: [E, c.H], dAlpha: [E, c.H], dOut: [N, HC], add: [N, HC],
    values: [E], w: [F, HC], dy: [N, HC], m: [N, HC], v: [N, HC], grad: [N, HC], dyW: [N, c.H + 1], alpha: [E, c.H],
  };
  const t: Record<string, tf.Tensor> = {};
  for (const [k, v] of Object.entries(a)) t[k] = tf.tensor(v, shapes[k]);
  const int = (x: Int32Array) => tf.tensor1d(x, 'int32');
  const graph = { rowPtr: int(L.rowPtr), csrSrc: int(L.csrSrc), csrDst: int(L.csrDst), srcPtr: int(L.srcPtr), srcOrder: int(L.srcOrder) };
  return { L, N, E, H: c.H, C: c.C, HC, F, a, t, graph };
}

const abs = (x: Float32Array) => x.map(Math.abs);
const zeros = (n: number) => new Float32Array(n);

/** Worst |got - want| / mag; NaNs must match; where mag is 0 the two must be equal. */
function relDiff(got: Float32Array, want: Float32Array, mag: Float32Array): number {
  let worst = 0;
  for (let i = 0; i < want.length; i++) {
    if (Number.isNaN(got[i]!) || Number.isNaN(want[i]!)) {
      assert.ok(Number.isNaN(got[i]!) && Number.isNaN(want[i]!), `NaN at ${i}: ${got[i]} vs ${want[i]}`);
      continue;
    }
    const d = Math.abs(got[i]! - want[i]!);
    if (d !== 0) worst = Math.max(worst, mag[i]! > 0 ? d / mag[i]! : Infinity);
  }
  return worst;
}

/** Reads `got` (and disposes it), then compares it with `want` in shape and values. */
async function expectClose(what: string, got: tf.Tensor | undefined, shape: number[], want: Float32Array, mag: Float32Array): Promise<void> {
  assert.ok(got, `${what}: no output`);
  assert.deepEqual(got.shape, shape, `${what}: shape`);
  const values = Float32Array.from(await got.data());
  got.dispose();
  assert.equal(values.length, want.length, `${what}: length`);
  const d = relDiff(values, want, mag);
  assert.ok(d <= TOL, `${what}: relative difference ${d.toExponential(2)} > ${TOL}`);
}

/** Bit-for-bit (what names.ts promises the same on every backend). */
async function expectEqual(what: string, got: tf.Tensor, shape: number[], want: Float32Array): Promise<void> {
  assert.deepEqual(got.shape, shape, `${what}: shape`);
  const values = Float32Array.from(await got.data());
  got.dispose();
  assert.deepEqual(values, want, `${what}: values`);
}

type Check = (d: Data) => Promise<void>;

/** The score and its gradient, with and without edgeProj; the gradient with and without dxlAdd. */
const scoreChecks: Check[] = [false, true].map((withEp) => async (d) => {
  const { a, t, L, E, H, C } = d;
  const ep = withEp ? a['ep']! : null;
  const want = zeros(E * H), mag = zeros(E * H);
  loops.scoreForward(L, a['xl']!, a['xr']!, a['att']!, ep, H, C, SLOPE, want);
  loops.scoreForward(L, abs(a['xl']!), abs(a['xr']!), abs(a['att']!), ep && abs(ep), H, C, SLOPE, mag);
  const inputs = { xl: t['xl']!, xr: t['xr']!, att: t['att']!, ...d.graph, edgeProj: withEp ? t['ep'] : undefined };
  await expectClose(`score (edgeProj ${withEp})`, runGatKernel(K.GAT_SCORE, inputs, { heads: H, channels: C, negativeSlope: SLOPE }), [E, H], want, mag);
});

const scoreGradChecks: Check[] = [[false, false], [false, true], [true, false], [true, true]].map(([withEp, withAdd]) => async (d) => {
  const { a, t, L, N, E, H, C, HC } = d;
  const ep = withEp ? a['ep']! : null;
  const want = [zeros(N * HC), zeros(N * HC), zeros(HC), zeros(E * HC)];
  const mag = [zeros(N * HC), zeros(N * HC), zeros(HC), zeros(E * HC)];
  loops.scoreBackward(L, a['xl']!, a['xr']!, a['att']!, ep, a['dE']!, H, C, SLOPE, want[0]!, want[1]!, want[2]!, ep && want[3]!);
  loops.scoreBackward(L, abs(a['xl']!), abs(a['xr']!), abs(a['att']!), ep && abs(ep), abs(a['dE']!), H, C, SLOPE, mag[0]!, mag[1]!, mag[2]!, ep && mag[3]!);
  if (withAdd) {
    // names.ts: dxlAdd is added once dxl's own sum is done.
    for (let k = 0; k < N * HC; k++) {
      want[0]![k]! += a['add']![k]!;
      mag[0]![k]! += Math.abs(a['add']![k]!);
    }
  }
  const outs = runGatKernel(K.GAT_SCORE_GRAD, {
    xl: t['xl']!, xr: t['xr']!, att: t['att']!, dE: t['dE']!, ...d.graph,
    edgeProj: withEp ? t['ep'] : undefined, dxlAdd: withAdd ? t['add'] : undefined,
  }, { heads: H, channels: C, negativeSlope: SLOPE });
  const what = `score grad (edgeProj ${withEp}, dxlAdd ${withAdd})`;
  assert.equal(outs.length, withEp ? 4 : 3, `${what}: outputs`);
  await expectClose(`${what} dxl`, outs[0], [N, HC], want[0]!, mag[0]!);
  await expectClose(`${what} dxr`, outs[1], [N, HC], want[1]!, mag[1]!);
  await expectClose(`${what} dAtt`, outs[2], [HC], want[2]!, mag[2]!);
  if (withEp) await expectClose(`${what} dEdgeProj`, outs[3], [E, HC], want[3]!, mag[3]!);
});

/** The softmax stage and the segment max. */
const softmaxChecks: Check[] = [async (d) => {
  const { a, t, L, E, H } = d;
  const e = a['dAlpha']!; // any scores will do
  const want = zeros(E * H);
  loops.softmaxForward(L.rowPtr, e, H, want);
  // Each alpha is a quotient of positive terms: relative to itself.
  await expectClose('softmax', runGatKernel(K.SEGMENT_SOFTMAX, { e: t['dAlpha']!, rowPtr: d.graph.rowPtr }), [E, H], want, want.map((v) => Math.abs(v) + 1e-30));
}];

const softmaxGradChecks: Check[] = [async (d) => {
  const { a, t, L, N, E, H } = d;
  const alpha = a['alpha']!, dAlpha = a['dAlpha']!;
  const want = zeros(E * H), mag = zeros(E * H);
  loops.softmaxBackward(L.rowPtr, alpha, dAlpha, H, want);
  // dE = alpha (dAlpha - dot): M = |alpha| (|dAlpha| + sum_row |alpha dAlpha|).
  for (let i = 0; i < N; i++) {
    for (let h = 0; h < H; h++) {
      let dot = 0;
      for (let p = L.rowPtr[i]!; p < L.rowPtr[i + 1]!; p++) dot += Math.abs(alpha[p * H + h]! * dAlpha[p * H + h]!);
      for (let p = L.rowPtr[i]!; p < L.rowPtr[i + 1]!; p++) mag[p * H + h] = Math.abs(alpha[p * H + h]!) * (Math.abs(dAlpha[p * H + h]!) + dot);
    }
  }
  const got = runGatKernel(K.SEGMENT_SOFTMAX_GRAD, { alpha: t['alpha']!, dAlpha: t['dAlpha']!, rowPtr: d.graph.rowPtr });
  await expectClose('softmax grad', got, [E, H], want, mag);
}];

const segmentMaxChecks: Check[] = [async (d) => {
  const { a, t, L, N, H } = d;
  const want = zeros(N * H);
  loops.segmentMax(L.rowPtr, a['dAlpha']!, H, want);
  await expectEqual('segment max', runGatKernel(K.SEGMENT_MAX, { e: t['dAlpha']!, rowPtr: d.graph.rowPtr }), [N, H], want);
}];

/** The aggregation stage. */
const aggregateChecks: Check[] = [async (d) => {
  const { a, t, L, N, H, C, HC } = d;
  const want = zeros(N * HC), mag = zeros(N * HC);
  loops.aggregateForward(L, a['alpha']!, a['xl']!, H, C, want);
  loops.aggregateForward(L, abs(a['alpha']!), abs(a['xl']!), H, C, mag);
  const got = runGatKernel(K.GAT_AGGREGATE, { alpha: t['alpha']!, xl: t['xl']!, rowPtr: d.graph.rowPtr, csrSrc: d.graph.csrSrc }, { heads: H, channels: C });
  await expectClose('aggregate', got, [N, HC], want, mag);
}];

const aggregateGradChecks: Check[] = [async (d) => {
  const { a, t, L, N, E, H, C, HC } = d;
  const want = [zeros(E * H), zeros(N * HC)], mag = [zeros(E * H), zeros(N * HC)];
  loops.aggregateBackward(L, a['alpha']!, a['xl']!, a['dOut']!, H, C, want[0]!, want[1]!);
  loops.aggregateBackward(L, abs(a['alpha']!), abs(a['xl']!), abs(a['dOut']!), H, C, mag[0]!, mag[1]!);
  const [dAlpha, dxl] = runGatKernel(K.GAT_AGGREGATE_GRAD, { alpha: t['alpha']!, xl: t['xl']!, dOut: t['dOut']!, ...d.graph }, { heads: H, channels: C });
  await expectClose('aggregate grad dAlpha', dAlpha, [E, H], want[0]!, mag[0]!);
  await expectClose('aggregate grad dxl', dxl, [N, HC], want[1]!, mag[1]!);
}];

/** The sparse products, X the graph's adjacency with random values (F = N + 2: empty columns). */
function sparseOf(d: Data): K.SparseInputs<tf.Tensor> {
  return { values: d.t['values']!, colIdx: d.graph.csrSrc, rowPtr: d.graph.rowPtr };
}

const sparseMatMulChecks: Check[] = [async (d) => {
  const { a, L, N, F, HC } = d;
  const want = zeros(N * HC), mag = zeros(N * HC);
  loops.sparseMatMul(L.rowPtr, L.csrSrc, a['values']!, a['w']!, HC, want);
  loops.sparseMatMul(L.rowPtr, L.csrSrc, abs(a['values']!), abs(a['w']!), HC, mag);
  await expectClose('sparse matmul', runGatKernel(K.SPARSE_MATMUL, { ...sparseOf(d), w: d.t['w']! }, { numFeatures: F }), [N, HC], want, mag);
}];

const sparseMatMulGradChecks: Check[] = [async (d) => {
  const { a, L, F, HC } = d;
  const want = zeros(F * HC), mag = zeros(F * HC);
  loops.sparseMatMulGrad(L.rowPtr, L.csrSrc, a['values']!, a['dy']!, HC, want);
  loops.sparseMatMulGrad(L.rowPtr, L.csrSrc, abs(a['values']!), abs(a['dy']!), HC, mag);
  await expectClose('sparse matmul grad', runGatKernel(K.SPARSE_MATMUL_GRAD, { ...sparseOf(d), dy: d.t['dy']! }, { numFeatures: F }), [F, HC], want, mag);
}];

/** One Adam step with weight decay (names.ts ADAM_UPDATE). */
const adamChecks: Check[] = [async (d) => {
  const { a, t, N, HC } = d;
  const attrs = { beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 5e-4, stepSize: 0.01 / (1 - 0.9 ** 3), sqrtBc2: Math.sqrt(1 - 0.999 ** 3) };
  const n = N * HC, p = a['xl']!;
  const want = [zeros(n), zeros(n), zeros(n)];
  loops.adamUpdate(p, a['m']!, a['v']!, a['grad']!, attrs.beta1, attrs.beta2, attrs.epsilon, attrs.weightDecay, attrs.stepSize, attrs.sqrtBc2, want[0]!, want[1]!, want[2]!);
  // p' = p - update: relative to |p| + |update|; m' and v' to the sums of their terms.
  const magP = p.map((v, k) => Math.abs(v) + Math.abs(v - want[0]![k]!));
  const g = a['grad']!.map((v, k) => Math.abs(v) + attrs.weightDecay * Math.abs(p[k]!));
  const magM = a['m']!.map((v, k) => attrs.beta1 * Math.abs(v) + (1 - attrs.beta1) * g[k]!);
  const magV = a['v']!.map((v, k) => attrs.beta2 * v + (1 - attrs.beta2) * g[k]! * g[k]!);
  const [pNew, mNew, vNew] = runGatKernel(K.ADAM_UPDATE, { param: t['xl']!, m: t['m']!, v: t['v']!, grad: t['grad']! }, attrs);
  await expectClose('adam param', pNew, [N, HC], want[0]!, magP);
  await expectClose('adam m', mNew, [N, HC], want[1]!, magM);
  await expectClose('adam v', vNew, [N, HC], want[2]!, magV);
}];

/** The same bits as the loop on every backend (names.ts DROPOUT). */
const dropoutChecks: Check[] = [async (d) => {
  const { a, t, N, HC } = d;
  const want = zeros(N * HC);
  dropoutLoop(a['xl']!, dropoutConstants(0.6, 12345), want);
  await expectEqual('dropout', runGatKernel(K.DROPOUT, { x: t['xl']! }, { p: 0.6, seed: 12345 }), [N, HC], want);
}];

/** x^T dy, plain and read through a dropout mask (names.ts WEIGHT_GRAD). */
const weightGradChecks: Check[] = [0, 0.6].map((dropP) => async (d) => {
  const { a, t, N, H, HC } = d;
  const K2 = H + 1;
  const x = zeros(N * HC);
  if (dropP > 0) dropoutLoop(a['xl']!, dropoutConstants(dropP, 777), x);
  else x.set(a['xl']!);
  const want = zeros(HC * K2), mag = zeros(HC * K2);
  loops.weightGrad(x, a['dyW']!, N, HC, K2, want);
  loops.weightGrad(abs(x), abs(a['dyW']!), N, HC, K2, mag);
  const got = runGatKernel(K.WEIGHT_GRAD, { x: t['xl']!, dy: t['dyW']! }, { dropP, dropSeed: 777 });
  await expectClose(`weight grad (dropP ${dropP})`, got, [HC, K2], want, mag);
});

/** Every kernel of names.ts: a missing entry is a compile error. */
const CHECKS: { [N in K.GatKernelName]: Check[] } = {
  [K.GAT_SCORE]: scoreChecks,
  [K.GAT_SCORE_GRAD]: scoreGradChecks,
  [K.SEGMENT_SOFTMAX]: softmaxChecks,
  [K.SEGMENT_SOFTMAX_GRAD]: softmaxGradChecks,
  [K.GAT_AGGREGATE]: aggregateChecks,
  [K.GAT_AGGREGATE_GRAD]: aggregateGradChecks,
  [K.SEGMENT_MAX]: segmentMaxChecks,
  [K.SPARSE_MATMUL]: sparseMatMulChecks,
  [K.SPARSE_MATMUL_GRAD]: sparseMatMulGradChecks,
  [K.ADAM_UPDATE]: adamChecks,
  [K.DROPOUT]: dropoutChecks,
  [K.WEIGHT_GRAD]: weightGradChecks,
};

/** Why webgpu cannot run here (null: it can). */
async function webgpuUnavailable(): Promise<string | null> {
  const why = await selectBackend('webgpu').then(() => null, (e: Error) => e.message);
  if (why !== null && process.env['CI'] === 'true') throw new Error(`CI needs a WebGPU adapter (run .ci/install-vulkan.sh): ${why}`);
  return why;
}
const noWebGPU = await webgpuUnavailable();

const BACKENDS: Array<{ name: string; skip: string | false }> = [
  { name: 'cpu', skip: false },
  { name: 'wasm', skip: false },
  { name: 'webgpu', skip: noWebGPU === null ? false : `no WebGPU adapter: ${noWebGPU}` },
];

for (const backend of BACKENDS) {
  test(`[${backend.name}] registers every required kernel of names.ts`, { skip: backend.skip }, async () => {
    await selectBackend(backend.name);
    assert.deepEqual(missingGatKernels(backend.name), []);
  });

  for (const [index, c] of CASES.entries()) {
    test(`[${backend.name}] every kernel on ${c.name}, H ${c.H}, C ${c.C}`, { skip: backend.skip }, async () => {
      await selectBackend(backend.name);
      const d = makeData(c, 100 + index);
      const before = tf.memory().numTensors;
      const ran: string[] = [];
      for (const name of K.PROJECT_KERNELS) {
        if (!hasGatKernel(name)) {
          assert.ok(K.OPTIONAL_KERNELS.has(name), `${name} is required but not registered on ${backend.name}`);
          continue;
        }
        for (const check of CHECKS[name]) await check(d);
        ran.push(name);
      }
      assert.equal(tf.memory().numTensors, before, 'every output read and freed');
      assert.ok(ran.length >= K.PROJECT_KERNELS.length - K.OPTIONAL_KERNELS.size, `ran ${ran.join(', ')}`);
      tf.dispose([...Object.values(d.t), ...Object.values(d.graph)]);
    });
  }
}
