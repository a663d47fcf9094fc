/**
 * Every WebGPU kernel against the reference loops (kernels/loops.ts) on a small random graph with
 * duplicates, self loops, empty rows and a hub, in each reduction flavour: one thread per light
 * segment, a workgroup per heavy one, subgroups on and off, every segment heavy (threshold 0),
 * and index tensors made on the GPU (no host copy: every segment goes to a workgroup). Also:
 * results are bitwise repeatable, and the segment sum / gather replacements match TF semantics.
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
import { DEFAULT_HEAVY_THRESHOLD, type GatWebGPUBackend } from '../kernels/webgpu/backend.js';
import { takeWebGPUErrors } from '../kernels/webgpu/device.js';

const unavailable = await selectBackend('webgpu').then(() => null, (e: Error) => e.message);
if (unavailable !== null && process.env['CI'] === 'true') {
  throw new Error(`CI needs a WebGPU adapter (run .ci/install-vulkan.sh): ${unavailable}`);
}
const skip = unavailable === null ? false : `no WebGPU adapter: ${unavailable}`;
const backend = () => tf.backend() as unknown as GatWebGPUBackend;

const H = 2, C = 3, HC = H * C, SLOPE = 0.2;
const ATTRS = { heads: H, channels: C, negativeSlope: SLOPE };

/** 40 nodes, random edges with duplicates and loops, node 3 a hub of in-degree 300, node 7 of
 * out-degree 280 (both above the default heavy threshold of 256). */
function randomGraph(seed: number): GraphLayout {
  const r = new Prng(seed);
  const N = 40, src: number[] = [], dst: number[] = [];
  for (let k = 0; k < 120; k++) {
    src.push(r.int(N));
    dst.push(r.int(N - 5)); // nodes 35..39 only get their self loop
  }
  for (let k = 0; k < 300; k++) {
    src.push(r.int(N));
    dst.push(3);
  }
  for (let k = 0; k < 280; k++) {
    src.push(7);
    dst.push(r.int(N));
  }
  return buildLayout(N, src, dst, { addSelfLoops: true });
}

function randn(r: Prng, n: number, scale = 1): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = r.range(-scale, scale);
  return a;
}

function assertClose(got: ArrayLike<number>, want: ArrayLike<number>, what: string, tol = 2e-5): void {
  assert.equal(got.length, want.length, `${what}: length`);
  let maxRef = 0, maxDiff = 0;
  for (let i = 0; i < want.length; i++) {
    maxRef = Math.max(maxRef, Math.abs(want[i]!));
    const d = Math.abs(got[i]! - want[i]!);
    if (!(d <= maxDiff)) maxDiff = d; // NaN sticks
  }
  const rel = maxDiff / Math.max(maxRef, 1e-30);
  assert.ok(rel <= tol, `${what}: relative error ${rel} (max abs diff ${maxDiff}, max ref ${maxRef})`);
}

async function read(t: tf.Tensor | tf.Tensor[]): Promise<Float32Array[]> {
  const ts = Array.isArray(t) ? t : [t];
  const out: Float32Array[] = [];
  for (const x of ts) out.push(Float32Array.from(await x.data()));
  tf.dispose(ts);
  return out;
}

interface Case {
  L: GraphLayout;
  xl: Float32Array; xr: Float32Array; att: Float32Array; ep: Float32Array; dE: Float32Array;
  dAlpha: Float32Array; dOut: Float32Array;
}

function makeCase(seed: number): Case {
  const L = randomGraph(seed);
  const r = new Prng(seed + 100);
  const N = L.numNodes, E = L.numEdges;
  return {
    L, xl: randn(r, N * HC), xr: randn(r, N * HC), att: randn(r, HC), ep: randn(r, E * HC, 0.5),
    dE: randn(r, E * H), dAlpha: randn(r, E * H), dOut: randn(r, N * HC),
  };
}

/** The graph tensors; with onGpu, made by a GPU op so the backend has no host copy of them. */
function graph(L: GraphLayout, onGpu: boolean): Record<string, tf.Tensor> {
  const t = (a: Int32Array) => {
    const x = tf.tensor1d(a, 'int32');
    if (!onGpu) return x;
    backend().uploadToGPU(x.dataId);
    const y = tf.add(x, tf.scalar(0, 'int32'));
    x.dispose();
    return y;
  };
  return { rowPtr: t(L.rowPtr), csrSrc: t(L.csrSrc), csrDst: t(L.csrDst), srcPtr: t(L.srcPtr), srcOrder: t(L.srcOrder) };
}

