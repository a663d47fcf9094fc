/**
 * The float64 oracle against PyG's own numbers (fixtures), against finite differences, and on
 * hand-made graphs where the right answer can be written down.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { InputError } from '../src/util/errors.js';
import { type Dense64, maxAbs, relError } from '../src/check/dense.js';
import { listFixtureFiles, loadFixture } from '../src/check/fixture.js';
import { checkGradsByFiniteDifferences, finiteDifferenceGrads } from '../src/check/finite-diff.js';
import { type RandomLayerOptions, randomLayerCase } from '../src/check/random-layer.js';
import {
  type ReferenceInput,
  referenceBackward,
  referenceForward,
  referenceTrace,
} from '../src/check/reference.js';
import { DEFAULT_CONFIG, type GATv2Config } from '../src/model/config.js';

const FIXTURES = fileURLToPath(new URL('../../test/fixtures/pyg-gatv2/', import.meta.url));

test('reference reproduces every PyG fixture to 1e-9 (output, attention, every gradient)', () => {
  const files = listFixtureFiles(FIXTURES);
  assert.equal(files.length, 11);
  for (const file of files) {
    const fx = loadFixture(file);
    const { forward, grads } = referenceBackward(fx, fx.upstream);
    assert.deepEqual(forward.attention.edgeIndex, fx.attention.edgeIndex, `${file}: attention edges`);
    assert.ok(relError(forward.output, fx.output) < 1e-9, `${file}: output`);
    assert.ok(relError(forward.attention.alpha, fx.attention.alpha) < 1e-9, `${file}: alpha`);
    assert.deepEqual(Object.keys(grads).sort(), Object.keys(fx.grads).sort(), `${file}: gradient names`);
    for (const [name, ref] of Object.entries(fx.grads)) {
      assert.deepEqual(grads[name]!.shape, ref.shape, `${file}: d${name} shape`);
      const err = relError(grads[name]!, ref);
      assert.ok(err < 1e-9, `${file}: d${name} relative error ${err}`);
    }
  }
});

/** referenceBackward vs central differences; every tensor within 1e-6 relative. */
function assertMatchesFiniteDifferences(opts: RandomLayerOptions, maxEntriesPerTensor = Infinity) {
  const { input, upstream } = randomLayerCase(opts);
  const result = checkGradsByFiniteDifferences(input, upstream, { maxEntriesPerTensor, seed: 11 });
  const tensors: Record<string, Dense64> = { ...input.params, x: input.x };
  if (input.edgeAttr) tensors['edge_attr'] = input.edgeAttr;
  assert.deepEqual(Object.keys(result).sort(), Object.keys(tensors).sort());
  for (const [name, r] of Object.entries(result)) {
    assert.ok(r.rel < 1e-6, `seed ${opts.seed}: d${name} relative error ${r.rel} (max abs ${r.maxAbs})`);
    assert.equal(r.checked, Math.min(tensors[name]!.data.length, maxEntriesPerTensor), `d${name} entries checked`);
  }
  return { input, upstream, result };
}

const base = { numNodes: 12, numEdges: 30, inChannels: 4, outChannels: 3, heads: 2 };

test('finite differences: duplicates and self loops in the input', () => {
  const { input, upstream } = assertMatchesFiniteDifferences({ ...base, duplicates: 4, selfLoops: 3, seed: 1 });
  const { grads } = referenceBackward(input, upstream);
  assert.ok(maxAbs(grads['lin_r.weight']!) > 1e-3, 'lin_r gets a real gradient here');
});

test('finite differences: isolated nodes without self loops', () => {
  assertMatchesFiniteDifferences({ ...base, isolated: 3, selfLoops: 2, addSelfLoops: false, seed: 2 });
});

test('finite differences: edge features (loop mean path), isolated, duplicates, loops', () => {
  assertMatchesFiniteDifferences({ ...base, edgeDim: 3, isolated: 2, duplicates: 3, selfLoops: 3, seed: 3 });
  assertMatchesFiniteDifferences({ ...base, edgeDim: 1, seed: 4 });
});

test('finite differences: residual, mean over heads, no bias', () => {
  assertMatchesFiniteDifferences({ ...base, heads: 3, residual: true, concat: false, bias: false, seed: 5 });
  assertMatchesFiniteDifferences({ ...base, residual: true, seed: 6 });
});

test('finite differences: shared weights and slope 0.01', () => {
  const { input } = assertMatchesFiniteDifferences({ ...base, shareWeights: true, negativeSlope: 0.01, seed: 7 });
  assert.equal(input.params['lin_r.weight'], undefined);
});

