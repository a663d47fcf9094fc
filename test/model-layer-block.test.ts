/**
 * The analytic mode's block ops (src/model/layer-block.ts: input dropout, layer and activation as
 * one op with a hand-written backward) against the layer-wise analytic path (stage ops and stock
 * ops) and the autograd twin, on whole networks: the same objective and the same gradient for
 * every parameter, across the options a block handles (dense and sparse features, concat and mean
 * heads, shared weights, residual, no bias, ELU/ReLU/identity, dropout on and off, with and without
 * self loops, a graph with no edges), and no tensor left behind. On webgpu too where an adapter
 * exists; CI=true requires one.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { selectBackend, useBackend } from '../src/backends/index.js';
import { takeWebGPUErrors } from '../kernels/webgpu/device.js';
import type { DenseFeatures, SparseFeatures } from '../src/data/dataset.js';
import { buildLayout } from '../src/graph/layout.js';
import { syntheticFeatures, syntheticGraph, syntheticLabels } from '../src/graph/synthetic.js';
import {
  buildNetworkConfig, createNetworkInputs, initNetworkParams, type NetworkShape,
} from '../src/model/network.js';
import type { ForwardOptions } from '../src/model/network.js';
import { layerBlock } from '../src/model/layer-block.js';
import { lossAndGrads, toHost, type HostGrads } from '../src/model/objective.js';
import { splitTargets } from '../src/model/loss.js';
import { DEFAULT_MODEL } from '../src/train/config.js';

/** float32 against float32, relative to each gradient's largest entry (as train-gradcheck). */
const TOL = 1e-5;

interface Case {
  name: string;
  model: Partial<Omit<NetworkShape, 'inFeatures' | 'numClasses'>>;
  sparse: boolean;
  training: boolean;
  /** 0: a graph without edges. */
  avgDegree: number;
  numClasses: number;
}

const CASES: Case[] = [
  { name: 'defaults, dense, training', model: {}, sparse: false, training: true, avgDegree: 4, numClasses: 5 },
  { name: 'sparse features, training', model: { heads: 3, hidden: 4 }, sparse: true, training: true, avgDegree: 3, numClasses: 4 },
  {
    name: '3 layers, relu, shared weights, residual, no bias, 2 mean output heads, no self loops, eval',
    model: { layers: 3, activation: 'relu', shareWeights: true, residual: true, bias: false, outputHeads: 2, addSelfLoops: false, heads: 2, hidden: 5 },
    sparse: false, training: false, avgDegree: 3, numClasses: 3,
  },
  {
    name: 'identity activation, 2 concatenated output heads, residual, input dropout only',
    model: { activation: 'identity', outputHeads: 2, outputConcat: true, residual: true, attentionDropout: 0, inputDropout: 0.5 },
    sparse: false, training: true, avgDegree: 5, numClasses: 4,
  },
  { name: 'no edges, no self loops', model: { addSelfLoops: false, heads: 2, hidden: 3 }, sparse: false, training: true, avgDegree: 0, numClasses: 3 },
  { name: 'sparse, residual, shared weights, mean heads', model: { residual: true, shareWeights: true, outputHeads: 3 }, sparse: true, training: true, avgDegree: 2, numClasses: 3 },
];

function features(n: number, f: number, sparse: boolean, seed: number): DenseFeatures | SparseFeatures {
  const values = syntheticFeatures(n, f, seed);
  if (!sparse) return { kind: 'dense', numNodes: n, numFeatures: f, values };
  // Keep about a third of the entries: a CSR matrix with empty rows too.
  const rowPtr = new Int32Array(n + 1);
  const cols: number[] = [];
  const vals: number[] = [];
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < f; c++) {
      if (i % 7 !== 3 && (i * 31 + c * 17) % 3 === 0) {
        cols.push(c);
        vals.push(values[i * f + c]!);
      }
    }
    rowPtr[i + 1] = cols.length;
  }
  return { kind: 'sparse', numNodes: n, numFeatures: f, rowPtr, colIdx: Int32Array.from(cols), values: Float32Array.from(vals) };
}

function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < b.length; i++) {
    diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  return scale === 0 ? diff : diff / scale;
}

