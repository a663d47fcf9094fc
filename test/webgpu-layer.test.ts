/**
 * The whole GATv2 layer on WebGPU: every PyG fixture (output, attention and every gradient within
 * 1e-5 relative, 1e-3 for large-scores) in both gradient modes (the analytic ops and the autograd
 * twins), and a graph with a node of in-degree 100000 against the cpu backend.
 *
 * Needs a WebGPU adapter (lavapipe will do, see .ci/install-vulkan.sh). Without one the tests
 * skip, except under CI=true, where that is a failure.
 */
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { basename } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { selectBackend } from '../src/backends/index.js';
import { type Dense64, dense, relError } from '../src/check/dense.js';
import { listFixtureFiles, loadFixture } from '../src/check/fixture.js';
import { type LayerResult, runLayer } from '../src/check/layer-run.js';
import { randomLayerCase } from '../src/check/random-layer.js';
import { referenceMagnitudes, type ReferenceMagnitudes } from '../src/check/reference-magnitude.js';
import { Prng } from '../src/util/prng.js';
import { buildLayout, type GraphLayout } from '../src/graph/layout.js';
import { aggregateAutograd } from '../src/ops/aggregate.js';
import { graphTensors, type GradMode } from '../src/ops/graph-tensors.js';
import { softmaxAutograd } from '../src/ops/softmax.js';
import { takeWebGPUErrors } from '../kernels/webgpu/device.js';

const unavailable = await selectBackend('webgpu').then(() => null, (e: Error) => e.message);
if (unavailable !== null && process.env['CI'] === 'true') {
  throw new Error(`CI needs a WebGPU adapter (run .ci/install-vulkan.sh): ${unavailable}`);
}
const skip = unavailable === null ? false : `no WebGPU adapter: ${unavailable}`;

const FIXTURES = fileURLToPath(new URL('../../test/fixtures/pyg-gatv2/', import.meta.url));
const MODES: GradMode[] = ['analytic', 'autograd'];

/** Per-element relative error (src/util/rel-error.ts, over the terms' magnitudes) of every tensor; NaN fails. */
function errors(got: LayerResult, want: { output: Dense64; alpha: Dense64; grads: Record<string, Dense64> }, mag: ReferenceMagnitudes): Record<string, number> {
  const out: Record<string, number> = { output: relError(got.output, want.output, mag.output), alpha: relError(got.alpha, want.alpha, mag.alpha) };
  assert.deepEqual(Object.keys(got.grads).sort(), Object.keys(want.grads).sort(), 'gradient names');
  for (const [name, ref] of Object.entries(want.grads)) out[`d${name}`] = relError(got.grads[name]!, ref, mag.grads[name]!);
  return out;
}

function assertWithin(errs: Record<string, number>, tol: number, what: string): void {
  for (const [name, e] of Object.entries(errs)) {
    assert.ok(e <= tol, `${what}: ${name} relative error ${e} > ${tol}`);
  }
}

test('every PyG fixture on webgpu, analytic and autograd', { skip }, async () => {
  const worst: string[] = [];
  // Index data the kernels derive (row plans, segment groupings) must go with the graph.
  const dataIds = () => (tf.backend() as unknown as { numDataIds(): number }).numDataIds();
  const before = dataIds();
  for (const file of listFixtureFiles(FIXTURES)) {
    const fx = loadFixture(file);
    const tol = basename(file) === 'large-scores.json' ? 1e-3 : 1e-5;
    for (const mode of MODES) {
      const got = await runLayer(fx, fx.upstream, mode);
      const errs = errors(got, { output: fx.output, alpha: fx.attention.alpha, grads: fx.grads }, referenceMagnitudes(fx, fx.upstream));
      assertWithin(errs, tol, `${basename(file)} (${mode})`);
      const [name, max] = Object.entries(errs).reduce((a, b) => (b[1] > a[1] ? b : a));
      worst.push(`${basename(file, '.json')} ${mode}: max ${max.toExponential(2)} (${name})`);
    }
  }
  // The per-fixture worst errors, for the record (node --test prints diagnostics).
  console.log(worst.join('\n'));
  assert.equal(dataIds(), before, 'GPU buffers left behind');
  assert.deepEqual(takeWebGPUErrors(), []);
});

const HUB = { numNodes: 2000, numEdges: 4000, inChannels: 3, outChannels: 2, heads: 2, hubInDegree: 100000, duplicates: 50, seed: 17 };

test('a node of in-degree 100000: the analytic layer on webgpu matches the cpu backend', { skip }, async () => {
  // Edge features too: their loop-mean path gathers and segment-sums over the hub's 10^5 edges.
  const { input, upstream } = randomLayerCase({ ...HUB, edgeDim: 2 });
  await selectBackend('cpu');
  const want = await runLayer(input, upstream, 'analytic');
  await selectBackend('webgpu');
  const got = await runLayer(input, upstream, 'analytic');
  // Sums over 10^5 float32 terms in another order: about 1e-6 apart, far below any real error.
  assertWithin(errors(got, want, referenceMagnitudes(input, upstream)), 1e-4, 'hub (analytic)');
  assert.deepEqual(takeWebGPUErrors(), []);
});

