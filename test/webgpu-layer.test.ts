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
import { Prng } from '../src/util/prng.js';
import { buildLayout } from '../src/graph/layout.js';
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

/** Relative error (max |ours - ref| / max |ref|) of every tensor; NaN counts as failure. */
function errors(got: LayerResult, want: { output: Dense64; alpha: Dense64; grads: Record<string, Dense64> }): Record<string, number> {
  const out: Record<string, number> = { output: relError(got.output, want.output), alpha: relError(got.alpha, want.alpha) };
  assert.deepEqual(Object.keys(got.grads).sort(), Object.keys(want.grads).sort(), 'gradient names');
  for (const [name, ref] of Object.entries(want.grads)) out[`d${name}`] = relError(got.grads[name]!, ref);
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
      const errs = errors(got, { output: fx.output, alpha: fx.attention.alpha, grads: fx.grads });
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
  assertWithin(errors(got, want), 1e-4, 'hub (analytic)');
  assert.deepEqual(takeWebGPUErrors(), []);
});

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
  ['loss', 'alpha', 'de', 'dxl'].forEach((name, i) => {
    const err = relError(got[i]!, want[i]!);
    assert.ok(err <= 1e-4, `hub (autograd twins): ${name} relative error ${err}`);
  });
  assert.deepEqual(takeWebGPUErrors(), []);
});
