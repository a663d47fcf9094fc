/**
 * The library's GATv2Conv: its analytic backward (through tf.variableGrads, as a user's loop gets
 * it) against PyG's own gradients in the fixtures and against the autograd twin; attention in
 * PyG's order; training with optimizer.minimize; Graph.fromEdgeIndex's inputs.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { GATv2Conv } from '../src/api/conv.js';
import { Graph } from '../src/api/graph.js';
import { useBackend } from '../src/backends/index.js';
import { loadFixture, type Fixture } from '../src/check/fixture.js';
import { InputError } from '../src/util/errors.js';

const FIXTURES = ['heads4-concat', 'heads3-mean', 'edge-features', 'residual', 'share-weights', 'no-bias', 'no-self-loops-isolated', 'duplicates-and-loops'];

/** Largest |a - b| relative to max(1, |b|). */
function maxRelDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let worst = 0;
  for (let k = 0; k < a.length; k++) worst = Math.max(worst, Math.abs(a[k] - b[k]) / Math.max(1, Math.abs(b[k])));
  return worst;
}

function layerFor(fx: Fixture): GATv2Conv {
  const conv = new GATv2Conv({ ...fx.config });
  const state: Record<string, tf.Tensor> = {};
  for (const [n, v] of Object.entries(fx.params)) state[n] = tf.tensor(Float32Array.from(v.data), v.shape);
  conv.loadStateDict(state);
  tf.dispose(Object.values(state));
  return conv;
}

/** d(sum(output * upstream)) / d(every variable), by tf.variableGrads, in PyG's layouts. */
function layerGrads(conv: GATv2Conv, fx: Fixture, graph: Graph, grad: 'analytic' | 'autograd'): Record<string, Float32Array> {
  return tf.tidy(() => {
    const x = tf.tensor2d(Float32Array.from(fx.x.data), fx.x.shape as [number, number]);
    const up = tf.tensor(Float32Array.from(fx.upstream.data), fx.upstream.shape);
    const edgeAttr = fx.edgeAttr ? tf.tensor(Float32Array.from(fx.edgeAttr.data), fx.edgeAttr.shape) : undefined;
    const { grads } = tf.variableGrads(() => tf.sum(tf.mul(conv.apply(x, graph, { grad, ...(edgeAttr ? { edgeAttr } : {}) }), up)) as tf.Scalar, conv.trainableWeights());
    const out: Record<string, Float32Array> = {};
    for (const [n, v] of Object.entries(conv.params)) {
      const g = grads[v.name]!;
      out[n] = (n.endsWith('.weight') ? tf.transpose(g) : g).dataSync() as Float32Array;
    }
    return out;
  });
}

test('GATv2Conv: the analytic gradients of every parameter equal PyG\'s and the autograd twin\'s (fixtures)', async () => {
  await useBackend('cpu');
  for (const name of FIXTURES) {
    const fx = loadFixture(`test/fixtures/pyg-gatv2/${name}.json`);
    const conv = layerFor(fx);
    const graph = Graph.fromEdgeIndex(fx.edgeIndex, fx.numNodes);
    layerGrads(conv, fx, graph, 'analytic'); // builds the graph's kept layout tensors
    const before = tf.memory().numTensors;
    const analytic = layerGrads(conv, fx, graph, 'analytic');
    const autograd = layerGrads(conv, fx, graph, 'autograd');
    assert.equal(tf.memory().numTensors, before, `${name}: no tensor left behind`);
    assert.deepEqual(Object.keys(analytic).sort(), Object.keys(fx.params).sort(), `${name}: PyG's parameter names`);
    for (const [p, g] of Object.entries(analytic)) {
      // float32 against PyG's float64.
      assert.ok(maxRelDiff(g, fx.grads[p].data) < 1e-4, `${name} ${p}: analytic vs PyG ${maxRelDiff(g, fx.grads[p].data)}`);
      assert.ok(maxRelDiff(g, autograd[p]) < 1e-5, `${name} ${p}: analytic vs autograd ${maxRelDiff(g, autograd[p])}`);
    }
    graph.dispose();
    conv.dispose();
  }
});