test('finite differences: no edges at all', () => {
  // With loops, every node attends only to itself: alpha = 1, so lin_r and att get exactly 0.
  const withLoops = assertMatchesFiniteDifferences({ ...base, numEdges: 0, residual: true, seed: 8 });
  const g = referenceBackward(withLoops.input, withLoops.upstream).grads;
  assert.equal(maxAbs(g['lin_r.weight']!), 0);
  assert.equal(maxAbs(g['att']!), 0);
  assert.ok(maxAbs(g['lin_l.weight']!) > 1e-3);
  // Without loops, nothing is aggregated: only bias and residual carry gradient.
  const bare = assertMatchesFiniteDifferences({ ...base, numEdges: 0, addSelfLoops: false, edgeDim: 2, residual: true, seed: 9 });
  const g2 = referenceBackward(bare.input, bare.upstream).grads;
  assert.equal(maxAbs(g2['lin_l.weight']!), 0);
  assert.deepEqual(g2['edge_attr']!.shape, [0, 2]);
  assert.ok(maxAbs(g2['res.weight']!) > 1e-3);
});

test('finite differences: a hub with 500 extra in-edges (subsampled entries)', () => {
  const opts = { ...base, numNodes: 40, numEdges: 80, inChannels: 5, heads: 2, hubInDegree: 500, edgeDim: 2, seed: 10 };
  const { input, upstream, result } = assertMatchesFiniteDifferences(opts, 30);
  assert.equal(input.edgeIndex[1].filter((i) => i === 0).length >= 500, true);
  assert.equal(result['x']!.checked, 30);
  assert.equal(result['edge_attr']!.checked, 30);
  assert.equal(result['att']!.checked, 2 * 3); // smaller than the cap: every entry
  const fd = finiteDifferenceGrads(input, upstream, { maxEntriesPerTensor: 30, seed: 11 });
  const sub = fd['x']!;
  assert.ok('indices' in sub && sub.indices.length === 30 && new Set(sub.indices).size === 30);
});

/** A hand-made input: 4 nodes, 1 head of 2 channels, F = 2, edge_dim 1 unless disabled. */
function tinyInput(sources: number[], targets: number[], overrides: Partial<GATv2Config> = {}): ReferenceInput {
  const config: GATv2Config = { ...DEFAULT_CONFIG, inChannels: 2, outChannels: 2, edgeDim: 1, ...overrides };
  const t = (shape: number[], values: number[]): Dense64 => ({ shape, data: Float64Array.from(values) });
  const params: Record<string, Dense64> = {
    att: t([1, 1, 2], [0.7, -0.4]),
    bias: t([2], [0.5, -0.25]),
    'lin_l.weight': t([2, 2], [0.3, -0.2, 0.1, 0.6]),
    'lin_l.bias': t([2], [0.05, -0.1]),
    'lin_r.weight': t([2, 2], [-0.5, 0.4, 0.2, 0.3]),
    'lin_r.bias': t([2], [0.02, 0.03]),
  };
  if (config.edgeDim !== null) params['lin_edge.weight'] = t([2, 1], [0.9, -0.3]);
  if (config.residual) params['res.weight'] = t([2, 2], [1.5, -0.5, 0.25, 2]);
  if (!config.bias) for (const k of ['bias', 'lin_l.bias', 'lin_r.bias']) delete params[k];
  return {
    config,
    numNodes: 4,
    edgeIndex: [Int32Array.from(sources), Int32Array.from(targets)],
    x: t([4, 2], [1, 2, -1, 0.5, 0.25, -2, 3, 1]),
    edgeAttr: config.edgeDim === null ? null : t([sources.length, 1], sources.map((_, k) => k + 1)),
    params,
  };
}

