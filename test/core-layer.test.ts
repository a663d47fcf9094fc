/**
 * The whole layer on cpu and wasm: random-graph gradchecks (analytic vs autograd within 1e-5,
 * the float64 reference vs finite differences within 1e-6) for H in {1, 4, 8} on graphs with
 * isolated nodes, duplicate edges, a hub of 500 in-edges and no edges at all; and the rule that a
 * node with no incoming edge outputs bias (+ residual), never NaN, in both modes and in the
 * gradients.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { useBackend } from '../src/backends/index.js';
import { checkRandom, type CheckReport, FINITE_DIFFERENCE_TOLERANCE, DEFAULT_TOLERANCE } from '../src/check/gradcheck.js';
import { type RandomCheckOptions } from '../src/check/gradcheck.js';
import { randomLayerCase } from '../src/check/random-layer.js';
import { runLayer } from '../src/check/layer-run.js';
import { referenceBackward, type ReferenceInput } from '../src/check/reference.js';
import { type Dense64 } from '../src/check/dense.js';
import { Prng } from '../src/util/prng.js';
import { DEFAULT_CONFIG, type GATv2Config, outputWidth, pygParamShapes } from '../src/model/config.js';
import { buildLayout } from '../src/graph/layout.js';
import { graphTensors, type GradMode } from '../src/ops/graph-tensors.js';
import { initParams, layerForward } from '../src/model/gatv2-layer.js';

const BACKENDS = ['cpu', 'wasm'] as const;
const MODES: GradMode[] = ['analytic', 'autograd'];

function relErr(ours: ArrayLike<number>, ref: ArrayLike<number>): number {
  assert.equal(ours.length, ref.length);
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < ref.length; i++) {
    const d = Math.abs(ours[i]! - ref[i]!);
    if (!(d <= diff)) diff = d;
    scale = Math.max(scale, Math.abs(ref[i]!));
  }
  return diff / Math.max(scale, 1e-300);
}

function maxAbsOf(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]!));
  return m;
}

/** The tensor rows a report must hold for this case, and the checks on every comparison. */
function assertRandomReport(report: CheckReport, opts: RandomCheckOptions): void {
  const { input } = randomLayerCase(opts);
  const expected = ['output', 'attention', ...Object.keys(input.params).map((n) => `grad ${n}`), 'grad x'];
  if (input.edgeAttr) expected.push('grad edge_attr');
  assert.deepEqual(report.rows.map((r) => r.tensor).sort(), expected.sort(), `${report.name}: rows`);
  for (const row of report.rows) {
    const c = row.comparisons;
    const label = `${report.name} [${report.backend}] ${row.tensor}`;
    for (const key of ['analytic vs autograd', 'analytic vs float64', 'autograd vs float64']) {
      assert.ok(c[key], `${label}: ${key} compared`);
      assert.ok(c[key]!.rel <= DEFAULT_TOLERANCE, `${label}: ${key} rel ${c[key]!.rel}`);
      assert.equal(c[key]!.tol, 1e-5);
    }
    if (row.tensor.startsWith('grad ')) {
      const fd = c['float64 vs finite diff'];
      assert.ok(fd, `${label}: finite differences compared`);
      assert.ok(fd.rel <= FINITE_DIFFERENCE_TOLERANCE, `${label}: float64 vs finite diff rel ${fd.rel}`);
      assert.equal(fd.tol, 1e-6);
    }
    for (const v of Object.values(c)) assert.ok(v.ok && Number.isFinite(v.rel) && Number.isFinite(v.maxAbs), label);
  }
  assert.equal(report.ok, true);
}

const HUB_CASE = { numNodes: 30, numEdges: 90, inChannels: 6, outChannels: 5, isolated: 3, duplicates: 3, hubInDegree: 500 };

test('the random hub case really has a hub of 500, duplicates and isolated nodes', () => {
  const { input } = randomLayerCase({ ...HUB_CASE, heads: 4, seed: 104 });
  const [src, dst] = input.edgeIndex;
  assert.ok(dst.filter((i) => i === 0).length >= 500, 'hub');
  for (const v of [27, 28, 29]) assert.equal(dst.filter((i) => i === v).length, 0, `node ${v} receives nothing`);
  const keys = Array.from(src, (s, k) => `${s}->${dst[k]}`);
  assert.ok(new Set(keys).size < keys.length, 'duplicate edges');
});

