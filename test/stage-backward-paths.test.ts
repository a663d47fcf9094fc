/**
 * One backward per stage, three callers: the stage ops (src/ops: scoreAnalytic, softmaxAnalytic,
 * aggregateAnalytic, each on its own and chained), the fused layer block (src/model/layer-block.ts)
 * and the diagnostics' gradient flow (src/diagnostics/layer-flow.ts) must give the same per-stage
 * gradients on one input, bit for bit: they run the same stage functions, hence the same kernels
 * on the same tensors. The block shows only parameter gradients, so its input is the identity
 * matrix (x = I: xl = W_L, xr = W_R, and dW_L = I^T dxl = dxl, dW_R = dxr exactly). On cpu and
 * wasm; on webgpu where an adapter exists (CI=true requires one).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { selectBackend, useBackend } from '../src/backends/index.js';
import { takeWebGPUErrors } from '../kernels/webgpu/device.js';
import { layerFlow } from '../src/diagnostics/layer-flow.js';
import { buildLayout } from '../src/graph/layout.js';
import { syntheticGraph } from '../src/graph/synthetic.js';
import { DEFAULT_CONFIG, type GATv2Config } from '../src/model/config.js';
import { layerBlock } from '../src/model/layer-block.js';
import { aggregateAnalytic } from '../src/ops/aggregate.js';
import { graphTensors, type GraphTensors } from '../src/ops/graph-tensors.js';
import { scoreAnalytic } from '../src/ops/score.js';
import { softmaxAnalytic } from '../src/ops/softmax.js';
import { DEFAULT_THRESHOLDS } from '../src/run/diagnostics-record.js';
import { Prng } from '../src/util/prng.js';

const N = 16, H = 2, C = 3, HC = H * C;
const cfg: GATv2Config = { ...DEFAULT_CONFIG, inChannels: N, outChannels: C, heads: H, bias: false };
const shape = { heads: H, channels: C, negativeSlope: cfg.negativeSlope };
// Power-law in-degrees with self loops: destinations of in-degree 1 (only the loop) and hubs.
const g = syntheticGraph({ numNodes: N, avgDegree: 3, distribution: 'power-law', seed: 31 });
const layout = buildLayout(N, g.source, g.target, { addSelfLoops: true });

const rng = new Prng(17);
const draw = (n: number) => Float32Array.from({ length: n }, () => rng.normal(0, 1));
const host = { wl: draw(N * HC), wr: draw(N * HC), att: draw(HC), upstream: draw(N * HC) };

type Grads = Record<string, Float32Array>;

async function read(ts: Record<string, tf.Tensor>): Promise<Grads> {
  const out: Grads = {};
  for (const [k, t] of Object.entries(ts)) out[k] = (await t.data()) as Float32Array;
  tf.dispose(Object.values(ts));
  return out;
}

/** sum(f(...) * w): its gradient with respect to f's output is w, exactly. */
const weightedSum = (y: tf.Tensor, w: tf.Tensor) => tf.sum(tf.mul(y, w)) as tf.Scalar;

/** The stage ops, each differentiated on its own (the upstream gradient of each is the last one's result). */
function viaStageOps(gt: GraphTensors, xl: tf.Tensor2D, xr: tf.Tensor2D, att: tf.Tensor1D, up: tf.Tensor2D) {
  const e = scoreAnalytic(xl, xr, att, null, gt, shape);
  const alpha = softmaxAnalytic(e, gt);
  const [dAlpha, dxlAgg] = tf.grads((a: tf.Tensor, x: tf.Tensor) =>
    weightedSum(aggregateAnalytic(a as tf.Tensor2D, x as tf.Tensor2D, gt, shape), up))([alpha, xl]);
  const [dE] = tf.grads((s: tf.Tensor) => weightedSum(softmaxAnalytic(s as tf.Tensor2D, gt), dAlpha!))([e]);
  const [dxlScore, dxr, dAtt] = tf.grads((a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) =>
    weightedSum(scoreAnalytic(a as tf.Tensor2D, b as tf.Tensor2D, c as tf.Tensor1D, null, gt, shape), dE!))([xl, xr, att]);
  return { e, alpha, dAlpha: dAlpha!, dxlAgg: dxlAgg!, dE: dE!, dxlScore: dxlScore!, dxr: dxr!, dAtt: dAtt! };
}