test('self-loop rule: existing loops removed, duplicates kept, one loop per node appended', () => {
  // Edges: 0->1, 1->1 (loop), 2->1, 0->1 (duplicate), 2->2 (loop), 1->0.
  const input = tinyInput([0, 1, 2, 0, 2, 1], [1, 1, 1, 1, 2, 0]);
  const trace = referenceTrace(input);
  assert.deepEqual(Array.from(trace.src), [0, 2, 0, 1, 0, 1, 2, 3]);
  assert.deepEqual(Array.from(trace.dst), [1, 1, 1, 0, 0, 1, 2, 3]);
  assert.deepEqual(Array.from(trace.origin), [0, 2, 3, 5, -1, -1, -1, -1]);
  // Loop features: mean of the kept incoming edge_attr (1, 3, 4 for node 1; 6 for node 0);
  // node 2's only in-edge was its own loop and node 3 has none, so theirs are 0.
  const expectedFeat = [1, 3, 4, 6, 6, 8 / 3, 0, 0];
  trace.edgeFeat!.forEach((v, k) => assert.ok(Math.abs(v - expectedFeat[k]!) < 1e-15, `edge ${k}: ${v}`));
  const alpha = trace.attention.alpha.data;
  assert.ok(Math.abs(alpha[0]! + alpha[1]! + alpha[2]! + alpha[5]! - 1) < 1e-15);
  assert.equal(alpha[6], 1);
  assert.equal(alpha[7], 1);

  // The removed input loops get no edge_attr gradient; every kept edge gets 1/3 of node 1's
  // loop gradient on top of its own.
  const upstream: Dense64 = { shape: [4, 2], data: Float64Array.from([1, -1, 0.5, 2, -1, 1, 0.3, 0.7]) };
  const g = referenceBackward(input, upstream).grads['edge_attr']!.data;
  assert.equal(g[1], 0);
  assert.equal(g[4], 0);
  assert.notEqual(g[0], 0);

  // Without edge features the duplicate 0->1 edges are indistinguishable: same weight.
  const plain = referenceForward(tinyInput([0, 1, 2, 0, 2, 1], [1, 1, 1, 1, 2, 0], { edgeDim: null }));
  assert.equal(plain.attention.alpha.data[0], plain.attention.alpha.data[2]);
  assert.notEqual(alpha[0], alpha[2], 'with edge features (1 vs 4) they differ');

  const noLoops = referenceForward(tinyInput([0, 1, 2, 0, 2, 1], [1, 1, 1, 1, 2, 0], { addSelfLoops: false }));
  assert.deepEqual(Array.from(noLoops.attention.edgeIndex[0]), [0, 1, 2, 0, 2, 1]);
  assert.deepEqual(Array.from(noLoops.attention.edgeIndex[1]), [1, 1, 1, 1, 2, 0]);
});

test('a node with a single in-edge copies its neighbour: y = W_l x_j + b_l + b', () => {
  const input = tinyInput([2], [3], { addSelfLoops: false, edgeDim: null });
  const y = referenceForward(input).output.data;
  // xl[2] = W_l x_2 + b_l with x_2 = (0.25, -2).
  const xl = [0.3 * 0.25 + -0.2 * -2 + 0.05, 0.1 * 0.25 + 0.6 * -2 - 0.1];
  assert.ok(Math.abs(y[6]! - (xl[0]! + 0.5)) < 1e-15);
  assert.ok(Math.abs(y[7]! - (xl[1]! - 0.25)) < 1e-15);
});

test('a node without in-edges outputs bias + residual, never NaN', () => {
  const input = tinyInput([0, 2], [1, 1], { addSelfLoops: false, residual: true });
  const upstream: Dense64 = { shape: [4, 2], data: Float64Array.from([1, 2, 3, 4, 5, 6, 7, 8]) };
  const { forward, grads } = referenceBackward(input, upstream);
  const y = forward.output.data;
  // Node 3: x = (3, 1), W_res = [[1.5, -0.5], [0.25, 2]], b = (0.5, -0.25).
  assert.equal(y[6], 1.5 * 3 - 0.5 * 1 + 0.5);
  assert.equal(y[7], 0.25 * 3 + 2 * 1 - 0.25);
  assert.equal(y[0], 1.5 * 1 - 0.5 * 2 + 0.5); // node 0 has no in-edge either
  for (const t of [forward.output, forward.attention.alpha, ...Object.values(grads)]) {
    assert.ok(t.data.every(Number.isFinite));
  }
  // Only node 1 aggregates, so db = column sums of G and the message gradient lands on 0 and 2.
  assert.deepEqual(Array.from(grads['bias']!.data), [16, 20]);
});

test('edge ids outside [0, N) and bad shapes throw InputError naming the culprit', () => {
  assert.throws(
    () => referenceForward(tinyInput([0, 1, 4], [1, 1, 0])),
    (e: unknown) => e instanceof InputError && /edge 2 \(4 -> 0\) names node 4 but num_nodes is 4/.test(e.message),
  );
  assert.throws(
    () => referenceForward(tinyInput([0, -1], [1, 1])),
    (e: unknown) => e instanceof InputError && /edge 1 /.test(e.message),
  );
  const input = tinyInput([0], [1]);
  input.params['lin_l.weight'] = { shape: [3, 2], data: new Float64Array(6) };
  assert.throws(() => referenceForward(input), (e: unknown) => e instanceof InputError && /lin_l\.weight/.test(e.message));
});