async function gradsOf(c: Case, fwd: ForwardOptions, seed: number): Promise<{ objective: number; grads: HostGrads; leaked: number }> {
  const N = 37, F = 11;
  const g = c.avgDegree > 0
    ? syntheticGraph({ numNodes: N, avgDegree: c.avgDegree, distribution: 'power-law', seed })
    : { numNodes: N, source: new Int32Array(0), target: new Int32Array(0) };
  const shape: NetworkShape = { ...DEFAULT_MODEL, ...c.model, inFeatures: F, numClasses: c.numClasses };
  const net = buildNetworkConfig(shape);
  const layout = buildLayout(N, g.source, g.target, { addSelfLoops: shape.addSelfLoops });
  const before = tf.memory().numTensors;
  const inputs = createNetworkInputs(features(N, F, c.sparse, seed + 1), layout);
  const params = initNetworkParams(net, seed + 2);
  const lossNodes = Int32Array.from({ length: N }, (_, i) => i).filter((i) => i % 3 !== 1);
  const targets = splitTargets(syntheticLabels(N, c.numClasses, seed + 3), lossNodes, c.numClasses);
  const r = lossAndGrads(net, params, inputs, { targets, weightDecay: 5e-4 }, fwd);
  const grads = await toHost(r.grads);
  const objective = (await r.objective.data())[0]!;
  tf.dispose([r.loss, r.objective, ...Object.values(r.grads), ...Object.values(params), targets]);
  inputs.dispose();
  return { objective, grads, leaked: tf.memory().numTensors - before };
}

async function checkCases(backend: string, cases: Case[]): Promise<void> {
  for (const c of cases) {
    const seed = 100 + 10 * CASES.indexOf(c);
    const common = { training: c.training, ...(c.training ? { seed: 4242 } : {}) };
    const block = await gradsOf(c, { mode: 'analytic', ...common }, seed);
    const layerWise = await gradsOf(c, { mode: 'analytic', keepAttention: true, ...common }, seed);
    const autograd = await gradsOf(c, { mode: 'autograd', ...common }, seed);
    for (const [name, r] of [['block', block], ['layer-wise', layerWise], ['autograd', autograd]] as const) {
      assert.equal(r.leaked, 0, `${c.name} [${backend}] ${name}: tensors left behind`);
    }
    assert.ok(Math.abs(block.objective - autograd.objective) <= 1e-5 * Math.max(1, Math.abs(autograd.objective)),
      `${c.name} [${backend}]: objective ${block.objective} vs ${autograd.objective}`);
    assert.deepEqual(Object.keys(block.grads).sort(), Object.keys(autograd.grads).sort());
    for (const [p, ga] of Object.entries(autograd.grads)) {
      const gb = block.grads[p]!;
      assert.deepEqual(gb.shape, ga.shape, `${c.name} [${backend}] ${p}: shape`);
      for (const v of gb.values) assert.ok(Number.isFinite(v), `${c.name} [${backend}] ${p}: not finite`);
      assert.ok(relErr(gb.values, ga.values) <= TOL, `${c.name} [${backend}] ${p}: block vs autograd ${relErr(gb.values, ga.values)}`);
      const gl = layerWise.grads[p]!.values;
      assert.ok(relErr(gb.values, gl) <= TOL, `${c.name} [${backend}] ${p}: block vs layer-wise ${relErr(gb.values, gl)}`);
    }
  }
}

test('a block never frees the gradient it is given (without an activation dy is the caller\'s)', async () => {
  await useBackend('cpu');
  const N = 12, F = 5, K = 3;
  const g = syntheticGraph({ numNodes: N, avgDegree: 2, distribution: 'uniform', seed: 3 });
  const inputs = createNetworkInputs(features(N, F, false, 4), buildLayout(N, g.source, g.target, { addSelfLoops: true }));
  const net = buildNetworkConfig({ ...DEFAULT_MODEL, layers: 1, inFeatures: F, numClasses: K });
  const all = initNetworkParams(net, 5);
  const names = Object.keys(all);
  const before = tf.memory().numTensors;
  for (const activation of [null, 'identity', 'elu'] as const) {
    const dy = tf.ones([N, K]);
    const grads = tf.grads((...ps: tf.Tensor[]) => {
      const p: Record<string, tf.Tensor> = {};
      names.forEach((n, k) => (p[n.slice('conv1.'.length)] = ps[k]!));
      return layerBlock({
        cfg: net.layers[0]!, inputDropout: 0.5, inputSeed: 1, attentionSeed: 2, training: true, activation, inputGrad: false,
      }, p, inputs.x, inputs.graph);
    })(names.map((n) => all[n]!), dy);
    assert.equal(dy.isDisposed, false, `activation ${activation}: the caller's dy was freed`);
    for (const t of grads) for (const v of await t.data()) assert.ok(Number.isFinite(v));
    tf.dispose([dy, ...grads]);
  }
  assert.equal(tf.memory().numTensors, before);
  tf.dispose(Object.values(all));
  inputs.dispose();
});

// Probed before any test is declared: node:test starts a test as soon as it is declared, and a
// backend switch still in flight would run its kernels against another backend.
const unavailable = await selectBackend('webgpu').then(() => null, (e: Error) => e.message);
if (unavailable !== null && process.env['CI'] === 'true') {
  throw new Error(`CI needs a WebGPU adapter (run .ci/install-vulkan.sh): ${unavailable}`);
}

for (const backend of ['cpu', 'wasm'] as const) {
  test(`blocks agree with the layer-wise analytic path and with autograd (${backend})`, async () => {
    await useBackend(backend);
    await checkCases(backend, CASES);
  });
}