test('GATv2Conv: output and attention (PyG order, with the edge index PyG returns) equal the fixture', async () => {
  await useBackend('cpu');
  for (const name of ['heads4-concat', 'duplicates-and-loops', 'no-self-loops-isolated', 'edge-features']) {
    const fx = loadFixture(`test/fixtures/pyg-gatv2/${name}.json`);
    const conv = layerFor(fx);
    const graph = Graph.fromEdgeIndex(tf.tensor2d([...fx.edgeIndex[0], ...fx.edgeIndex[1]], [2, fx.edgeIndex[0].length], 'int32'), fx.numNodes);
    const x = tf.tensor2d(Float32Array.from(fx.x.data), fx.x.shape as [number, number]);
    const edgeAttr = fx.edgeAttr ? tf.tensor(Float32Array.from(fx.edgeAttr.data), fx.edgeAttr.shape) : undefined;
    const r = conv.apply(x, graph, { returnAttention: true, ...(edgeAttr ? { edgeAttr } : {}) });
    assert.ok(maxRelDiff(r.output.dataSync(), fx.output.data) < 1e-5, `${name}: output`);
    assert.deepEqual(Array.from(r.attention.edgeIndex.dataSync()), [...fx.attention.edgeIndex[0], ...fx.attention.edgeIndex[1]], `${name}: edge order`);
    assert.deepEqual(r.attention.alpha.shape, fx.attention.alpha.shape);
    assert.ok(maxRelDiff(r.attention.alpha.dataSync(), fx.attention.alpha.data) < 1e-5, `${name}: alpha`);
    tf.dispose([x, r.output, r.attention.edgeIndex, r.attention.alpha, ...(edgeAttr ? [edgeAttr] : [])]);
    graph.dispose();
    conv.dispose();
  }
});

test('GATv2Conv: with attention dropout, analytic and autograd gradients agree for the same seed', async () => {
  await useBackend('cpu');
  const fx = loadFixture('test/fixtures/pyg-gatv2/heads4-concat.json');
  const conv = new GATv2Conv({ ...fx.config, dropout: 0.5, seed: 3 });
  const graph = Graph.fromEdgeIndex(fx.edgeIndex, fx.numNodes);
  const grads = (grad: 'analytic' | 'autograd') => tf.tidy(() => {
    const x = tf.tensor2d(Float32Array.from(fx.x.data), fx.x.shape as [number, number]);
    const { grads: g } = tf.variableGrads(() => tf.sum(tf.square(conv.apply(x, graph, { training: true, seed: 11, grad }))) as tf.Scalar);
    return conv.trainableWeights().map((v) => g[v.name]!.dataSync() as Float32Array);
  });
  const a = grads('analytic'), b = grads('autograd');
  a.forEach((g, k) => assert.ok(maxRelDiff(g, b[k]) < 1e-5, `param ${k}`));
  // A different seed is a different mask.
  const other = tf.tidy(() => {
    const x = tf.tensor2d(Float32Array.from(fx.x.data), fx.x.shape as [number, number]);
    return conv.apply(x, graph, { training: true, seed: 12 }).dataSync();
  });
  const same = tf.tidy(() => {
    const x = tf.tensor2d(Float32Array.from(fx.x.data), fx.x.shape as [number, number]);
    return conv.apply(x, graph, { training: true, seed: 11 }).dataSync();
  });
  assert.ok(maxRelDiff(other, same) > 0);
  graph.dispose();
  conv.dispose();
});

