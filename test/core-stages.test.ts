/**
 * Each stage's backward on its own (score, softmax, aggregate): the analytic customGrad op's
 * gradient vs the autograd twin's vs a float64 vector-Jacobian product written here from
 * docs/gradients.md, on a small graph with an isolated node, a duplicate edge and a
 * self loop; and the fast UnsortedSegmentSum / GatherV2 overrides vs plain JS. Every test runs
 * on cpu and on wasm. (Each kernel on its own, on every backend: test/kernel-conformance.test.ts.)
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { useBackend } from '../src/backends/index.js';
import { buildLayout, type GraphLayout } from '../src/graph/layout.js';
import { graphTensors, type GraphTensors } from '../src/ops/graph-tensors.js';
import { scoreAnalytic, scoreAutograd } from '../src/ops/score.js';
import { softmaxAnalytic, softmaxAutograd } from '../src/ops/softmax.js';
import { aggregateAnalytic, aggregateAutograd } from '../src/ops/aggregate.js';
import * as K from '../kernels/names.js';
import { Prng } from '../src/util/prng.js';

const BACKENDS = ['cpu', 'wasm'] as const;
const TOL = 1e-5;

/** max|ours - ref| / max|ref|; NaN anywhere makes it NaN (never passes a `<` check). */
function relErr(ours: ArrayLike<number>, ref: ArrayLike<number>): number {
  assert.equal(ours.length, ref.length, 'same number of entries');
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < ref.length; i++) {
    const d = Math.abs(ours[i]! - ref[i]!);
    if (!(d <= diff)) diff = d; // NaN sticks
    scale = Math.max(scale, Math.abs(ref[i]!));
  }
  return diff / Math.max(scale, 1e-300);
}

function assertClose(ours: ArrayLike<number>, ref: ArrayLike<number>, label: string, tol = TOL): void {
  const err = relErr(ours, ref);
  assert.ok(err < tol, `${label}: relative error ${err} (tolerance ${tol})`);
}

function maxAbsOf(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]!));
  return m;
}

/** Float32 values (so the float64 references see exactly what the tensors hold). */
function randomF32(rng: Prng, n: number, scale = 1): Float32Array {
  return Float32Array.from({ length: n }, () => rng.normal(0, scale));
}

// The stage graph, without added self loops, edges j -> i: 0->1 twice (a duplicate), 2->1,
// 2->2 (a self loop), 1->0, 3->0, 3->2, 1->3, 4->3. Node 4 receives nothing (isolated).
const N = 5;
const SOURCES = [0, 2, 0, 2, 1, 3, 3, 1, 4];
const TARGETS = [1, 1, 1, 2, 0, 0, 2, 3, 3];
const H = 2;
const C = 3;
const HC = H * C;
const SLOPE = 0.2;

function stageGraph(): { L: GraphLayout; g: GraphTensors } {
  const L = buildLayout(N, SOURCES, TARGETS, { addSelfLoops: false });
  assert.equal(L.rowPtr[5]! - L.rowPtr[4]!, 0, 'node 4 has no in-edge');
  return { L, g: graphTensors(L) };
}

/** tf.grads of sum(op(...inputs) * upstream), read back as typed arrays, and the op's value. */
async function vjp(
  op: (...ins: tf.Tensor[]) => tf.Tensor, inputs: tf.Tensor[], upstream: tf.Tensor,
): Promise<{ value: Float32Array; grads: Float32Array[] }> {
  const before = tf.memory().numTensors;
  const [value, ...grads] = tf.tidy(() => {
    const v = op(...inputs);
    const gs = tf.grads((...ins: tf.Tensor[]) => tf.sum(tf.mul(op(...ins), upstream)))(inputs);
    return [v, ...gs];
  });
  const out = { value: (await value!.data()) as Float32Array, grads: await Promise.all(grads.map((t) => t.data() as Promise<Float32Array>)) };
  tf.dispose([value!, ...grads]);
  assert.equal(tf.memory().numTensors, before, 'the stage leaves no tensor behind');
  return out;
}