test('blocks agree with the layer-wise analytic path and with autograd (webgpu)',
  { skip: unavailable === null ? false : `no WebGPU adapter: ${unavailable}` }, async () => {
    await selectBackend('webgpu');
    await checkCases('webgpu', CASES);
    assert.deepEqual(takeWebGPUErrors(), []);
  });

/**
 * A bipartite block (numDst): the output is the first numDst rows of the square block's output,
 * and the gradients (parameters and input) are those of the same loss on those rows: the rows
 * after numDst have no in-edges, so cutting before bias and activation, and projecting xr on the
 * destinations only (cpu, wasm), change nothing but the order of a few float sums.
 */
async function checkBipartite(backend: string): Promise<void> {
  const N = 40, F = 6, numDst = 9;
  // In-edges only into the first numDst nodes, sources anywhere, self loops on the destinations
  // (what the sampler builds); and the same with a self loop on every node (edges into rows past
  // numDst: the block must still give the first rows).
  const g = syntheticGraph({ numNodes: N, avgDegree: 3, distribution: 'power-law', seed: 21 });
  const keep = Int32Array.from(g.target.keys()).filter((k) => g.target[k]! < numDst && g.source[k] !== g.target[k]);
  const loops = (n: number) => Int32Array.from({ length: n }, (_, i) => i);
  const src = Int32Array.from([...keep.map((k) => g.source[k]!)]), dst = Int32Array.from([...keep.map((k) => g.target[k]!)]);
  for (const loopsOn of [numDst, N]) {
    const layout = buildLayout(N, Int32Array.from([...src, ...loops(loopsOn)]), Int32Array.from([...dst, ...loops(loopsOn)]), { addSelfLoops: false });
    await checkBipartiteLayout(backend, layout, numDst, F, `loops on ${loopsOn} nodes`);
  }
}

async function checkBipartiteLayout(backend: string, layout: ReturnType<typeof buildLayout>, numDst: number, F: number, what: string): Promise<void> {
  const N = layout.numNodes;
  const inputs = createNetworkInputs(features(N, F, false, 22), layout);
  for (const residual of [false, true]) {
    for (const [outputHeads, concat] of [[1, false], [3, false], [2, true]] as const) {
      const net = buildNetworkConfig({ ...DEFAULT_MODEL, layers: 1, residual, outputHeads, outputConcat: concat, inFeatures: F, numClasses: 4 });
      const params = initNetworkParams(net, 23);
      const names = Object.keys(params);
      const prefix = names[0]!.slice(0, names[0]!.indexOf('.') + 1);
      const weights = tf.randomNormal([numDst, net.layers[0]!.heads * net.layers[0]!.outChannels / (concat ? 1 : outputHeads)], 0, 1, 'float32', 24);
      const run = (cut: boolean) => tf.tidy(() => {
        const x = inputs.x as tf.Tensor2D;
        const f = (...ps: tf.Tensor[]) => {
          const lp = Object.fromEntries(names.map((n, k) => [n.slice(prefix.length), ps[k]!]));
          const h = layerBlock({
            cfg: net.layers[0]!, inputDropout: 0.3, inputSeed: 5, attentionSeed: 6, training: true,
            activation: 'elu', inputGrad: true, ...(cut ? { numDst } : {}),
          }, lp, ps[names.length] as tf.Tensor2D, inputs.graph);
          const rows = cut ? h : tf.slice(h, [0, 0], [numDst, h.shape[1]]);
          return tf.sum(tf.mul(rows, weights));
        };
        const { value, grads } = tf.valueAndGrads(f)([...names.map((n) => params[n]!), x]);
        return [value, ...grads];
      });
      const before = tf.memory().numTensors;
      const [a, b] = [run(true), run(false)];
      assert.equal(tf.memory().numTensors, before + a.length + b.length, 'tensors left behind');
      const label = `${backend} ${what} residual ${residual} heads ${outputHeads} concat ${concat}`;
      for (let k = 0; k < a.length; k++) {
        const va = await a[k]!.data(), vb = await b[k]!.data();
        assert.deepEqual(a[k]!.shape, b[k]!.shape, label);
        assert.ok(relErr(va, vb) <= 1e-6, `${label}: output ${k} differs by ${relErr(va, vb)}`);
      }
      tf.dispose([...a, ...b, weights, ...Object.values(params)]);
    }
  }
  inputs.dispose();
}

for (const backend of ['cpu', 'wasm'] as const) {
  test(`a bipartite block's rows and gradients equal the square block's first rows (${backend})`, async () => {
    await useBackend(backend);
    await checkBipartite(backend);
  });
}

test('a bipartite block\'s rows and gradients equal the square block\'s first rows (webgpu)',
  { skip: unavailable === null ? false : `no WebGPU adapter: ${unavailable}` }, async () => {
    await selectBackend('webgpu');
    await checkBipartite('webgpu');
    assert.deepEqual(takeWebGPUErrors(), []);
  });
