/**
 * layerFlow on hand-made intermediates, where every count can be worked out on paper: the
 * one-side-of-LeakyReLU triples, the share of negative pre-activations, the attention entropy
 * summaries, and the paper's pair form of Theta_R's gradient (gradients.md, "The paper's main
 * insight"), which must equal the host loops' dL/dxr. Also the small statistics helpers.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { layerFlow, type LayerFlowInput } from '../src/diagnostics/layer-flow.js';
import { degreeHistogram, histogram, summarize } from '../src/diagnostics/stats.js';
import { DEFAULT_THRESHOLDS } from '../src/run/diagnostics-record.js';
import { buildLayout } from '../src/graph/layout.js';

/**
 * 3 nodes, H = 1, C = 2, self loops added:
 *   node 0 <- 0, 1, 2   (in-degree 3)   xr[0] = [10, 0]
 *   node 1 <- 0, 1      (in-degree 2)   xr[1] = [0, -10]
 *   node 2 <- 2         (in-degree 1)   xr[2] = [0, 0]
 * xl = [[1, 1], [-1, -1], [2, 3]], so z = xr[i] + xl[j]:
 *   node 0, channel 0: 11, 9, 12 (all positive: one side)   channel 1: 1, -1, 3 (mixed)
 *   node 1, channel 0: 1, -1 (mixed)                         channel 1: -9, -11 (all negative: one side)
 *   node 2: [2, 3] (in-degree 1: no pairs at all)
 */
const layout = buildLayout(3, [1, 2, 0], [0, 0, 1], { addSelfLoops: true });
const xl = Float32Array.from([1, 1, -1, -1, 2, 3]);
const xr = Float32Array.from([10, 0, 0, -10, 0, 0]);
const att = Float32Array.from([0.7, -1.3]);

/** alpha per CSR position: node 0 uniform over 3, node 1 [0.95, 0.05] over (0, 1) in CSR order, node 2 one. */
function alphaInCsrOrder(): Float32Array {
  const alpha = new Float32Array(layout.numEdges);
  for (let i = 0; i < 3; i++) {
    for (let p = layout.rowPtr[i]!; p < layout.rowPtr[i + 1]!; p++) {
      const j = layout.csrSrc[p]!;
      alpha[p] = i === 0 ? 1 / 3 : i === 1 ? (j === 0 ? 0.95 : 0.05) : 1;
    }
  }
  return alpha;
}

function input(): LayerFlowInput {
  return {
    graph: layout, heads: 1, channels: 2, negativeSlope: 0.2, xl, xr, edgeProj: null, att,
    alpha: alphaInCsrOrder(),
    // Upstream dL/dalpha: distinct values per edge, none zero.
    dAlpha: Float32Array.from({ length: layout.numEdges }, (_, p) => 0.3 + 0.5 * p - 0.1 * p * p),
  };
}

const opts = { thresholds: DEFAULT_THRESHOLDS, entropyBins: 10 };

test('layout of the hand-made graph is as the comment says', () => {
  assert.deepEqual([...layout.rowPtr], [0, 3, 5, 6]);
});

test('one-side triples, negative pre-activations and the in-degree-1 node, counted by hand', () => {
  const f = layerFlow(input(), opts);
  assert.equal(f.leaky.triples, 4, '2 nodes of in-degree >= 2, 2 channels');
  assert.equal(f.leaky.oneSide, 2, 'node 0 channel 0 (all positive) and node 1 channel 1 (all negative)');
  assert.equal(f.leaky.oneSideShare, 0.5);
  assert.equal(f.leaky.noGradShare, 4 / 6, '2 one-side triples + node 2\'s 2 triples, of 6');
  assert.equal(f.leaky.negativeShare, 4 / 12, 'z = -1 (node 0), -1, -9, -11 (node 1) of 6 edges x 2 channels');
  assert.equal(f.starvation.inDegreeOne, 1);
  assert.equal(f.starvation.inDegreeOneShare, 1 / 3);
  assert.equal(f.starvation.inDegreeZero, 0);
  assert.equal(f.starvation.active, 3);
  assert.equal(f.starvation.activeInDegreeOneShare, 1 / 3);
  assert.equal(f.starvation.activeZeroRowShare, 1 / 3, 'only node 2\'s row is exactly 0');
});