/** gradients.md eq. 1 and "Score stage", in float64 over CSR positions p = (j -> i). */
function scoreReference(
  L: GraphLayout, xl: Float32Array, xr: Float32Array, att: Float32Array, ep: Float32Array | null, dE: Float32Array,
) {
  const E = L.numEdges;
  const e = new Float64Array(E * H);
  const dxl = new Float64Array(N * HC);
  const dxr = new Float64Array(N * HC);
  const dAtt = new Float64Array(HC);
  const dEp = new Float64Array(E * HC);
  let positive = 0;
  let negative = 0;
  for (let p = 0; p < E; p++) {
    const i = L.csrDst[p]!;
    const j = L.csrSrc[p]!;
    for (let h = 0; h < H; h++) {
      const dek = dE[p * H + h]!;
      for (let c = 0; c < C; c++) {
        const q = h * C + c;
        const z = xr[i * HC + q]! + xl[j * HC + q]! + (ep ? ep[p * HC + q]! : 0);
        const u = z > 0 ? z : SLOPE * z;
        const s = z > 0 ? 1 : SLOPE;
        if (z > 0) positive++;
        else negative++;
        e[p * H + h]! += att[q]! * u;
        dAtt[q]! += dek * u;
        const delta = dek * att[q]! * s;
        dxr[i * HC + q]! += delta;
        dxl[j * HC + q]! += delta;
        dEp[p * HC + q] = delta;
      }
    }
  }
  return { e, dxl, dxr, dAtt, dEp, positive, negative };
}

/** gradients.md eq. 2 and "Softmax stage": alpha per destination row, dE = alpha (U - sum alpha U). */
function softmaxReference(L: GraphLayout, e: Float32Array, dAlpha: Float32Array) {
  const E = L.numEdges;
  const alpha = new Float64Array(E * H);
  const dE = new Float64Array(E * H);
  for (let i = 0; i < N; i++) {
    const rows: number[] = [];
    for (let p = 0; p < E; p++) if (L.csrDst[p] === i) rows.push(p);
    for (let h = 0; h < H; h++) {
      const m = Math.max(...rows.map((p) => e[p * H + h]!));
      let sum = 0;
      for (const p of rows) sum += Math.exp(e[p * H + h]! - m);
      for (const p of rows) alpha[p * H + h] = Math.exp(e[p * H + h]! - m) / sum;
      let dot = 0;
      for (const p of rows) dot += alpha[p * H + h]! * dAlpha[p * H + h]!;
      for (const p of rows) dE[p * H + h] = alpha[p * H + h]! * (dAlpha[p * H + h]! - dot);
    }
  }
  return { alpha, dE };
}

/** gradients.md eq. 3 and "Aggregation stage": A_k = <G_i, xl[j]>, dxl[j] += alpha_k G_i. */
function aggregateReference(L: GraphLayout, alpha: Float32Array, xl: Float32Array, G: Float32Array) {
  const E = L.numEdges;
  const out = new Float64Array(N * HC);
  const dAlpha = new Float64Array(E * H);
  const dxl = new Float64Array(N * HC);
  for (let p = 0; p < E; p++) {
    const i = L.csrDst[p]!;
    const j = L.csrSrc[p]!;
    for (let q = 0; q < HC; q++) {
      const h = Math.floor(q / C);
      out[i * HC + q]! += alpha[p * H + h]! * xl[j * HC + q]!;
      dAlpha[p * H + h]! += G[i * HC + q]! * xl[j * HC + q]!;
      dxl[j * HC + q]! += alpha[p * H + h]! * G[i * HC + q]!;
    }
  }
  return { out, dAlpha, dxl };
}

