/**
 * The WebAssembly SIMD kernels (kernels/simd) against their JS twins (kernels/loops.ts) on random
 * input of awkward sizes: C and K not multiples of 4, one head or several, empty rows, E = 0, a hub
 * row of 500 edges, ep / dEp absent, dE with exact zeros, outputs that already hold values (both
 * accumulate). The JS keeps intermediates in float64 and the wasm in float32 (but for the softmax,
 * float64 like the JS), so results agree up to float32 rounding, measured relative to the magnitude
 * of each element's terms (relDiff).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import * as js from '../kernels/loops.js';
import * as simd from '../kernels/simd/index.js';
import { worstElementError } from '../src/util/rel-error.js';
import { mulberry32 } from '../src/util/prng.js';

const TOL = 1e-6;
const noSimd = simd.simdDisabledReason();

/** mulberry32: deterministic inputs, so a failure can be replayed. */
const rng = mulberry32;

function randF32(r: () => number, n: number, zeroShare = 0): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = r() < zeroShare ? (r() < 0.5 ? 0 : -0) : r() * 2 - 1;
  return a;
}

/**
 * A CSR graph of N nodes sorted by destination: node `hub` (if any) receives `hubDegree` edges,
 * every third node none, the others 0-6 (hub = -1: no edges at all). Sources are uniform.
 */
function randomGraph(r: () => number, N: number, hub: number | null, hubDegree = 500): js.CsrArrays {
  const rowPtr = new Int32Array(N + 1);
  const src: number[] = [], dst: number[] = [];
  for (let i = 0; i < N; i++) {
    const deg = i === hub ? hubDegree : i % 3 === 1 || hub === -1 ? 0 : Math.floor(r() * 7);
    for (let d = 0; d < deg; d++) {
      src.push(Math.floor(r() * N));
      dst.push(i);
    }
    rowPtr[i + 1] = src.length;
  }
  return { rowPtr, csrSrc: Int32Array.from(src), csrDst: Int32Array.from(dst) };
}

/**
 * The measure (src/util/rel-error.ts): for each element, |simd - js| / M, where M is the sum of the
 * magnitudes of the terms that make the element (what float32 rounding error is proportional to).
 * M comes from the JS twin run on the absolute values of the inputs (and of the prefilled outputs);
 * see each test for the kernels where that needs a factor or a hand-written sum. A plain
 * |a - b| / |b| would fail on elements that cancel to near zero: they keep the rounding error of
 * their larger terms, which no float32 kernel reproduces relative to the small result (the JS
 * accumulates in float64). NaNs must match; where M is 0 the two must be equal.
 */
function relDiff(got: Float32Array, want: Float32Array, mag: Float32Array): number {
  assert.equal(got.length, want.length);
  assert.equal(mag.length, want.length);
  const worst = worstElementError(got, want, mag, { nanMatchesNaN: true });
  assert.ok(!Number.isNaN(worst.value), `NaN at ${worst.index}: ${got[worst.index]} vs ${want[worst.index]}`);
  return worst.value;
}

function assertClose(got: Float32Array, want: Float32Array, mag: Float32Array, what: string): void {
  const d = relDiff(got, want, mag);
  assert.ok(d <= TOL, `${what}: relative difference ${d.toExponential(2)} > ${TOL}`);
}

function abs(a: Float32Array): Float32Array {
  return a.map(Math.abs);
}

function scaled(a: Float32Array, k: number): Float32Array {
  return a.map((v) => v * k);
}

/** Runs f, which calls one SIMD kernel, and checks that the kernel ran in the wasm (when it is
 * enabled and there is work), so that no comparison silently pits the JS fallback against itself. */
function inWasm(f: () => void, work: boolean, what: string): void {
  const before = simd.simdRunCount();
  f();
  if (simd.simdEnabled() && work) assert.equal(simd.simdRunCount(), before + 1, `${what} did not run in the wasm`);
}

/** Two copies of the same starting output: zeros, or values already there (both must accumulate). */
function outPair(r: () => number, n: number, prefilled: boolean): [Float32Array, Float32Array] {
  const a = prefilled ? randF32(r, n) : new Float32Array(n);
  return [a, a.slice()];
}

