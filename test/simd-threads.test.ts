/**
 * The SIMD kernels on several threads (kernels/simd/index.ts splits each call by destination
 * rows, edges, heads or output columns): for 1, 2, 3 and 5 threads, every kernel's outputs are
 * bit-identical to its one-thread outputs and agree with its JS twin (kernels/loops.ts) up to
 * float32 rounding, on graphs with a hub, isolated nodes, no edges and no nodes. The split
 * threshold is set to 0, so even small calls are cut into tasks, and the test checks that worker
 * threads really ran some of them.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, test } from 'node:test';
import * as js from '../kernels/loops.js';
import * as simd from '../kernels/simd/index.js';
import { dropoutConstants, dropoutLoop } from '../kernels/dropout-hash.js';
import { mulberry32 } from '../src/util/prng.js';

const THREADS = [1, 2, 3, 5];

/** mulberry32: deterministic inputs, so a failure can be replayed. */
const rng = mulberry32;

function randF32(r: () => number, n: number): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = r() < 0.05 ? 0 : r() * 2 - 1;
  return a;
}

/** A graph's edges grouped by source, in increasing CSR position (as src/graph/layout.ts builds
 * them): what lets score_backward scatter to sources on several threads. */
function bySource(csrSrc: Int32Array, N: number): simd.BySource {
  const srcPtr = new Int32Array(N + 1);
  for (const j of csrSrc) srcPtr[j + 1]++;
  for (let j = 0; j < N; j++) srcPtr[j + 1] += srcPtr[j];
  const next = srcPtr.slice(0, N), srcOrder = new Int32Array(csrSrc.length);
  csrSrc.forEach((j, p) => (srcOrder[next[j]++] = p));
  return { srcPtr, srcOrder };
}

/** N nodes sorted by destination: node `hub` gets hubDegree in-edges, every third node none
 * (isolated unless it is someone's source), the rest 0-6; `edges` false: no edges at all. With
 * the source grouping. */
function graph(r: () => number, N: number, hub: number, hubDegree: number, edges = true): js.CsrArrays & simd.BySource {
  const rowPtr = new Int32Array(N + 1);
  const src: number[] = [], dst: number[] = [];
  for (let i = 0; i < N; i++) {
    const deg = !edges ? 0 : i === hub ? hubDegree : i % 3 === 1 ? 0 : Math.floor(r() * 7);
    for (let d = 0; d < deg; d++) {
      src.push(Math.floor(r() * N));
      dst.push(i);
    }
    rowPtr[i + 1] = src.length;
  }
  const csrSrc = Int32Array.from(src);
  return { rowPtr, csrSrc, csrDst: Int32Array.from(dst), ...bySource(csrSrc, N) };
}

/** Largest |a - b| / (|b| + scale) over the elements (scale: the size of the terms). */
function worstDiff(a: Float32Array, b: Float32Array, scale: number): number {
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]) / (Math.abs(b[i]) + scale));
  return worst;
}

const GRAPHS = [
  { N: 0, hub: -1, deg: 0, edges: false, label: 'no nodes' },
  { N: 7, hub: -1, deg: 0, edges: false, label: 'no edges' },
  { N: 60, hub: 5, deg: 40, edges: true, label: 'small, hub of 40' },
  { N: 900, hub: 400, deg: 2000, edges: true, label: 'hub of 2000, isolated nodes' },
];
const SHAPES: [number, number][] = [[1, 7], [2, 4], [3, 5], [8, 8], [1, 64]];

interface Outputs {
  [name: string]: Float32Array;
}

/** Every kernel on one input, outputs prefilled (they accumulate), with the thread count in force. */
function runAll(seed: number, g: js.CsrArrays, N: number, H: number, C: number, kernels: typeof js): Outputs {
  const r = rng(seed);
  const E = g.csrSrc.length, HC = H * C, F = 19;
  const xl = randF32(r, N * HC), xr = randF32(r, N * HC), att = randF32(r, HC), ep = randF32(r, E * HC);
  const dE = randF32(r, E * H), alpha = randF32(r, E * H), dOut = randF32(r, N * HC);
  const e = randF32(r, E * H).map((v) => v * 20);
  const o: Outputs = {
    e: new Float32Array(E * H),
    dxl: randF32(r, N * HC), dxr: randF32(r, N * HC), dAtt: randF32(r, HC), dEp: new Float32Array(E * HC),
    agg: randF32(r, N * HC), dAlpha: new Float32Array(E * H), aggDxl: randF32(r, N * HC),
    alpha: randF32(r, E * H), dEs: new Float32Array(E * H),
    y: randF32(r, N * HC), dw: randF32(r, F * HC),
  };
  const colIdx = g.csrSrc.map((s) => s % F), values = randF32(r, E), w = randF32(r, F * HC);
  kernels.scoreForward(g, xl, xr, att, ep, H, C, 0.2, o.e);
  kernels.scoreBackward(g, xl, xr, att, ep, dE, H, C, 0.2, o.dxl, o.dxr, o.dAtt, o.dEp);
  kernels.aggregateForward(g, alpha, xl, H, C, o.agg);
  kernels.aggregateBackward(g, alpha, xl, dOut, H, C, o.dAlpha, o.aggDxl);
  kernels.softmaxForward(g.rowPtr, e, H, o.alpha);
  kernels.softmaxBackward(g.rowPtr, alpha, dE, H, o.dEs);
  kernels.sparseMatMul(g.rowPtr, colIdx, values, w, HC, o.y);
  kernels.sparseMatMulGrad(g.rowPtr, colIdx, values, dOut, HC, o.dw);
  return o;
}