for (const backend of BACKENDS) {
  test(`[${backend}] random gradcheck, H in {1, 4, 8}: hub of 500 in-edges, isolated nodes, duplicates`, async () => {
    await useBackend(backend);
    for (const heads of [1, 4, 8]) {
      const opts = { ...HUB_CASE, heads, seed: 100 + heads, fdEntries: 24 };
      const report = await checkRandom(opts, backend);
      assert.equal(report.backend, backend);
      assertRandomReport(report, opts);
    }
  });

  test(`[${backend}] random gradcheck: edge features, input self loops, mean, residual, shared weights, no self loops`, async () => {
    await useBackend(backend);
    const cases: RandomCheckOptions[] = [
      { numNodes: 20, numEdges: 50, inChannels: 5, outChannels: 3, heads: 4, edgeDim: 3, isolated: 2, duplicates: 4, selfLoops: 3, concat: false, residual: true, seed: 21 },
      { numNodes: 20, numEdges: 40, inChannels: 4, outChannels: 4, heads: 2, edgeDim: 2, isolated: 4, duplicates: 2, selfLoops: 2, addSelfLoops: false, shareWeights: true, bias: false, seed: 22 },
      { numNodes: 16, numEdges: 40, inChannels: 4, outChannels: 2, heads: 8, edgeDim: 1, hubInDegree: 60, negativeSlope: 0.01, seed: 23 },
    ];
    for (const opts of cases) assertRandomReport(await checkRandom({ ...opts, fdEntries: 24 }, backend), opts);
  });

  test(`[${backend}] E = 0 with self loops: gradcheck passes, alpha = 1 gives lin_r and att no gradient`, async () => {
    await useBackend(backend);
    const opts = { numNodes: 8, numEdges: 0, inChannels: 3, outChannels: 2, heads: 4, residual: true, seed: 31 };
    assertRandomReport(await checkRandom(opts, backend), opts);
    const { input, upstream } = randomLayerCase(opts);
    for (const mode of MODES) {
      const r = await runLayer(input, upstream, mode);
      assert.ok(r.alpha.data.every((a) => Math.abs(a - 1) < 1e-7), `${mode}: every node attends only to itself`);
      assert.ok(maxAbsOf(r.grads['lin_r.weight']!.data) < 1e-6, `${mode}: lin_r gradient ${maxAbsOf(r.grads['lin_r.weight']!.data)}`);
      assert.ok(maxAbsOf(r.grads['att']!.data) < 1e-6, `${mode}: att gradient`);
      assert.ok(maxAbsOf(r.grads['lin_l.weight']!.data) > 1e-2, `${mode}: lin_l still learns (message path)`);
    }
  });

  // Regression test (fixed in src/ops/score.ts, autograd twin): with no attention edge at all
  // (E = 0 without self loops) TF.js's Mul gradient does not reduce a broadcast dimension of
  // size 0 to 1, so tf.mul([0,H,C] u, [1,H,C] att) threw "The gradient of input 'b' has shape '0,H,C', which
  // does not match the shape of the input '1,H,C'". The analytic mode always worked.
  test(`[${backend}] E = 0 without self loops: both modes give output = bias + residual`,
    async () => {
      await useBackend(backend);
      const opts = { numNodes: 6, numEdges: 0, inChannels: 3, outChannels: 2, heads: 2, addSelfLoops: false, residual: true, seed: 32 };
      const { input, upstream } = randomLayerCase(opts);
      const ref = referenceBackward(input, upstream);
      for (const mode of MODES) {
        const r = await runLayer(input, upstream, mode);
        assert.ok(relErr(r.output.data, ref.forward.output.data) < 1e-5, `${mode}: output`);
        for (const [name, g] of Object.entries(ref.grads)) assert.ok(relErr(r.grads[name]!.data, g.data) < 1e-5, `${mode}: d${name}`);
      }
      assertRandomReport(await checkRandom(opts, backend), opts);
    });

  // Regression test (fixed in src/check/layer-run.ts): the edge_attr tensor's width was computed
  // as data.length / max(1, E), which is 0 when E = 0, so an edge-feature case without input
  // edges failed with "Error in matMul: inner shapes (0) and (D)".
  test(`[${backend}] E = 0 with edge features: runLayer and checkRandom work`,
    async () => {
      await useBackend(backend);
      const opts = { numNodes: 6, numEdges: 0, inChannels: 3, outChannels: 2, heads: 2, edgeDim: 2, residual: true, seed: 33 };
      assertRandomReport(await checkRandom(opts, backend), opts);
    });

  // Regression test for a TF.js wasm quirk (MatMul via XNNPACK): a matMul whose inner dimension
  // is 0 returns uninitialised heap memory instead of zeros, and logs "XNN status for
  // xnn_create_fully_connected_nc_f32 is not successful". With edge features and no attention
  // edge at all, dW_e = edgeAttr^T [D,0] x dEdgeProj [0,HC] was therefore garbage;
  // src/ops/linear.ts now returns zeros when the inner dimension is 0.
  test(`[${backend}] no attention edge + edge features: lin_edge gradient is exactly zero`,
    async () => {
      await useBackend(backend);
      const cfg: GATv2Config = { ...DEFAULT_CONFIG, inChannels: 3, outChannels: 2, heads: 2, edgeDim: 2, addSelfLoops: false };
      const g = graphTensors(buildLayout(4, [], [], { addSelfLoops: false }));
      const junk = tf.fill([4096], 7.5); // leave recognisable values in freed memory
      junk.dispose();
      const params = initParams(cfg, 5);
      const names = Object.keys(params);
      const x = tf.randomNormal([4, 3], 0, 1, 'float32', 6);
      const ea = tf.zeros([0, 2]);
      const grads = tf.tidy(() => tf.grads((...ins: tf.Tensor[]) => {
        const p: Record<string, tf.Tensor> = {};
        names.forEach((n, i) => (p[n] = ins[i]!));
        const r = layerForward(cfg, p, ins[names.length] as tf.Tensor2D, g, { mode: 'analytic', training: false, edgeAttr: ins[names.length + 1] as tf.Tensor2D });
        return tf.sum(r.output);
      })([...Object.values(params), x, ea]));
      const dWe = await grads[names.indexOf('lin_edge.weight')]!.data();
      const dBias = await grads[names.indexOf('bias')]!.data();
      tf.dispose([...grads, ...Object.values(params), x, ea]);
      g.dispose();
      assert.deepEqual(Array.from(dBias), [4, 4, 4, 4], 'bias gets sum over 4 nodes of ones');
      assert.deepEqual(Array.from(dWe), new Array<number>(8).fill(0), 'no edge, no edge-weight gradient');
    });
}