const SHAPES: [number, number][] = [[1, 1], [1, 3], [3, 5], [8, 8], [1, 8], [3, 1], [8, 3], [2, 7], [1, 64]];
const GRAPHS: { N: number; hub: number | null; label: string }[] = [
  { N: 0, hub: null, label: 'no nodes' },
  { N: 1, hub: null, label: 'one node' },
  { N: 9, hub: -1, label: 'no edges (E = 0)' },
  { N: 40, hub: null, label: 'small' },
  { N: 700, hub: 123, label: 'hub of 500' },
];

test('SIMD module is loaded (the comparisons below are not JS against JS)', (t) => {
  if (process.env['GATV2_NO_SIMD'] && process.env['GATV2_NO_SIMD'] !== '0') {
    t.skip('GATV2_NO_SIMD is set');
    return;
  }
  assert.equal(noSimd, null, `SIMD unavailable: ${noSimd} (run scripts/build-wasm.mjs after tsc)`);
  assert.equal(simd.simdEnabled(), true);
});

test('sparseMatMul and sparseMatMulGrad match the JS loops', () => {
  let seed = 1;
  for (const K of [1, 3, 4, 5, 8, 17, 64, 67]) {
    for (const { N, hub, label } of GRAPHS) {
      for (const prefilled of [false, true]) {
        const r = rng(seed++);
        const F = 37;
        // CSR X: the graph's rows, its sources as feature columns (duplicates within a row allowed).
        const g = randomGraph(r, N, hub);
        const colIdx = g.csrSrc.map((s) => s % F);
        const values = randF32(r, colIdx.length);
        const rowPtr = N === 0 ? new Int32Array(1) : g.rowPtr;
        const w = randF32(r, F * K);
        const what = `K=${K} ${label} prefilled=${prefilled}`;

        const [y1, y2] = outPair(r, N * K, prefilled);
        const yMag = abs(y1);
        js.sparseMatMul(rowPtr, colIdx, abs(values), abs(w), K, yMag);
        js.sparseMatMul(rowPtr, colIdx, values, w, K, y1);
        inWasm(() => simd.sparseMatMul(rowPtr, colIdx, values, w, K, y2), N > 0, 'sparseMatMul');
        assertClose(y2, y1, yMag, `sparseMatMul ${what}`);

        const dy = randF32(r, N * K);
        const [d1, d2] = outPair(r, F * K, prefilled);
        const dMag = abs(d1);
        js.sparseMatMulGrad(rowPtr, colIdx, abs(values), abs(dy), K, dMag);
        js.sparseMatMulGrad(rowPtr, colIdx, values, dy, K, d1);
        inWasm(() => simd.sparseMatMulGrad(rowPtr, colIdx, values, dy, K, d2), N > 0, 'sparseMatMulGrad');
        assertClose(d2, d1, dMag, `sparseMatMulGrad ${what}`);
      }
    }
  }
});