after(() => simd.setThreads(1));

test('every kernel gives the same bits on 1, 2, 3 and 5 threads, and matches the JS loops', async (t) => {
  if (!simd.simdEnabled()) {
    t.skip(`SIMD unavailable: ${simd.simdDisabledReason()}`);
    return;
  }
  simd.setMinParallelWork(0);
  // Blocks of 64 edges: score_backward's two passes (blocks of rows, then sources) run here too.
  simd.setScoreBlockEdges(64);
  let seed = 1;
  const before = simd.workerTaskCount(), splitBefore = simd.splitRunCounts()['score_backward_dxl'] ?? 0;
  for (const { N, hub, deg, edges, label } of GRAPHS) {
    for (const [H, C] of SHAPES) {
      seed++;
      const g = graph(rng(seed * 7919), N, hub, deg, edges);
      const want = runAll(seed, g, N, H, C, js);
      let one: Outputs | null = null;
      for (const threads of THREADS) {
        simd.setThreads(threads);
        await simd.threadsReady();
        const got = runAll(seed, g, N, H, C, simd as unknown as typeof js);
        const what = `${label} H=${H} C=${C} threads=${threads}`;
        for (const k of Object.keys(want)) {
          // Loose against the JS (float64 intermediates there; the exact bound is simd-kernels.test.ts's).
          assert.ok(worstDiff(got[k], want[k], 1) < 1e-3, `${k} ${what}: differs from the JS loop`);
          if (one) assert.deepEqual(got[k], one[k], `${k} ${what}: not bit-identical to 1 thread`);
        }
        if (threads === 1) one = got;
      }
    }
  }
  assert.ok(simd.workerTaskCount() > before, 'no task ran on a worker thread');
  assert.ok((simd.splitRunCounts()['score_backward_dxl'] ?? 0) > splitBefore, 'score_backward never scattered by source');
  simd.setMinParallelWork(simd.DEFAULT_MIN_PARALLEL_WORK);
  simd.setScoreBlockEdges(4096);
});

test('scoreBackward with a source grouping that does not match csrSrc runs as one task: the same bits', async (t) => {
  if (!simd.simdEnabled()) {
    t.skip(`SIMD unavailable: ${simd.simdDisabledReason()}`);
    return;
  }
  simd.setMinParallelWork(0);
  simd.setScoreBlockEdges(64);
  try {
    const r = rng(41);
    const N = 300, H = 2, C = 8, HC = H * C;
    const g = graph(r, N, 7, 500);
    const E = g.csrSrc.length;
    const xl = randF32(r, N * HC), xr = randF32(r, N * HC), att = randF32(r, HC), dE = randF32(r, E * H);
    // Two entries of one source's list swapped (out of order), and a list naming an edge of
    // another source: each would make the scatter by source add other terms or in another order.
    // Neither may be used: the call runs as one task and gives one thread's bits.
    const swapped = { ...g, srcOrder: g.srcOrder.slice() };
    const j = Array.from({ length: N }, (_, k) => k).find((k) => g.srcPtr[k + 1] - g.srcPtr[k] >= 2)!;
    [swapped.srcOrder[g.srcPtr[j]], swapped.srcOrder[g.srcPtr[j] + 1]] = [swapped.srcOrder[g.srcPtr[j] + 1], swapped.srcOrder[g.srcPtr[j]]];
    const foreign = { ...g, srcOrder: g.srcOrder.slice() };
    foreign.srcOrder[g.srcPtr[j]] = g.srcOrder.find((p) => g.csrSrc[p] !== j)!;
    const run = (gg: js.CsrArrays) => {
      const out = [new Float32Array(N * HC), new Float32Array(N * HC), new Float32Array(HC)];
      simd.scoreBackward(gg, xl, xr, att, null, dE, H, C, 0.2, out[0], out[1], out[2], null);
      return out;
    };
    simd.setThreads(1);
    const one = run(g);
    simd.setThreads(3);
    await simd.threadsReady();
    const before = simd.splitRunCounts()['score_backward_dxl'] ?? 0;
    assert.deepEqual(run(g), one, 'the right grouping on 3 threads');
    assert.equal(simd.splitRunCounts()['score_backward_dxl'], before + 1, 'the right grouping did not scatter by source');
    assert.deepEqual(run(swapped), one, 'an out-of-order grouping');
    assert.deepEqual(run(foreign), one, "a grouping naming another source's edge");
    // Edges not sorted by destination (reversed): blocks would not own their rows of dxr.
    const rSrc = g.csrSrc.slice().reverse();
    const reversed = { rowPtr: g.rowPtr, csrSrc: rSrc, csrDst: g.csrDst.slice().reverse(), ...bySource(rSrc, N) };
    simd.setThreads(1);
    const oneReversed = run(reversed);
    simd.setThreads(3);
    assert.deepEqual(run(reversed), oneReversed, 'edges not sorted by destination');
    assert.equal(simd.splitRunCounts()['score_backward_dxl'], before + 1, 'a wrong grouping, or unsorted edges, were split');
  } finally {
    simd.setThreads(1);
    simd.setMinParallelWork(simd.DEFAULT_MIN_PARALLEL_WORK);
    simd.setScoreBlockEdges(4096);
  }
});