/**
 * 'reductions' checks only the kernels that exercise each workgroup reduction (max and sum, in a
 * segment reduce and in a row program): the heavy programs differ only in the reduction, and
 * each one costs lavapipe a fraction of a second to compile.
 */
async function checkAllKernels(
  c: Case, g: Record<string, tf.Tensor>, label: string, which: 'all' | 'reductions',
): Promise<void> {
  const { L } = c;
  const N = L.numNodes, E = L.numEdges;
  const arrays = { rowPtr: L.rowPtr, csrSrc: L.csrSrc, csrDst: L.csrDst };
  const xl = tf.tensor2d(c.xl, [N, HC]), xr = tf.tensor2d(c.xr, [N, HC]), att = tf.tensor1d(c.att);
  const ep = tf.tensor2d(c.ep, [E, HC]), dE = tf.tensor2d(c.dE, [E, H]);
  const run = (name: string, inputs: Record<string, tf.Tensor>, attrs: Record<string, number> = ATTRS) =>
    tf.engine().runKernel(name, inputs as tf.NamedTensorMap, attrs) as tf.Tensor | tf.Tensor[];

  for (const withEp of which === 'all' ? [false, true] : []) {
    const epArr = withEp ? c.ep : null;
    const extra: Record<string, tf.Tensor> = withEp ? { edgeProj: ep } : {};
    const want = new Float32Array(E * H);
    loops.scoreForward(arrays, c.xl, c.xr, c.att, epArr, H, C, SLOPE, want);
    // The inputs names.ts specifies: the score takes no source grouping, its gradient does.
    const csr = { rowPtr: g['rowPtr']!, csrSrc: g['csrSrc']!, csrDst: g['csrDst']! };
    const [e] = await read(run(K.GAT_SCORE, { xl, xr, att, ...csr, ...extra }));
    assertClose(e!, want, `${label} score (edgeProj ${withEp})`);

    const wdxl = new Float32Array(N * HC), wdxr = new Float32Array(N * HC), wdAtt = new Float32Array(HC);
    const wdEp = withEp ? new Float32Array(E * HC) : null;
    loops.scoreBackward(arrays, c.xl, c.xr, c.att, epArr, c.dE, H, C, SLOPE, wdxl, wdxr, wdAtt, wdEp);
    const got = await read(run(K.GAT_SCORE_GRAD, { xl, xr, att, dE, ...g, ...extra }));
    assert.equal(got.length, withEp ? 4 : 3);
    assertClose(got[0]!, wdxl, `${label} score grad dxl (edgeProj ${withEp})`);
    assertClose(got[1]!, wdxr, `${label} score grad dxr (edgeProj ${withEp})`);
    assertClose(got[2]!, wdAtt, `${label} score grad dAtt (edgeProj ${withEp})`);
    if (wdEp) assertClose(got[3]!, wdEp, `${label} score grad dEdgeProj`);
    if (!withEp) {
      // dxlAdd, added as each source row's sum is stored (light and heavy programs alike).
      const add = Float32Array.from({ length: N * HC }, (_, k) => Math.sin(k));
      const addT = tf.tensor2d(add, [N, HC]);
      const [dxlPlus] = await read(run(K.GAT_SCORE_GRAD, { xl, xr, att, dE, ...g, dxlAdd: addT }));
      assertClose(dxlPlus!, wdxl.map((v, k) => v + add[k]!), `${label} score grad dxl + dxlAdd`);
      addT.dispose();
    }
  }

  const eT = tf.tensor2d(c.dE, [E, H]); // any scores will do
  const wAlpha = new Float32Array(E * H);
  loops.softmaxForward(L.rowPtr, c.dE, H, wAlpha);
  const [alpha] = await read(run(K.SEGMENT_SOFTMAX, { e: eT, rowPtr: g['rowPtr']! }));
  assertClose(alpha!, wAlpha, `${label} softmax`);

  const wMax = new Float32Array(N * H);
  loops.segmentMax(L.rowPtr, c.dE, H, wMax);
  const [m] = await read(run(K.SEGMENT_MAX, { e: eT, rowPtr: g['rowPtr']! }));
  assertClose(m!, wMax, `${label} segment max`);

  const alphaT = tf.tensor2d(wAlpha, [E, H]), dAlphaT = tf.tensor2d(c.dAlpha, [E, H]);
  const wOut = new Float32Array(N * HC);
  loops.aggregateForward(arrays, wAlpha, c.xl, H, C, wOut);
  const [out] = await read(run(K.GAT_AGGREGATE, { alpha: alphaT, xl, rowPtr: g['rowPtr']!, csrSrc: g['csrSrc']! }));
  assertClose(out!, wOut, `${label} aggregate`);
  const dOut = tf.tensor2d(c.dOut, [N, HC]);
  const done = () => tf.dispose([xl, xr, att, ep, dE, eT, alphaT, dAlphaT, dOut]);
  if (which === 'reductions') return done();

  const wdE = new Float32Array(E * H);
  loops.softmaxBackward(L.rowPtr, wAlpha, c.dAlpha, H, wdE);
  const [dEg] = await read(run(K.SEGMENT_SOFTMAX_GRAD, { alpha: alphaT, dAlpha: dAlphaT, rowPtr: g['rowPtr']! }));
  assertClose(dEg!, wdE, `${label} softmax grad`);

  const wdA = new Float32Array(E * H), wdxl = new Float32Array(N * HC);
  loops.aggregateBackward(arrays, wAlpha, c.xl, c.dOut, H, C, wdA, wdxl);
  const [dA, dxl] = await read(run(K.GAT_AGGREGATE_GRAD, { alpha: alphaT, xl, dOut, ...g }));
  assertClose(dA!, wdA, `${label} aggregate grad dAlpha`);
  assertClose(dxl!, wdxl, `${label} aggregate grad dxl`);
  done();
}