/** A hand-made input on `sources -> targets` with seeded random params, features and upstream. */
function handCase(cfgOver: Partial<GATv2Config>, sources: number[], targets: number[], n: number, seed: number) {
  const config: GATv2Config = { ...DEFAULT_CONFIG, inChannels: 4, outChannels: 3, heads: 2, ...cfgOver };
  const rng = new Prng(seed);
  const t = (shape: number[], std = 1): Dense64 => ({
    shape, data: Float64Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng.normal(0, std)),
  });
  const params: Record<string, Dense64> = {};
  for (const [name, shape] of Object.entries(pygParamShapes(config))) params[name] = t(shape, 0.5);
  const input: ReferenceInput = {
    config, numNodes: n, edgeIndex: [Int32Array.from(sources), Int32Array.from(targets)], x: t([n, 4]),
    edgeAttr: config.edgeDim === null ? null : t([sources.length, config.edgeDim]), params,
  };
  return { input, upstream: t([n, outputWidth(config)]) };
}

// Nodes 3 and 4 receive no edge; 3 still sends (3->0), 4 neither sends nor receives.
const ISO_SOURCES = [0, 2, 0, 1, 3, 1];
const ISO_TARGETS = [1, 1, 1, 0, 0, 2];

for (const backend of BACKENDS) {
  test(`[${backend}] a node with no incoming edge outputs bias (+ residual), never NaN, in both modes and in the gradients`, async () => {
    await useBackend(backend);
    const variants: Partial<GATv2Config>[] = [
      { addSelfLoops: false, residual: true },
      { addSelfLoops: false, residual: true, concat: false },
      { addSelfLoops: false, bias: false },
      { addSelfLoops: false, edgeDim: 2, residual: true },
    ];
    for (const [v, over] of variants.entries()) {
      const { input, upstream } = handCase(over, ISO_SOURCES, ISO_TARGETS, 5, 40 + v);
      const cfg = input.config;
      const w = outputWidth(cfg), f = cfg.inChannels;
      const ref = referenceBackward(input, upstream);
      for (const mode of MODES) {
        const label = `${backend} ${mode} ${JSON.stringify(over)}`;
        const r = await runLayer(input, upstream, mode);
        assert.ok(r.output.data.every(Number.isFinite), `${label}: output finite`);
        for (const [name, g] of Object.entries(r.grads)) assert.ok(g.data.every(Number.isFinite), `${label}: d${name} finite`);
        // Rows 3 and 4: y_i = b + W_res x_i, from the parameters alone.
        for (const i of [3, 4]) {
          for (let o = 0; o < w; o++) {
            let want = cfg.bias ? input.params['bias']!.data[o]! : 0;
            if (cfg.residual) for (let q = 0; q < f; q++) want += input.params['res.weight']!.data[o * f + q]! * input.x.data[i * f + q]!;
            const got = r.output.data[i * w + o]!;
            if (!cfg.bias && !cfg.residual) assert.equal(got, 0, `${label}: y[${i},${o}] exactly 0`);
            else assert.ok(Math.abs(got - want) < 1e-5 * Math.max(1, Math.abs(want)), `${label}: y[${i},${o}] = ${got}, want ${want}`);
          }
        }
        // Node 4 neither sends nor receives: only the residual path reaches dL/dx_4 = G_4 W_res.
        for (let q = 0; q < f; q++) {
          let want = 0;
          if (cfg.residual) for (let o = 0; o < w; o++) want += upstream.data[4 * w + o]! * input.params['res.weight']!.data[o * f + q]!;
          const got = r.grads['x']!.data[4 * f + q]!;
          if (!cfg.residual) assert.equal(got, 0, `${label}: dx[4] exactly 0`);
          else assert.ok(Math.abs(got - want) < 1e-5 * Math.max(1, Math.abs(want)), `${label}: dx[4,${q}] = ${got}, want ${want}`);
        }
        // And the whole layer agrees with the float64 reference.
        assert.ok(relErr(r.output.data, ref.forward.output.data) < 1e-5, `${label}: output vs float64`);
        assert.ok(relErr(r.alpha.data, ref.forward.attention.alpha.data) < 1e-5, `${label}: alpha vs float64`);
        for (const [name, g] of Object.entries(ref.grads)) {
          const err = relErr(r.grads[name]!.data, g.data);
          assert.ok(err < 1e-5, `${label}: d${name} vs float64 ${err}`);
        }
      }
    }
  });

  test(`[${backend}] with self loops added, a node whose only in-edge was its own loop attends to itself (alpha = 1, edge_attr 0)`, async () => {
    await useBackend(backend);
    // Node 4's only input in-edge is 4->4, which PyG removes before adding the loop back; its loop
    // carries the mean of no edge features: zero, not NaN.
    const { input, upstream } = handCase({ edgeDim: 3, residual: true }, [...ISO_SOURCES, 4], [...ISO_TARGETS, 4], 5, 50);
    const ref = referenceBackward(input, upstream);
    const L = buildLayout(5, input.edgeIndex[0], input.edgeIndex[1], { addSelfLoops: true });
    const loop4 = L.numEdges - 1; // PyG id of node 4's loop
    for (const mode of MODES) {
      const r = await runLayer(input, upstream, mode);
      const H = input.config.heads;
      for (let h = 0; h < H; h++) assert.ok(Math.abs(r.alpha.data[loop4 * H + h]! - 1) < 1e-7, `${mode}: alpha of node 4's loop`);
      assert.ok(relErr(r.output.data, ref.forward.output.data) < 1e-5, `${mode}: output`);
      for (const [name, g] of Object.entries(ref.grads)) {
        assert.ok(r.grads[name]!.data.every(Number.isFinite), `${mode}: d${name} finite`);
        assert.ok(relErr(r.grads[name]!.data, g.data) < 1e-5, `${mode}: d${name}`);
      }
      // The removed input loop 4->4 (input edge 6) gets no edge_attr gradient.
      assert.deepEqual(Array.from(r.grads['edge_attr']!.data.subarray(6 * 3, 7 * 3)), [0, 0, 0], `${mode}: removed loop`);
    }
  });
}