test('a dropped memory (a call above the keep limit) is replaced in the workers too', async (t) => {
  if (!simd.simdEnabled()) {
    t.skip(`SIMD unavailable: ${simd.simdDisabledReason()}`);
    return;
  }
  simd.setMinParallelWork(0);
  simd.setThreads(3);
  await simd.threadsReady();
  // xl and out of 136 MB each: the loader drops its memory (over 256 MB) after this call and
  // makes a new one for the next.
  const N = 520, H = 8, C = 8192, HC = H * C;
  const r = rng(3);
  const g = graph(r, N, 10, 50);
  const E = g.csrSrc.length;
  const alpha = randF32(r, E * H), xl = randF32(r, N * HC);
  const big1 = new Float32Array(N * HC), big3 = new Float32Array(N * HC);
  simd.aggregateForward(g, alpha, xl, H, C, big3);
  const small = graph(r, 50, 3, 20);
  const sa = randF32(r, small.csrSrc.length * 2), sx = randF32(r, 50 * 2 * 4);
  const s3 = new Float32Array(50 * 8), s1 = new Float32Array(50 * 8);
  simd.aggregateForward(small, sa, sx, 2, 4, s3);
  simd.setThreads(1);
  simd.aggregateForward(g, alpha, xl, H, C, big1);
  simd.aggregateForward(small, sa, sx, 2, 4, s1);
  assert.deepEqual(big3, big1);
  assert.deepEqual(s3, s1);
  assert.ok(worstDiff(s1, (() => { const o = new Float32Array(50 * 8); js.aggregateForward(small, sa, sx, 2, 4, o); return o; })(), 1) < 1e-5);
  simd.setMinParallelWork(simd.DEFAULT_MIN_PARALLEL_WORK);
});

test('thread counts: --threads, GATV2_THREADS, the default, and bad values (GATV2_SPLIT_WORK too)', () => {
  assert.throws(() => simd.parseThreads('0', '--threads'), /--threads must be a whole number from 1 to 256, got "0"/);
  assert.throws(() => simd.parseThreads('2.5', 'GATV2_THREADS'), /GATV2_THREADS/);
  assert.equal(simd.parseThreads(' 3 ', '--threads'), 3);
  const cli = (args: string[], env: Record<string, string> = {}) =>
    spawnSync(process.execPath, ['bin/gatv2.js', 'backends', '--json', ...args], {
      cwd: new URL('../..', import.meta.url), env: { ...process.env, GATV2_THREADS: '', ...env }, encoding: 'utf8',
    });
  const opt = cli(['--threads', '3'], { GATV2_THREADS: '5' });
  assert.equal(opt.status, 0, opt.stderr);
  assert.deepEqual(JSON.parse(opt.stdout).threads.threads, 3);
  assert.equal(JSON.parse(opt.stdout).threads.source, 'option');
  const env = cli([], { GATV2_THREADS: '5' });
  assert.equal(JSON.parse(env.stdout).threads.threads, 5);
  assert.equal(JSON.parse(env.stdout).threads.source, 'GATV2_THREADS');
  const bad = cli([], { GATV2_THREADS: 'many' });
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /^gatv2: GATV2_THREADS must be a whole number from 1 to 256, got "many"/);
  assert.equal(bad.stderr.trim().split('\n').length, 1);
  const badWork = cli([], { GATV2_SPLIT_WORK: '-1' });
  assert.equal(badWork.status, 2);
  assert.match(badWork.stderr, /^gatv2: GATV2_SPLIT_WORK must be a number >= 0, got "-1"/);
  assert.equal(badWork.stderr.trim().split('\n').length, 1);
});