for (const backend of BACKENDS) {
  test(`[${backend}] project kernels and the fast segment sum / gather are registered`, async () => {
    await useBackend(backend);
    assert.equal(tf.getBackend(), backend);
    const required = K.PROJECT_KERNELS.filter((n) => !K.OPTIONAL_KERNELS.has(n));
    for (const name of [...required, 'UnsortedSegmentSum', 'GatherV2']) {
      const k = tf.getKernel(name, backend);
      assert.ok(k, `${name} on ${backend}`);
      assert.equal((k as unknown as { gatv2?: boolean }).gatv2, true, `${name} is this project's kernel`);
    }
  });

  test(`[${backend}] score stage: analytic vs autograd twin vs float64 VJP, with and without edge features`, async () => {
    await useBackend(backend);
    const { L, g } = stageGraph();
    const E = L.numEdges;
    const rng = new Prng(7);
    const xl = randomF32(rng, N * HC), xr = randomF32(rng, N * HC), att = randomF32(rng, HC);
    const ep = randomF32(rng, E * HC, 0.5), up = randomF32(rng, E * H);
    const shape = { heads: H, channels: C, negativeSlope: SLOPE };
    const T = {
      xl: tf.tensor2d(xl, [N, HC]), xr: tf.tensor2d(xr, [N, HC]), att: tf.tensor1d(att),
      ep: tf.tensor2d(ep, [E, HC]), up: tf.tensor2d(up, [E, H]),
    };
    try {
      for (const withEdges of [true, false]) {
        const ref = scoreReference(L, xl, xr, att, withEdges ? ep : null, up);
        assert.ok(ref.positive > 5 && ref.negative > 5, 'both sides of the LeakyReLU are exercised');
        const inputs = withEdges ? [T.xl, T.xr, T.att, T.ep] : [T.xl, T.xr, T.att];
        const names = withEdges ? ['xl', 'xr', 'att', 'edgeProj'] : ['xl', 'xr', 'att'];
        const refGrads = [ref.dxl, ref.dxr, ref.dAtt, ref.dEp];
        const results: Record<string, Awaited<ReturnType<typeof vjp>>> = {};
        for (const [mode, fn] of [['analytic', scoreAnalytic], ['autograd', scoreAutograd]] as const) {
          const op = (...ins: tf.Tensor[]) =>
            fn(ins[0] as tf.Tensor2D, ins[1] as tf.Tensor2D, ins[2] as tf.Tensor1D, (ins[3] as tf.Tensor2D) ?? null, g, shape);
          const r = await vjp(op, inputs, T.up);
          results[mode] = r;
          const label = `${backend} score ${mode} edges=${withEdges}`;
          assertClose(r.value, ref.e, `${label}: e`);
          names.forEach((n, k) => assertClose(r.grads[k]!, refGrads[k]!, `${label}: d${n}`));
        }
        names.forEach((n, k) => assertClose(results['analytic']!.grads[k]!, results['autograd']!.grads[k]!, `${backend} score analytic vs autograd d${n}`));
        // Node 4 receives nothing, so it gets no target-side gradient; it sends 4->3, so it gets a message-side one.
        const dxr = results['analytic']!.grads[1]!;
        assert.deepEqual(Array.from(dxr.subarray(4 * HC, 5 * HC)), new Array<number>(HC).fill(0));
        assert.ok(maxAbsOf(results['analytic']!.grads[0]!.subarray(4 * HC, 5 * HC)) > 1e-3);
      }
    } finally {
      tf.dispose(Object.values(T));
      g.dispose();
    }
  });

  test(`[${backend}] softmax stage: analytic vs autograd twin vs float64 VJP; large scores stay finite`, async () => {
    await useBackend(backend);
    const { L, g } = stageGraph();
    const E = L.numEdges;
    const rng = new Prng(8);
    for (const scale of [2, 400]) {
      const e = randomF32(rng, E * H, scale);
      const up = randomF32(rng, E * H);
      const ref = softmaxReference(L, e, up);
      const eT = tf.tensor2d(e, [E, H]);
      const upT = tf.tensor2d(up, [E, H]);
      const results: Record<string, Awaited<ReturnType<typeof vjp>>> = {};
      try {
        for (const [mode, fn] of [['analytic', softmaxAnalytic], ['autograd', softmaxAutograd]] as const) {
          const r = await vjp((x) => fn(x as tf.Tensor2D, g), [eT], upT);
          results[mode] = r;
          const label = `${backend} softmax ${mode} scale=${scale}`;
          assert.ok(r.value.every(Number.isFinite) && r.grads[0]!.every(Number.isFinite), `${label}: finite`);
          // At scale 400 the scores reach the hundreds: float32 rounding of e alone moves alpha
          // by ~1e-4 (fixtures README, large-scores), so only the small-scale case gets 1e-5.
          const tol = scale > 10 ? 1e-3 : TOL;
          assertClose(r.value, ref.alpha, `${label}: alpha`, tol);
          assertClose(r.grads[0]!, ref.dE, `${label}: de`, tol);
          // Rows sum to one.
          for (let i = 0; i < N; i++) {
            for (let h = 0; h < H; h++) {
              let s = 0;
              for (let p = L.rowPtr[i]!; p < L.rowPtr[i + 1]!; p++) s += r.value[p * H + h]!;
              if (L.rowPtr[i + 1]! > L.rowPtr[i]!) assert.ok(Math.abs(s - 1) < 1e-6, `${label}: row ${i} head ${h} sums to ${s}`);
            }
          }
        }
        assertClose(results['analytic']!.grads[0]!, results['autograd']!.grads[0]!, `${backend} softmax analytic vs autograd`, scale > 10 ? 1e-3 : TOL);
      } finally {
        tf.dispose([eT, upT]);
      }
    }
    // Equal scores on the duplicate edges (0->1 twice) give equal weights.
    const e = new Float32Array(E * H).fill(0.5);
    const alpha = tf.tidy(() => softmaxAnalytic(tf.tensor2d(e, [E, H]), g));
    const a = await alpha.data();
    alpha.dispose();
    const dup = [...Array(E).keys()].filter((p) => L.csrSrc[p] === 0 && L.csrDst[p] === 1);
    assert.equal(dup.length, 2);
    assert.equal(a[dup[0]! * H], a[dup[1]! * H]);
    assert.ok(Math.abs(a[dup[0]! * H]! - 1 / 3) < 1e-7, 'node 1 has three in-edges of equal score');
    g.dispose();
  });

  test(`[${backend}] aggregate stage: analytic vs autograd twin vs float64 VJP`, async () => {
    await useBackend(backend);
    const { L, g } = stageGraph();
    const E = L.numEdges;
    const rng = new Prng(9);
    const alpha = Float32Array.from({ length: E * H }, () => rng.range(0.05, 1));
    const xl = randomF32(rng, N * HC);
    const up = randomF32(rng, N * HC);
    const ref = aggregateReference(L, alpha, xl, up);
    const aT = tf.tensor2d(alpha, [E, H]), xT = tf.tensor2d(xl, [N, HC]), uT = tf.tensor2d(up, [N, HC]);
    const shape = { heads: H, channels: C };
    try {
      const results: Record<string, Awaited<ReturnType<typeof vjp>>> = {};
      for (const [mode, fn] of [['analytic', aggregateAnalytic], ['autograd', aggregateAutograd]] as const) {
        const r = await vjp((a, x) => fn(a as tf.Tensor2D, x as tf.Tensor2D, g, shape), [aT, xT], uT);
        results[mode] = r;
        const label = `${backend} aggregate ${mode}`;
        assertClose(r.value, ref.out, `${label}: out`);
        assertClose(r.grads[0]!, ref.dAlpha, `${label}: dalpha`);
        assertClose(r.grads[1]!, ref.dxl, `${label}: dxl`);
        // The isolated node aggregates nothing: exactly zero, not NaN.
        assert.deepEqual(Array.from(r.value.subarray(4 * HC)), new Array<number>(HC).fill(0), `${label}: isolated row`);
      }
      assertClose(results['analytic']!.grads[0]!, results['autograd']!.grads[0]!, `${backend} aggregate analytic vs autograd dalpha`);
      assertClose(results['analytic']!.grads[1]!, results['autograd']!.grads[1]!, `${backend} aggregate analytic vs autograd dxl`);
    } finally {
      tf.dispose([aT, xT, uT]);
      g.dispose();
    }
  });

  test(`[${backend}] fast UnsortedSegmentSum vs plain JS: float32, int32, 1-D, 3-D, ids out of range dropped`, async () => {
    await useBackend(backend);
    const rng = new Prng(11);
    const segSum = (x: ArrayLike<number>, ids: number[], inner: number, segs: number) => {
      const out = new Float64Array(segs * inner);
      ids.forEach((s, r) => {
        if (s < 0 || s >= segs) return;
        for (let c = 0; c < inner; c++) out[s * inner + c]! += x[r * inner + c]!;
      });
      return out;
    };
    const ids = [3, 0, 3, 1, 0, 3, 1];
    const cases: { shape: number[]; dtype: 'float32' | 'int32'; ids: number[]; segs: number }[] = [
      { shape: [7, 4], dtype: 'float32', ids, segs: 5 }, // segment 2 and 4 empty
      { shape: [7, 4], dtype: 'int32', ids, segs: 4 },
      { shape: [7], dtype: 'float32', ids, segs: 4 },
      { shape: [7, 2, 3], dtype: 'float32', ids, segs: 4 },
      { shape: [7, 3], dtype: 'float32', ids: [0, -1, 2, 9, 2, 1, 4], segs: 4 }, // -1, 9 and 4 are dropped
      { shape: [0, 3], dtype: 'float32', ids: [], segs: 3 },
    ];
    for (const c of cases) {
      const n = c.shape.reduce((a, b) => a * b, 1);
      const inner = c.shape.slice(1).reduce((a, b) => a * b, 1);
      const data = c.dtype === 'int32' ? Int32Array.from({ length: n }, () => rng.int(200) - 100) : randomF32(rng, n);
      const x = tf.tensor(data, c.shape, c.dtype);
      const idT = tf.tensor1d(c.ids, 'int32');
      const out = tf.unsortedSegmentSum(x, idT, c.segs);
      const label = `${backend} segment sum ${c.dtype} ${JSON.stringify(c.shape)}`;
      assert.deepEqual(out.shape, [c.segs, ...c.shape.slice(1)], label);
      assert.equal(out.dtype, c.dtype, label);
      const got = await out.data();
      const want = segSum(data, c.ids, inner, c.segs);
      if (c.dtype === 'int32') assert.deepEqual(Array.from(got), Array.from(want), label);
      else assertClose(got, want, label, 1e-6);
      tf.dispose([x, idT, out]);
    }
  });

  test(`[${backend}] fast GatherV2 vs plain JS: float32, int32, 1-D, 3-D, 2-D indices, gradient, out of range`, async () => {
    await useBackend(backend);
    const rng = new Prng(12);
    const idx = [2, 0, 2, 4, 1];
    const cases: { shape: number[]; dtype: 'float32' | 'int32'; idxShape: number[]; axis?: number }[] = [
      { shape: [5, 3], dtype: 'float32', idxShape: [5] },
      { shape: [5, 3], dtype: 'int32', idxShape: [5] },
      { shape: [5], dtype: 'float32', idxShape: [5] },
      { shape: [5], dtype: 'int32', idxShape: [5], axis: -1 }, // -1 is axis 0 of a 1-D tensor
      { shape: [5, 2, 3], dtype: 'float32', idxShape: [5] },
      { shape: [5, 2], dtype: 'float32', idxShape: [5, 1] }, // indices of rank 2
    ];
    for (const c of cases) {
      const n = c.shape.reduce((a, b) => a * b, 1);
      const inner = n / c.shape[0]!;
      const data = c.dtype === 'int32' ? Int32Array.from({ length: n }, () => rng.int(1000) - 500) : randomF32(rng, n);
      const x = tf.tensor(data, c.shape, c.dtype);
      const idT = tf.tensor(idx, c.idxShape, 'int32');
      const out = tf.gather(x, idT, c.axis ?? 0);
      const label = `${backend} gather ${c.dtype} ${JSON.stringify(c.shape)} indices ${JSON.stringify(c.idxShape)}`;
      assert.deepEqual(out.shape, [...c.idxShape, ...c.shape.slice(1)], label);
      assert.equal(out.dtype, c.dtype);
      const want: number[] = [];
      for (const r of idx) for (let k = 0; k < inner; k++) want.push(data[r * inner + k]!);
      assert.deepEqual(Array.from(await out.data()), want, label);
      tf.dispose([x, idT, out]);
    }

    // The gradient of gather runs through the segment sum: duplicate indices accumulate.
    const xs = randomF32(rng, 15);
    const w = randomF32(rng, 15);
    const x = tf.tensor2d(xs, [5, 3]), idT = tf.tensor1d(idx, 'int32'), wT = tf.tensor2d(w, [5, 3]);
    const [dx] = tf.grads((a: tf.Tensor) => tf.sum(tf.mul(tf.gather(a, idT), wT)))([x]);
    const wantDx = new Float64Array(15);
    idx.forEach((r, k) => { for (let c = 0; c < 3; c++) wantDx[r * 3 + c]! += w[k * 3 + c]!; });
    assertClose(await dx!.data(), wantDx, `${backend} gather gradient`, 1e-6);
    assert.deepEqual(Array.from((await dx!.data()).subarray(9, 12)), [0, 0, 0], 'row 3 is never gathered');

    // An index outside [0, rows) is refused, not read out of bounds.
    assert.throws(() => tf.gather(x, tf.tensor1d([0, 5], 'int32')), /5/);
  });
  test(`[${backend}] GatherV2 cases the fast kernel hands back to the stock one: axis 1, batchDims 1`, async () => {
    await useBackend(backend);
    const xs = Float32Array.from({ length: 15 }, (_, i) => i * 0.5 - 3);
    // Fallback to the stock kernel: axis 1 (2-D and 3-D) and batchDims 1.
    const y = tf.tensor2d(xs, [5, 3]);
    const cols = tf.tensor1d([2, 0, 2, 1], 'int32');
    const g1 = tf.gather(y, cols, 1);
    assert.deepEqual(g1.shape, [5, 4]);
    const want1: number[] = [];
    for (let r = 0; r < 5; r++) for (const c of [2, 0, 2, 1]) want1.push(xs[r * 3 + c]!);
    assert.deepEqual(Array.from(await g1.data()), want1, `${backend} gather axis 1 (fallback)`);
    const z = tf.tensor3d(Float32Array.from({ length: 30 }, (_, i) => i), [5, 2, 3]);
    const g2 = tf.gather(z, tf.tensor1d([1, 1, 0], 'int32'), 1);
    assert.deepEqual(g2.shape, [5, 3, 3]);
    const want2: number[] = [];
    for (let a = 0; a < 5; a++) for (const b of [1, 1, 0]) for (let c = 0; c < 3; c++) want2.push(a * 6 + b * 3 + c);
    assert.deepEqual(Array.from(await g2.data()), want2, `${backend} gather 3-D axis 1 (fallback)`);
    const bd = tf.gather(tf.tensor2d([[1, 2, 3], [4, 5, 6]]), tf.tensor2d([[2, 0], [1, 1]], [2, 2], 'int32'), 1, 1);
    assert.deepEqual(await bd.array(), [[3, 1], [5, 5]], `${backend} gather batchDims 1 (fallback)`);

    tf.dispose([y, cols, g1, z, g2, bd]);
  });
}