/**
 * The magnitudes of the twins' terms (src/util/rel-error.ts), in float64 from the cpu alpha:
 * M(alpha_k) = alpha_k (1 + |e_k| + max |e| of its row) (the rounding of the shifted exponent),
 * then loss = sum up out, de_k = alpha_k (A_k - sum alpha A) with A_k = <up_i, xl_j>, dxl_j = sum
 * alpha_k up_i, each product's magnitude to first order.
 */
function twinMagnitudes(layout: GraphLayout, e: Float32Array, xl: Float32Array, up: Float32Array, alpha: Float64Array, H: number, C: number): Dense64[] {
  const { rowPtr, csrSrc } = layout, N = layout.numNodes, HC = H * C;
  const mAlpha = new Float64Array(alpha.length), de = new Float64Array(alpha.length), dxl = new Float64Array(N * HC);
  let loss = 0;
  for (let i = 0; i < N; i++) {
    for (let h = 0; h < H; h++) {
      let top = 0, sumA = 0, sumMA = 0;
      for (let k = rowPtr[i]!; k < rowPtr[i + 1]!; k++) top = Math.max(top, Math.abs(e[k * H + h]!));
      const a = (k: number) => { let s = 0; for (let c = h * C; c < (h + 1) * C; c++) s += up[i * HC + c]! * xl[csrSrc[k]! * HC + c]!; return s; };
      const mA = (k: number) => { let s = 0; for (let c = h * C; c < (h + 1) * C; c++) s += Math.abs(up[i * HC + c]! * xl[csrSrc[k]! * HC + c]!); return s; };
      for (let k = rowPtr[i]!; k < rowPtr[i + 1]!; k++) {
        const at = k * H + h;
        mAlpha[at] = alpha[at]! * (1 + Math.abs(e[at]!) + top);
        sumA += alpha[at]! * a(k);
        sumMA += alpha[at]! * mA(k);
        loss += mAlpha[at]! * mA(k);
        for (let c = h * C; c < (h + 1) * C; c++) dxl[csrSrc[k]! * HC + c]! += mAlpha[at]! * Math.abs(up[i * HC + c]!);
      }
      for (let k = rowPtr[i]!; k < rowPtr[i + 1]!; k++) {
        const at = k * H + h;
        de[at] = mAlpha[at]! * Math.abs(a(k) - sumA) + alpha[at]! * (mA(k) + sumMA);
      }
    }
  }
  return [dense([1], [loss]), dense([alpha.length], mAlpha), dense([alpha.length], de), dense([N * HC], dxl)];
}

/**
 * The autograd twins of softmax and aggregation (gathers, the segment max, segment sums by
 * csrDst and, as gather gradients, by csrSrc) on the hub, against the cpu backend. The whole
 * layer is not run in autograd mode here: src/ops/score.ts tiles `att` E times, and TF.js's Tile
 * gradient is a JavaScript loop of E slice+add kernels (10^5 here; lavapipe crashes near 6x10^4).
 */
test('a node of in-degree 100000: the autograd softmax and aggregation on webgpu match cpu', { skip }, async () => {
  const { input } = randomLayerCase(HUB);
  const layout = buildLayout(input.numNodes, input.edgeIndex[0], input.edgeIndex[1], { addSelfLoops: true });
  const E = layout.numEdges, N = layout.numNodes, H = 2, C = 2;
  const r = new Prng(3);
  const e = Float32Array.from({ length: E * H }, () => r.range(-4, 4));
  const xl = Float32Array.from({ length: N * H * C }, () => r.range(-1, 1));
  const up = Float32Array.from({ length: N * H * C }, () => r.range(-1, 1));
  const run = async (backend: string) => {
    await selectBackend(backend);
    const g = graphTensors(layout);
    const ins = [tf.tensor2d(e, [E, H]), tf.tensor2d(xl, [N, H * C])];
    const upT = tf.tensor2d(up, [N, H * C]);
    const f = (eT: tf.Tensor, xlT: tf.Tensor) => {
      const alpha = softmaxAutograd(eT as tf.Tensor2D, g);
      return tf.sum(tf.mul(aggregateAutograd(alpha, xlT as tf.Tensor2D, g, { heads: H, channels: C }), upT));
    };
    const { value, grads } = tf.valueAndGrads(f)(ins);
    const alpha = softmaxAutograd(ins[0] as tf.Tensor2D, g);
    const out = [await value.data(), await alpha.data(), ...(await Promise.all(grads.map((t) => t.data())))];
    tf.dispose([...ins, upT, value, alpha, ...grads]);
    g.dispose();
    return out.map((a) => dense([a.length], a));
  };
  const want = await run('cpu');
  const got = await run('webgpu');
  const mag = twinMagnitudes(layout, e, xl, up, want[1]!.data, H, C);
  ['loss', 'alpha', 'de', 'dxl'].forEach((name, i) => {
    const err = relError(got[i]!, want[i]!, mag[i]!);
    assert.ok(err <= 1e-4, `hub (autograd twins): ${name} relative error ${err}`);
  });
  assert.deepEqual(takeWebGPUErrors(), []);
});