test('the JS fallback says once on stderr that it is in use', () => {
  const url = new URL('../kernels/simd/index.js', import.meta.url).href;
  const script = `import(${JSON.stringify(url)}).then((m) => { const y = new Float32Array(2);
    for (let k = 0; k < 3; k++) m.sparseMatMul(Int32Array.from([0, 1, 2]), Int32Array.from([1, 0]), Float32Array.from([2, 3]), Float32Array.from([5, 7]), 1, y);
    console.log(JSON.stringify(Array.from(y))); })`;
  const run = spawnSync(process.execPath, ['-e', script], { env: { ...process.env, GATV2_NO_SIMD: '1' }, encoding: 'utf8' });
  assert.equal(run.status, 0, run.stderr);
  assert.deepEqual(JSON.parse(run.stdout), [42, 45]);
  const lines = run.stderr.split('\n').filter((l) => l.includes('JS kernel loops'));
  assert.equal(lines.length, 1, run.stderr);
  assert.match(lines[0], /GATV2_NO_SIMD is set/);
});

test('denseMatMul (x W and x^T dy) matches a plain loop, bit-identical on 1, 2 and 3 threads', async (t) => {
  if (!simd.simdEnabled()) {
    t.skip(`SIMD unavailable: ${simd.simdDisabledReason()}`);
    return;
  }
  simd.setMinParallelWork(0);
  const r = rng(11);
  for (const [M, K, N] of [[1, 1, 1], [7, 5, 3], [37, 19, 70], [130, 64, 16]]) {
    const a = randF32(r, M * K), b = randF32(r, K * N);
    // a^T as stored [K, M]: the same product through the transposed path.
    const at = new Float32Array(K * M);
    for (let m = 0; m < M; m++) for (let k = 0; k < K; k++) at[k * M + m] = a[m * K + k];
    const want = new Float32Array(M * N);
    for (let m = 0; m < M; m++) {
      for (let n = 0; n < N; n++) {
        let s = 0;
        for (let k = 0; k < K; k++) s += a[m * K + k] * b[k * N + n];
        want[m * N + n] = s;
      }
    }
    let one: Float32Array | null = null;
    for (const threads of [1, 2, 3]) {
      simd.setThreads(threads);
      await simd.threadsReady();
      const got = new Float32Array(M * N), gotT = new Float32Array(M * N);
      assert.ok(simd.denseMatMul(a, M, K, false, b, N, got));
      assert.ok(simd.denseMatMul(at, M, K, true, b, N, gotT));
      assert.deepEqual(gotT, got, `transposed path M=${M} K=${K} N=${N}`);
      assert.ok(worstDiff(got, want, 1) < 1e-5, `M=${M} K=${K} N=${N} threads=${threads}`);
      if (one) assert.deepEqual(got, one, `M=${M} K=${K} N=${N}: ${threads} threads differ from 1`);
      one ??= got;
    }
  }
  simd.setThreads(1);
  simd.setMinParallelWork(simd.DEFAULT_MIN_PARALLEL_WORK);
});

test('dropout gives the bits of the JS loop (kernels/dropout-hash.ts) on 1, 2 and 3 threads', async (t) => {
  if (!simd.simdEnabled()) {
    t.skip(`SIMD unavailable: ${simd.simdDisabledReason()}`);
    return;
  }
  simd.setMinParallelWork(0);
  const r = rng(21);
  for (const n of [1, 3, 4, 5, 17, 1000, 40001]) {
    const x = randF32(r, n).map((v) => v * 100);
    if (n > 5) x.set([NaN, Infinity, -Infinity, -0, 0, 1e-40], 0);
    for (const [p, seed] of [[0, 1], [0.5, 7], [0.6, 0xfffffff0], [0.999, 3]]) {
      const c = dropoutConstants(p, seed);
      const want = new Float32Array(n);
      dropoutLoop(x, c, want);
      for (const threads of [1, 2, 3]) {
        simd.setThreads(threads);
        await simd.threadsReady();
        const got = new Float32Array(n);
        assert.ok(simd.dropout(x, c.key, c.seed, c.threshold, c.scale, got));
        // deepEqual tells -0 from 0 and matches NaN with NaN.
        assert.deepEqual(got, want, `n=${n} p=${p} seed=${seed} threads=${threads}`);
      }
    }
  }
  simd.setThreads(1);
  simd.setMinParallelWork(simd.DEFAULT_MIN_PARALLEL_WORK);
});