test('scoreForward and scoreBackward match the JS loops (ep, dEp, dE zeros, slopes)', () => {
  let seed = 1000;
  for (const [H, C] of SHAPES) {
    for (const { N, hub, label } of GRAPHS) {
      for (const withEp of [false, true]) {
        const r = rng(seed++);
        const g = randomGraph(r, N, hub);
        const E = g.csrSrc.length, HC = H * C;
        const xl = randF32(r, N * HC), xr = randF32(r, N * HC), att = randF32(r, HC);
        const ep = withEp ? randF32(r, E * HC) : null;
        const slope = [0.2, 0.01, 1.5][seed % 3];
        // On absolute inputs z >= 0, so the JS twin sums |a| (|xr| + |xl| + |ep|); the LeakyReLU
        // scales a term by at most max(1, |slope|).
        const k = Math.max(1, Math.abs(slope));
        const absEp = ep && abs(ep);
        const what = `H=${H} C=${C} ${label} ep=${withEp} slope=${slope}`;

        const e1 = new Float32Array(E * H), e2 = new Float32Array(E * H), eMag = new Float32Array(E * H);
        js.scoreForward(g, abs(xl), abs(xr), abs(att), absEp, H, C, slope, eMag);
        js.scoreForward(g, xl, xr, att, ep, H, C, slope, e1);
        inWasm(() => simd.scoreForward(g, xl, xr, att, ep, H, C, slope, e2), E > 0, 'scoreForward');
        assertClose(e2, e1, scaled(eMag, k), `scoreForward ${what}`);

        // A fifth of dE is exactly +-0: those (p, h) are skipped, leaving dEp as passed in.
        const dE = randF32(r, E * H, 0.2);
        const prefilled = seed % 2 === 0;
        const [dxl0] = outPair(r, N * HC, prefilled);
        const [dxr0] = outPair(r, N * HC, prefilled);
        const [dAtt0] = outPair(r, HC, prefilled);
        for (const withDEp of [false, true]) {
          const dEp0 = withDEp ? randF32(r, E * HC) : null;
          const want = [dxl0.slice(), dxr0.slice(), dAtt0.slice(), dEp0?.slice() ?? null] as const;
          const got = [dxl0.slice(), dxr0.slice(), dAtt0.slice(), dEp0?.slice() ?? null] as const;
          const mag = [abs(dxl0), abs(dxr0), abs(dAtt0), dEp0 && abs(dEp0)] as const;
          js.scoreBackward(g, abs(xl), abs(xr), abs(att), absEp, abs(dE), H, C, slope, mag[0], mag[1], mag[2], mag[3]);
          js.scoreBackward(g, xl, xr, att, ep, dE, H, C, slope, want[0], want[1], want[2], want[3]);
          inWasm(() => simd.scoreBackward(g, xl, xr, att, ep, dE, H, C, slope, got[0], got[1], got[2], got[3]), E > 0, 'scoreBackward');
          const w = `${what} dEp=${withDEp} prefilled=${prefilled}`;
          assertClose(got[0], want[0], scaled(mag[0], k), `scoreBackward dxl ${w}`);
          assertClose(got[1], want[1], scaled(mag[1], k), `scoreBackward dxr ${w}`);
          assertClose(got[2], want[2], scaled(mag[2], k), `scoreBackward dAtt ${w}`);
          if (got[3] && want[3] && mag[3]) assertClose(got[3], want[3], scaled(mag[3], k), `scoreBackward dEp ${w}`);
        }
      }
    }
  }
});

/** The magnitude of softmaxBackward's terms: |alpha| (|dAlpha| + sum_row |alpha'| |dAlpha'|). */
function softmaxBackwardMagnitude(rowPtr: Int32Array, alpha: Float32Array, dAlpha: Float32Array, H: number, dE: Float32Array): void {
  for (let i = 0; i + 1 < rowPtr.length; i++) {
    for (let h = 0; h < H; h++) {
      let dot = 0;
      for (let p = rowPtr[i]; p < rowPtr[i + 1]; p++) dot += Math.abs(alpha[p * H + h] * dAlpha[p * H + h]);
      for (let p = rowPtr[i]; p < rowPtr[i + 1]; p++) dE[p * H + h] = Math.abs(alpha[p * H + h]) * (Math.abs(dAlpha[p * H + h]) + dot);
    }
  }
}