test('dL/dxr is exactly 0 for in-degree 1, ~0 in one-side channels, and not 0 in mixed ones', () => {
  const f = layerFlow(input(), opts);
  const dxr = f.dxr; // [node][channel]
  assert.equal(dxr[4], 0);
  assert.equal(dxr[5], 0);
  const scale = Math.max(...[...dxr].map(Math.abs));
  assert.ok(scale > 0);
  assert.ok(Math.abs(dxr[0]!) <= 1e-6 * scale, `node 0 channel 0 (one side): ${dxr[0]}`);
  assert.ok(Math.abs(dxr[3]!) <= 1e-6 * scale, `node 1 channel 1 (one side): ${dxr[3]}`);
  assert.ok(Math.abs(dxr[1]!) > 1e-3 * scale, 'node 0 channel 1 (mixed)');
  assert.ok(Math.abs(dxr[2]!) > 1e-3 * scale, 'node 1 channel 0 (mixed)');
  assert.ok(f.oneSideResidual !== null && f.oneSideResidual <= 1e-6);
});

test("the paper's pair form equals the host loops' dL/dxr", () => {
  const inp = input();
  const f = layerFlow(inp, opts);
  const C = 2;
  for (let i = 0; i < 3; i++) {
    const start = layout.rowPtr[i]!, end = layout.rowPtr[i + 1]!;
    for (let c = 0; c < C; c++) {
      // a[c]/2 * sum_{j,k} alpha_j alpha_k (A_j - A_k)(s_j - s_k), in float64.
      let pair = 0;
      const s = (p: number) => (xr[i * C + c]! + xl[layout.csrSrc[p]! * C + c]! > 0 ? 1 : 0.2);
      for (let p = start; p < end; p++) {
        for (let q = start; q < end; q++) {
          pair += inp.alpha[p]! * inp.alpha[q]! * (inp.dAlpha[p]! - inp.dAlpha[q]!) * (s(p) - s(q));
        }
      }
      pair *= att[c]! / 2;
      assert.ok(Math.abs(f.dxr[i * C + c]! - pair) <= 1e-6, `node ${i} channel ${c}: loops ${f.dxr[i * C + c]}, pair form ${pair}`);
    }
  }
});

test('attention entropy per (node, head), normalised by log(in-degree), and its shares', () => {
  const f = layerFlow(input(), opts);
  const a = f.attention;
  assert.equal(a.pairs, 2, 'nodes 0 and 1; node 2 (in-degree 1) is left out');
  assert.equal(a.inDegreeOne, 1);
  const skewed = -(0.95 * Math.log(0.95) + 0.05 * Math.log(0.05)) / Math.log(2);
  assert.ok(Math.abs(a.entropy.max! - 1) < 1e-6, 'uniform over 3: entropy log 3 / log 3');
  assert.ok(Math.abs(a.entropy.min! - skewed) < 1e-6, `[0.95, 0.05]: ${skewed}`);
  assert.ok(Math.abs(a.entropy.mean! - (1 + skewed) / 2) < 1e-6);
  assert.ok(Math.abs(a.entropy.median! - (1 + skewed) / 2) < 1e-6);
  assert.equal(a.nearlyUniformShare, 0.5);
  assert.equal(a.nearlyOneHotShare, 0.5, 'max alpha 0.95 > 0.9');
  assert.ok(Math.abs(a.maxAlpha.max! - 0.95) < 1e-6);
  assert.deepEqual(a.entropyHistogram.counts, [0, 0, 1, 0, 0, 0, 0, 0, 0, 1], `0.286 in bin 2, 1.0 in the last bin`);
  assert.equal(a.entropyHistogram.edges.length, 11);
});

test('summaries, histograms and the in-degree histogram', () => {
  const s = summarize([5, 1, 4, 2, 3]);
  assert.equal(s.count, 5);
  assert.equal(s.mean, 3);
  assert.equal(s.min, 1);
  assert.equal(s.max, 5);
  assert.equal(s.median, 3);
  assert.equal(s.q25, 2);
  assert.ok(Math.abs(s.q10! - 1.4) < 1e-12);
  assert.ok(Math.abs(s.q90! - 4.6) < 1e-12);
  assert.deepEqual(summarize([]), { count: 0, mean: null, min: null, q10: null, q25: null, median: null, q75: null, q90: null, max: null });
  assert.deepEqual(histogram([0, 0.5, 0.99, 1, 1.2, -1], 2, 0, 1).counts, [2, 4]);
  const h = degreeHistogram(Int32Array.from([0, 1, 1, 2, 7, 8, 15, 16, 40]));
  assert.deepEqual(h.labels, ['0', '1', '2', '3', '4', '5', '6', '7', '8-15', '16-31', '32-63']);
  assert.deepEqual(h.counts, [1, 2, 1, 0, 0, 0, 0, 1, 2, 1, 1]);
});