const MODES: Array<{ label: string; subgroups: boolean; threshold: number; onGpu: boolean }> = [
  { label: 'light+heavy, subgroups', subgroups: true, threshold: DEFAULT_HEAVY_THRESHOLD, onGpu: false },
  { label: 'all heavy, subgroups', subgroups: true, threshold: 0, onGpu: false },
  { label: 'all heavy, shared memory', subgroups: false, threshold: 0, onGpu: false },
  { label: 'all light', subgroups: true, threshold: 1 << 30, onGpu: false },
  { label: 'GPU-made index tensors', subgroups: true, threshold: DEFAULT_HEAVY_THRESHOLD, onGpu: true },
];

test('GATv2 kernels match the reference loops in every reduction flavour', { skip }, async () => {
  const c = makeCase(1);
  const b = backend();
  for (const mode of MODES) {
    b.gat.subgroups = mode.subgroups;
    b.gat.heavyThreshold = mode.threshold;
    const g = graph(c.L, mode.onGpu);
    await checkAllKernels(c, g, mode.label, mode.subgroups ? 'all' : 'reductions');
    tf.dispose(Object.values(g));
  }
  b.gat.subgroups = true;
  b.gat.heavyThreshold = DEFAULT_HEAVY_THRESHOLD;
  assert.deepEqual(takeWebGPUErrors(), []);
});

test('results are bitwise repeatable (no atomics)', { skip }, async () => {
  const c = makeCase(2);
  const g = graph(c.L, false);
  const N = c.L.numNodes, E = c.L.numEdges;
  const xl = tf.tensor2d(c.xl, [N, HC]), xr = tf.tensor2d(c.xr, [N, HC]), att = tf.tensor1d(c.att), dE = tf.tensor2d(c.dE, [E, H]);
  const once = async () => {
    const grads = tf.engine().runKernel(K.GAT_SCORE_GRAD, { xl, xr, att, dE, ...g } as tf.NamedTensorMap, ATTRS) as tf.Tensor[];
    const sum = tf.unsortedSegmentSum(tf.tensor2d(c.ep, [E, HC]), g['csrSrc'] as tf.Tensor1D, N);
    return read([...grads, sum]);
  };
  const a = await once();
  const b = await once();
  for (let i = 0; i < a.length; i++) assert.deepEqual(b[i], a[i], `output ${i} differs between runs`);
  tf.dispose([xl, xr, att, dE, ...Object.values(g)]);
});