test('aggregateForward, aggregateBackward and softmaxBackward match the JS loops', () => {
  let seed = 5000;
  for (const [H, C] of SHAPES) {
    for (const { N, hub, label } of GRAPHS) {
      for (const prefilled of [false, true]) {
        const r = rng(seed++);
        const g = randomGraph(r, N, hub);
        const E = g.csrSrc.length, HC = H * C;
        const what = `H=${H} C=${C} ${label} prefilled=${prefilled}`;
        const alpha = randF32(r, E * H), xl = randF32(r, N * HC);

        const [o1, o2] = outPair(r, N * HC, prefilled);
        const oMag = abs(o1);
        js.aggregateForward(g, abs(alpha), abs(xl), H, C, oMag);
        js.aggregateForward(g, alpha, xl, H, C, o1);
        inWasm(() => simd.aggregateForward(g, alpha, xl, H, C, o2), N > 0, 'aggregateForward');
        assertClose(o2, o1, oMag, `aggregateForward ${what}`);

        const dOut = randF32(r, N * HC);
        const [da1, da2] = outPair(r, E * H, prefilled);
        const [dx1, dx2] = outPair(r, N * HC, prefilled);
        const daMag = abs(da1), dxMag = abs(dx1);
        js.aggregateBackward(g, abs(alpha), abs(xl), abs(dOut), H, C, daMag, dxMag);
        js.aggregateBackward(g, alpha, xl, dOut, H, C, da1, dx1);
        inWasm(() => simd.aggregateBackward(g, alpha, xl, dOut, H, C, da2, dx2), E > 0, 'aggregateBackward');
        assertClose(da2, da1, daMag, `aggregateBackward dAlpha ${what}`);
        assertClose(dx2, dx1, dxMag, `aggregateBackward dxl ${what}`);

        const [de1, de2] = outPair(r, E * H, prefilled);
        const deMag = abs(de1);
        softmaxBackwardMagnitude(g.rowPtr, alpha, da1, H, deMag);
        js.softmaxBackward(g.rowPtr, alpha, da1, H, de1);
        inWasm(() => simd.softmaxBackward(g.rowPtr, alpha, da1, H, de2), N > 0, 'softmaxBackward');
        assertClose(de2, de1, deMag, `softmaxBackward ${what}`);
      }
    }
  }
});

test('softmaxForward matches the JS loop, including -Inf, +Inf, NaN, huge and subnormal gaps', () => {
  let seed = 9000;
  for (const H of [1, 2, 3, 4, 8]) {
    for (const { N, hub, label } of GRAPHS) {
      for (const special of [false, true]) {
        const r = rng(seed++);
        const g = randomGraph(r, N, hub);
        const E = g.csrSrc.length;
        // Scores spread over [-60, 60]: exp(e - m) reaches 1e-52, below float32's smallest value.
        const e = randF32(r, E * H).map((v) => v * 60);
        if (special && E > 0) {
          const put = (v: number) => { e[Math.floor(r() * E * H)] = v; };
          for (let k = 0; k < 3; k++) { put(-Infinity); put(Infinity); put(NaN); put(-1e4); put(-95); put(-88); }
          // A whole row of -Inf (NaN, as in the JS: -Inf - -Inf).
          const i = g.rowPtr.findIndex((p, k) => k < N && g.rowPtr[k + 1] > p);
          for (let p = g.rowPtr[i]; p < g.rowPtr[i + 1]; p++) e[p * H] = -Infinity;
        }
        // Prefilled: empty rows keep what alpha held.
        const [a1, a2] = outPair(r, E * H + 3, true);
        js.softmaxForward(g.rowPtr, e, H, a1);
        inWasm(() => simd.softmaxForward(g.rowPtr, e, H, a2), N > 0, 'softmaxForward');
        // Each alpha is a quotient of positive terms: relative to itself (absolute below 1e-30,
        // where float32 is subnormal and a 1-ulp tie changes the value by a large relative step).
        const mag = a1.map((v) => Math.abs(v) + 1e-30);
        assertClose(a2, a1, mag, `softmaxForward H=${H} ${label} special=${special}`);
      }
    }
  }
});

test('dE = 0 leaves dEp untouched and adds nothing', () => {
  const r = rng(77);
  const g = randomGraph(r, 30, 3, 50);
  const E = g.csrSrc.length, H = 2, C = 5, HC = H * C;
  const xl = randF32(r, 30 * HC), xr = randF32(r, 30 * HC), att = randF32(r, HC);
  const dE = new Float32Array(E * H); // all zeros
  const dEp = new Float32Array(E * HC).fill(7), dxl = new Float32Array(30 * HC).fill(3);
  simd.scoreBackward(g, xl, xr, att, null, dE, H, C, 0.2, dxl, new Float32Array(30 * HC), new Float32Array(HC), dEp);
  assert.ok(dEp.every((v) => v === 7));
  assert.ok(dxl.every((v) => v === 3));
});