/** The three stage ops chained, differentiated at once (TF.js adds dxl's two shares). */
function viaChainedOps(gt: GraphTensors, xl: tf.Tensor2D, xr: tf.Tensor2D, att: tf.Tensor1D, up: tf.Tensor2D) {
  const [dxl, dxr, dAtt] = tf.grads((a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => {
    const alpha = softmaxAnalytic(scoreAnalytic(a as tf.Tensor2D, b as tf.Tensor2D, c as tf.Tensor1D, null, gt, shape), gt);
    return weightedSum(aggregateAnalytic(alpha, a as tf.Tensor2D, gt, shape), up);
  })([xl, xr, att]);
  return { dxl: dxl!, dxr: dxr!, dAtt: dAtt! };
}

/** The fused block on x = I, no dropout, no activation: its weight gradients are dxl and dxr. */
function viaBlock(gt: GraphTensors, wl: tf.Tensor2D, wr: tf.Tensor2D, att: tf.Tensor1D, up: tf.Tensor2D) {
  const x = tf.eye(N) as tf.Tensor2D;
  const [dxl, dxr, dAtt] = tf.grads((a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => weightedSum(layerBlock({
    cfg, inputDropout: 0, inputSeed: 0, attentionSeed: 0, training: false, activation: null, inputGrad: false,
  }, { 'lin_l.weight': a, 'lin_r.weight': b, att: c }, x, gt), up))([wl, wr, att]);
  x.dispose();
  return { dxl: dxl!, dxr: dxr!, dAtt: dAtt! };
}

function assertSame(a: Float32Array, b: Float32Array, what: string): void {
  assert.equal(a.length, b.length, `${what}: length`);
  for (let k = 0; k < a.length; k++) assert.ok(a[k] === b[k], `${what}: entry ${k}, ${a[k]} vs ${b[k]}`);
}

async function checkPaths(backend: string): Promise<void> {
  const before = tf.memory().numTensors;
  const gt = graphTensors(layout);
  const wl = tf.tensor2d(host.wl, [N, HC]), wr = tf.tensor2d(host.wr, [N, HC]);
  const att = tf.tensor1d(host.att), up = tf.tensor2d(host.upstream, [N, HC]);
  const stage = viaStageOps(gt, wl, wr, att, up);
  const flow = await layerFlow({
    graph: gt, ...shape, xl: wl, xr: wr, edgeProj: null, att, alpha: stage.alpha, dAlpha: stage.dAlpha,
  }, { thresholds: DEFAULT_THRESHOLDS, entropyBins: 10 });
  const ops = await read(stage);
  const chained = await read(viaChainedOps(gt, wl, wr, att, up));
  const block = await read(viaBlock(gt, wl, wr, att, up));
  tf.dispose([wl, wr, att, up]);
  gt.dispose();
  assert.equal(tf.memory().numTensors, before, `${backend}: tensors left behind`);

  const nonZero = (a: Float32Array) => a.some((v) => v !== 0);
  assert.ok(nonZero(ops['dE']!) && nonZero(ops['dxr']!) && nonZero(ops['dAtt']!), `${backend}: a gradient reaches every stage`);
  // Softmax stage: dE.
  assertSame(flow.dE, ops['dE']!, `${backend} dE: layer flow vs softmax op`);
  // Score stage: dxr, da and the score's share of dxl.
  assertSame(flow.dxlScore, ops['dxlScore']!, `${backend} dxl (score share): layer flow vs score op`);
  for (const [name, a] of [['layer flow', flow], ['chained ops', chained], ['block', block]] as const) {
    assertSame(a.dxr!, ops['dxr']!, `${backend} dxr: ${name} vs score op`);
    assertSame(a.dAtt!, ops['dAtt']!, `${backend} da: ${name} vs score op`);
  }
  // Aggregation stage plus score stage: dxl = score share + message share (one float32 add).
  const both = Float32Array.from(ops['dxlScore']!, (v, k) => v + ops['dxlAgg']![k]!);
  assertSame(chained['dxl']!, both, `${backend} dxl: chained ops vs the two stage shares`);
  assertSame(block['dxl']!, both, `${backend} dxl: block vs the two stage shares`);
}

// Probed before any test is declared: node:test starts a test as soon as it is declared, and a
// backend switch still in flight would run its kernels against another backend.
const unavailable = await selectBackend('webgpu').then(() => null, (e: Error) => e.message);
if (unavailable !== null && process.env['CI'] === 'true') {
  throw new Error(`CI needs a WebGPU adapter (run .ci/install-vulkan.sh): ${unavailable}`);
}

for (const backend of ['cpu', 'wasm'] as const) {
  test(`stage ops, fused block and layer flow give the same stage gradients (${backend})`, async () => {
    await useBackend(backend);
    await checkPaths(backend);
  });
}

test('stage ops, fused block and layer flow give the same stage gradients (webgpu)',
  { skip: unavailable === null ? false : `no WebGPU adapter: ${unavailable}` }, async () => {
    await selectBackend('webgpu');
    await checkPaths('webgpu');
    assert.deepEqual(takeWebGPUErrors(), []);
  });