test('sparse matmul and its gradient match the reference loops', { skip }, async () => {
  const r = new Prng(5);
  const N = 50, F = 30, Kc = 5;
  const rowPtr = new Int32Array(N + 1), cols: number[] = [], vals: number[] = [];
  for (let i = 0; i < N; i++) {
    const nnz = i === 10 ? 0 : i === 11 ? F : 1 + r.int(4); // an empty row and a full one
    const set = new Set<number>();
    while (set.size < nnz) set.add(i === 11 ? set.size : r.int(F));
    for (const f of set) {
      cols.push(f);
      vals.push(r.range(-1, 1));
    }
    rowPtr[i + 1] = cols.length;
  }
  const colIdx = Int32Array.from(cols), values = Float32Array.from(vals);
  const w = randn(r, F * Kc), dy = randn(r, N * Kc);
  const wantY = new Float32Array(N * Kc), wantDw = new Float32Array(F * Kc);
  loops.sparseMatMul(rowPtr, colIdx, values, w, Kc, wantY);
  loops.sparseMatMulGrad(rowPtr, colIdx, values, dy, Kc, wantDw);
  for (const threshold of [DEFAULT_HEAVY_THRESHOLD, 0]) {
    backend().gat.heavyThreshold = threshold;
    const ins = {
      values: tf.tensor1d(values), colIdx: tf.tensor1d(colIdx, 'int32'), rowPtr: tf.tensor1d(rowPtr, 'int32'),
    };
    const [y] = await read(tf.engine().runKernel(K.SPARSE_MATMUL, { ...ins, w: tf.tensor2d(w, [F, Kc]) }, { numFeatures: F }) as tf.Tensor);
    const [dw] = await read(tf.engine().runKernel(K.SPARSE_MATMUL_GRAD, { ...ins, dy: tf.tensor2d(dy, [N, Kc]) }, { numFeatures: F }) as tf.Tensor);
    assertClose(y!, wantY, `sparse matmul (threshold ${threshold})`);
    assertClose(dw!, wantDw, `sparse matmul grad (threshold ${threshold})`);
  }
  // A sparse matrix whose index tensors exist only on the GPU: the scanning fallback.
  const onGpu = (a: Int32Array) => {
    const x = tf.tensor1d(a, 'int32');
    backend().uploadToGPU(x.dataId);
    return tf.add(x, tf.scalar(0, 'int32'));
  };
  const [dw] = await read(tf.engine().runKernel(K.SPARSE_MATMUL_GRAD, {
    values: tf.tensor1d(values), colIdx: onGpu(colIdx), rowPtr: onGpu(rowPtr), dy: tf.tensor2d(dy, [N, Kc]),
  }, { numFeatures: F }) as tf.Tensor);
  assertClose(dw!, wantDw, 'sparse matmul grad (GPU-made indices)');
  backend().gat.heavyThreshold = DEFAULT_HEAVY_THRESHOLD;
  assert.deepEqual(takeWebGPUErrors(), []);
});

test('segment sum and gather keep TF semantics (out-of-range ids dropped, rank 3, int32 gather)', { skip }, async () => {
  const ids = tf.tensor1d([2, 0, 2, -1, 5, 2, 1], 'int32');
  const x = tf.tensor3d(Float32Array.from({ length: 7 * 2 * 2 }, (_, i) => i + 1), [7, 2, 2]);
  const want = new Float32Array(4 * 4);
  loops.unsortedSegmentSum(new Float32Array(await x.data()), new Int32Array(await ids.data()), 4, 4, want);
  const s = tf.unsortedSegmentSum(x, ids, 4);
  assert.deepEqual(s.shape, [4, 2, 2]);
  assertClose(await s.data(), want, 'segment sum');
  // Ids made by a GPU op have no host copy to group by: TF.js's own (atomic) kernel runs. (It
  // does not drop out-of-range ids, hence in-range ones here.)
  const inRange = tf.tensor1d([2, 0, 2, 3, 1, 2, 1], 'int32');
  backend().uploadToGPU(inRange.dataId);
  const gpuIds = tf.add(inRange, tf.scalar(0, 'int32')) as tf.Tensor1D;
  assert.equal(backend().hostInt32(gpuIds), null);
  const want2 = new Float32Array(4 * 4);
  loops.unsortedSegmentSum(new Float32Array(await x.data()), Int32Array.from([2, 0, 2, 3, 1, 2, 1]), 4, 4, want2);
  assertClose(await tf.unsortedSegmentSum(x, gpuIds, 4).data(), want2, 'segment sum (GPU-made ids, stock kernel)');
  const gi = tf.gather(tf.tensor2d([[1, 2], [3, 4], [5, 6]], [3, 2], 'int32'), tf.tensor1d([2, 0, 2], 'int32'));
  assert.equal(gi.dtype, 'int32');
  assert.deepEqual(Array.from(await gi.data()), [5, 6, 1, 2, 5, 6]);
  const gf = tf.gather(x, tf.tensor2d([[6, 0], [1, 1]], [2, 2], 'int32'));
  assert.deepEqual(gf.shape, [2, 2, 2, 2]);
  const xs = await x.data();
  assert.deepEqual(Array.from(await gf.data()), [...xs.slice(24, 28), ...xs.slice(0, 4), ...xs.slice(4, 8), ...xs.slice(4, 8)]);
  // The gradient of gather is a segment sum by the indices: the autograd twin's path.
  const grad = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.gather(t, tf.tensor1d([1, 1, 0], 'int32')), tf.tensor2d([[1, 2], [3, 4], [5, 6]]))));
  assert.deepEqual(Array.from(await grad(tf.zeros([2, 2])).data()), [5, 6, 4, 6]);
  assert.deepEqual(takeWebGPUErrors(), []);
});