test('input the wasm cannot index safely runs the JS loops (same NaNs, same dropped writes)', () => {
  const r = rng(99);
  const g = randomGraph(r, 20, null);
  const H = 2, C = 3, HC = H * C, E = g.csrSrc.length;
  const bad = { ...g, csrSrc: g.csrSrc.slice() };
  bad.csrSrc[E - 1] = 25; // a source past the last node: the JS reads undefined, so NaN
  const xl = randF32(r, 20 * HC), xr = randF32(r, 20 * HC), att = randF32(r, HC);
  const e1 = new Float32Array(E * H), e2 = new Float32Array(E * H);
  const before = simd.simdRunCount();
  js.scoreForward(bad, xl, xr, att, null, H, C, 0.2, e1);
  simd.scoreForward(bad, xl, xr, att, null, H, C, 0.2, e2);
  assert.ok(Number.isNaN(e1[(E - 1) * H]));
  assert.deepEqual(e2, e1);

  const rowPtr = Int32Array.from([0, 2, 5]), colIdx = Int32Array.from([0, 1, 2, -1, 1]);
  const values = randF32(r, 5), w = randF32(r, 3 * 4);
  const y1 = new Float32Array(8), y2 = new Float32Array(8);
  js.sparseMatMul(rowPtr, colIdx, values, w, 4, y1);
  simd.sparseMatMul(rowPtr, colIdx, values, w, 4, y2);
  assert.deepEqual(y2, y1);
  assert.equal(simd.simdRunCount(), before, 'both ran the JS loops');
});

test('an output that overlaps an input runs the JS loops', () => {
  const r = rng(5);
  const buf = new Float32Array(64);
  buf.set(randF32(r, 64));
  const copy = buf.slice();
  const rowPtr = Int32Array.from([0, 1, 2]), colIdx = Int32Array.from([1, 0]), values = Float32Array.from([0.5, -2]);
  // y (rows 0-1) overlaps W (rows 1-2) of the same buffer.
  const w = buf.subarray(8, 32), y = buf.subarray(0, 16);
  js.sparseMatMul(rowPtr, colIdx, values, copy.subarray(8, 32), 8, copy.subarray(0, 16));
  const before = simd.simdRunCount();
  simd.sparseMatMul(rowPtr, colIdx, values, w, 8, y);
  assert.deepEqual(buf, copy);
  assert.equal(simd.simdRunCount(), before, 'it ran the JS loop');
});

test('GATV2_NO_SIMD=1 makes the kernels run the JS loops', () => {
  const url = new URL('../kernels/simd/index.js', import.meta.url).href;
  const script = `import(${JSON.stringify(url)}).then((m) => console.log(JSON.stringify([m.simdEnabled(), m.simdDisabledReason()])))`;
  const run = spawnSync(process.execPath, ['-e', script], { env: { ...process.env, GATV2_NO_SIMD: '1' }, encoding: 'utf8' });
  assert.equal(run.status, 0, run.stderr);
  assert.deepEqual(JSON.parse(run.stdout), [false, 'GATV2_NO_SIMD is set']);
});

test('without the .wasm the kernels run the JS loops', async () => {
  // A copy of the compiled loader and loops.ts, without gat-kernels.wasm next to it.
  const dir = mkdtempSync(join(tmpdir(), 'gatv2-simd-'));
  try {
    const from = fileURLToPath(new URL('../kernels/', import.meta.url));
    cpSync(join(from, 'loops.js'), join(dir, 'loops.js'));
    for (const f of ['index.js', 'module.js', 'memory.js', 'threads.js', 'worker.js']) cpSync(join(from, 'simd', f), join(dir, 'simd', f));
    const m = (await import(pathToFileURL(join(dir, 'simd', 'index.js')).href)) as typeof simd;
    assert.equal(m.simdEnabled(), false);
    assert.match(m.simdDisabledReason() ?? '', noSimd === null ? /cannot load gat-kernels\.wasm/ : /GATV2_NO_SIMD/);
    const y = new Float32Array(2);
    m.sparseMatMul(Int32Array.from([0, 1, 2]), Int32Array.from([1, 0]), Float32Array.from([2, 3]), Float32Array.from([5, 7]), 1, y);
    assert.deepEqual(y, Float32Array.from([14, 15]));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