test('GATv2Conv: two layers trained by optimizer.minimize in a user loop lower the loss, without leaking tensors', async () => {
  await useBackend('cpu');
  const N = 40, F = 6, classes = 3;
  // A graph whose labels the features and the neighbourhood both carry: node i is class i % 3.
  const src: number[] = [], dst: number[] = [];
  for (let i = 0; i < N; i++) for (const d of [3, 6, 9]) { src.push((i + d) % N); dst.push(i); }
  const graph = Graph.fromEdgeIndex([src, dst], N);
  const xData = new Float32Array(N * F);
  for (let i = 0; i < N; i++) for (let f = 0; f < F; f++) xData[i * F + f] = Math.sin(1.7 * i + f) * 0.3 + (f === i % classes ? 1 : 0);
  const x = tf.tensor2d(xData, [N, F]);
  const targets = tf.oneHot(tf.tensor1d(Array.from({ length: N }, (_, i) => i % classes), 'int32'), classes);
  const conv1 = new GATv2Conv({ inChannels: F, outChannels: 4, heads: 2, seed: 1 });
  const conv2 = new GATv2Conv({ inChannels: 8, outChannels: classes, heads: 1, concat: false, seed: 2 });
  const loss = () => tf.losses.softmaxCrossEntropy(targets, conv2.apply(tf.elu(conv1.apply(x, graph)), graph)) as tf.Scalar;
  const opt = tf.train.adam(0.05);
  const first = tf.tidy(() => loss().dataSync()[0]);
  const counts: number[] = [];
  for (let step = 0; step < 30; step++) {
    opt.minimize(loss);
    counts.push(tf.memory().numTensors);
  }
  const last = tf.tidy(() => loss().dataSync()[0]);
  assert.ok(last < 0.5 * first, `loss ${first} -> ${last}`);
  assert.equal(new Set(counts.slice(1)).size, 1, `tensor count stable after the optimizer's first step: ${counts}`);
  tf.dispose([x, targets]);
  opt.dispose();
  conv1.dispose();
  conv2.dispose();
  graph.dispose();
});

test('GATv2Conv and Graph: bad options and inputs are InputErrors naming what to fix', async () => {
  await useBackend('cpu');
  assert.throws(() => new GATv2Conv({ inChannels: 0, outChannels: 2 }), (e: Error) => e instanceof InputError && /inChannels/.test(e.message));
  assert.throws(() => new GATv2Conv({ inChannels: 2, outChannels: 2, dropout: 1 }), /dropout must be in \[0, 1\)/);
  assert.throws(() => Graph.fromEdgeIndex([[0, 5], [1, 0]], 3), (e: Error) => e instanceof InputError && /edge 1 \(5 -> 0\)/.test(e.message));
  assert.throws(() => Graph.fromEdgeIndex([[0, 1.5], [1, 0]], 3), /edge 1 \(1.5 -> 0\) names a node outside \[0, 3\); node ids must be integers/);
  const t = tf.tensor2d([0, 1, 1, 0, 2, 2], [3, 2], 'int32');
  assert.throws(() => Graph.fromEdgeIndex(t as tf.Tensor2D, 3), /shape \[2, E\]/);
  const f = tf.tensor2d([0, 1, 1, 0], [2, 2], 'float32');
  assert.throws(() => Graph.fromEdgeIndex(f, 3), /int32/);
  const conv = new GATv2Conv({ inChannels: 2, outChannels: 2, edgeDim: 3 });
  const g = Graph.fromEdgeIndex([[0, 1], [1, 0]], 2);
  const x = tf.ones([2, 2]) as tf.Tensor2D;
  assert.throws(() => conv.apply(x, g), /needs options.edgeAttr/);
  assert.throws(() => conv.apply(x, g, { edgeAttr: tf.ones([2, 2]) }), /edgeAttr must have shape \[2, 3\]/);
  assert.throws(() => conv.loadStateDict({ 'lin_l.weight': tf.ones([2, 2]) }), /the state has no "att"/);
  const state = conv.stateDict();
  assert.deepEqual(state['att'].shape, [1, 1, 2]);
  assert.deepEqual(state['lin_edge.weight'].shape, [2, 3]);
  conv.loadStateDict(state);
  const wrong = { ...state, att: tf.ones([2]) };
  assert.throws(() => conv.loadStateDict(wrong), /"att" has shape \[2\], PyG's layout needs \[1,1,2\]/);
  tf.dispose([...Object.values(state), wrong.att]);
  tf.dispose([t, f, x]);
  conv.dispose();
  g.dispose();
});
