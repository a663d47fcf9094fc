/**
 * The diagnostics agree with the gradients TF.js computes:
 * - the instrumented pass (src/diagnostics/instrumented.ts, a mirror of networkForward with taps)
 *   gives the same loss and parameter gradients as lossAndGrads, in both gradient modes, in
 *   evaluation and in training (dropout, sparse features);
 * - the host loops' dL/dxr (the per-node Theta_R gradient contributions, from xl, xr, att, alpha
 *   and the upstream dL/dalpha) equals the tape's dL/dxr: bit for bit through the analytic
 *   kernels on cpu (the host runs the kernels' own functions), to float rounding against
 *   autodiff; it also equals the paper's pair form;
 * - sum_i dL/dxr[i] is the gradient of lin_r.bias;
 * - diagnoseNetwork leaves no tensor behind and its result survives a JSON round trip.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { useBackend } from '../src/backends/index.js';
import { Prng } from '../src/util/prng.js';
import type { SparseFeatures } from '../src/data/dataset.js';
import { diagnoseNetwork } from '../src/diagnostics/diagnose.js';
import { instrumentedPass } from '../src/diagnostics/instrumented.js';
import { layerFlow } from '../src/diagnostics/layer-flow.js';
import { DEFAULT_THRESHOLDS } from '../src/run/diagnostics-record.js';
import { buildLayout } from '../src/graph/layout.js';
import { syntheticGraph } from '../src/graph/synthetic.js';
import { buildNetworkConfig, createNetworkInputs, initNetworkParams, type NetworkConfig, type NetworkInputs } from '../src/model/network.js';
import type { GradMode } from '../src/ops/graph-tensors.js';
import { lossAndGrads } from '../src/model/objective.js';
import { splitTargets } from '../src/model/loss.js';

const N = 40, F = 12, CLASSES = 3;
const MODES: GradMode[] = ['analytic', 'autograd'];

function net(): NetworkConfig {
  return buildNetworkConfig({
    inFeatures: F, numClasses: CLASSES, layers: 2, hidden: 4, heads: 3, outputHeads: 2, outputConcat: false,
    activation: 'elu', inputDropout: 0.4, attentionDropout: 0.4, negativeSlope: 0.2, addSelfLoops: true,
    bias: true, shareWeights: false, residual: false,
  });
}

/** Sparse features (about 30% dense), so the sparse projection and its dropout path are covered. */
function sparseFeatures(seed: number): SparseFeatures {
  const rng = new Prng(seed);
  const rowPtr = new Int32Array(N + 1), colIdx: number[] = [], values: number[] = [];
  for (let i = 0; i < N; i++) {
    for (let f = 0; f < F; f++) {
      if (rng.uniform() < 0.3) {
        colIdx.push(f);
        values.push(rng.uniform() + 0.1);
      }
    }
    rowPtr[i + 1] = colIdx.length;
  }
  return { kind: 'sparse', numNodes: N, numFeatures: F, rowPtr, colIdx: Int32Array.from(colIdx), values: Float32Array.from(values) };
}

async function setup(): Promise<{ net: NetworkConfig; inputs: NetworkInputs; params: Record<string, tf.Tensor>; targets: tf.Tensor2D; dispose(): void }> {
  await useBackend('cpu');
  const g = syntheticGraph({ numNodes: N, avgDegree: 3, distribution: 'uniform', seed: 5 });
  const inputs = createNetworkInputs(sparseFeatures(2), buildLayout(N, g.source, g.target, { addSelfLoops: true }));
  const n = net();
  const params = initNetworkParams(n, 11);
  const labels = Int32Array.from({ length: N }, (_, i) => (i * 7) % CLASSES);
  const targets = splitTargets(labels, Int32Array.from({ length: 20 }, (_, i) => 2 * i), CLASSES);
  return {
    net: n, inputs, params, targets,
    dispose() {
      targets.dispose();
      tf.dispose(Object.values(params));
      inputs.dispose();
    },
  };
}

function maxRel(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let d = 0, s = 0;
  for (let k = 0; k < b.length; k++) {
    d = Math.max(d, Math.abs(a[k]! - b[k]!));
    s = Math.max(s, Math.abs(b[k]!));
  }
  return d === 0 ? 0 : d / s;
}

for (const mode of MODES) {
  for (const training of [false, true]) {
    test(`instrumented pass = lossAndGrads (${mode}, training ${training})`, async () => {
      const c = await setup();
      try {
        const fwd = { mode, training, seed: 9 };
        const ref = lossAndGrads(c.net, c.params, c.inputs, { targets: c.targets, weightDecay: 0 }, fwd);
        const pass = instrumentedPass(c.net, c.params, c.inputs, c.targets, fwd);
        assert.equal((await pass.loss.data())[0], (await ref.loss.data())[0]);
        for (const name of Object.keys(c.params)) {
          const r = maxRel(await pass.grads[name]!.data(), await ref.grads[name]!.data());
          assert.ok(r <= 1e-6, `${name}: relative difference ${r}`);
        }
        tf.dispose([ref.loss, ref.objective, ...Object.values(ref.grads)]);
        pass.dispose();
      } finally {
        c.dispose();
      }
    });

    test(`host dL/dxr = tape dL/dxr = the pair form; sum_i dL/dxr[i] = grad lin_r.bias (${mode}, training ${training})`, async () => {
      const c = await setup();
      try {
        const pass = instrumentedPass(c.net, c.params, c.inputs, c.targets, { mode, training, seed: 9 });
        const L = c.inputs.graph.layout;
        for (let l = 0; l < c.net.layers.length; l++) {
          const cfg = c.net.layers[l]!;
          const cap = pass.layers[l]!;
          const H = cfg.heads, C = cfg.outChannels, HC = H * C;
          const inp = {
            graph: L, heads: H, channels: C, negativeSlope: cfg.negativeSlope,
            xl: (await cap.xl.data()) as Float32Array, xr: (await cap.xr!.data()) as Float32Array, edgeProj: null,
            att: (await c.params[`conv${l + 1}.att`]!.data()) as Float32Array,
            alpha: (await cap.alpha.data()) as Float32Array, dAlpha: (await cap.dAlpha!.data()) as Float32Array,
          };
          const f = layerFlow(inp, { thresholds: DEFAULT_THRESHOLDS, entropyBins: 20 });
          const tape = (await cap.dxr!.data()) as Float32Array;
          const r = maxRel(f.dxr, tape);
          if (mode === 'analytic') assert.equal(r, 0, `conv${l + 1}: the same functions as the cpu kernels, bit for bit`);
          else assert.ok(r <= 1e-5, `conv${l + 1}: host vs autodiff dL/dxr ${r}`);

          // The paper's pair form, per destination, head and channel, in float64.
          const pair = new Float64Array(L.numNodes * HC);
          for (let i = 0; i < L.numNodes; i++) {
            for (let h = 0; h < H; h++) {
              for (let ch = 0; ch < C; ch++) {
                const o = h * C + ch;
                const s = (p: number) => (inp.xr[i * HC + o]! + inp.xl[L.csrSrc[p]! * HC + o]! > 0 ? 1 : cfg.negativeSlope);
                let acc = 0;
                for (let p = L.rowPtr[i]!; p < L.rowPtr[i + 1]!; p++) {
                  for (let q = L.rowPtr[i]!; q < L.rowPtr[i + 1]!; q++) {
                    acc += inp.alpha[p * H + h]! * inp.alpha[q * H + h]! * (inp.dAlpha[p * H + h]! - inp.dAlpha[q * H + h]!) * (s(p) - s(q));
                  }
                }
                pair[i * HC + o] = (inp.att[o]! / 2) * acc;
              }
            }
          }
          const rp = maxRel(pair, tape);
          assert.ok(rp <= 1e-4, `conv${l + 1}: pair form vs tape dL/dxr ${rp}`);

          const bias = (await pass.grads[`conv${l + 1}.lin_r.bias`]!.data()) as Float32Array;
          const sum = new Float64Array(HC);
          for (let i = 0; i < L.numNodes; i++) for (let o = 0; o < HC; o++) sum[o]! += tape[i * HC + o]!;
          assert.ok(maxRel(sum, bias) <= 1e-5, `conv${l + 1}: sum of dL/dxr rows vs grad lin_r.bias`);
        }
        pass.dispose();
      } finally {
        c.dispose();
      }
    });
  }
}

test('diagnoseNetwork: checks pass, no tensor leaks, plain JSON', async () => {
  const c = await setup();
  try {
    for (const mode of MODES) {
      const before = tf.memory().numTensors;
      const d = await diagnoseNetwork(c.net, c.params, c.inputs, { targets: c.targets, weightDecay: 5e-4 }, { mode, training: true, seed: 4 });
      assert.equal(tf.memory().numTensors, before, `${mode}: no tensor left behind`);
      assert.deepEqual(JSON.parse(JSON.stringify(d)), d);
      assert.equal(d.mode, mode);
      assert.equal(d.layers.length, 2);
      for (const l of d.layers) {
        assert.ok(l.check.dxrRelErr !== null && l.check.dxrRelErr <= (mode === 'analytic' ? 0 : 1e-5), `${l.name} ${mode}: dxr ${l.check.dxrRelErr}`);
        assert.ok(l.check.thetaRBiasRelErr !== null && l.check.thetaRBiasRelErr <= 1e-5);
        assert.ok(l.gradNorms.thetaR!.grad > 0 && l.gradNorms.thetaL.grad > 0);
        assert.ok(l.nodeGrads.dxl > 0 && l.nodeGrads.dxlScore > 0);
        const p = l.gradNorms.params;
        const group = Math.hypot(p['lin_r.weight']!.grad, p['lin_r.bias']!.grad);
        assert.ok(Math.abs(group - l.gradNorms.thetaR!.grad) <= 1e-9 * group);
      }
    }
  } finally {
    c.dispose();
  }
});

test('diagnoseNetwork with share_weights: Theta_R is Theta_L, the dxr check is skipped', async () => {
  await useBackend('cpu');
  const n = buildNetworkConfig({
    inFeatures: F, numClasses: CLASSES, layers: 1, hidden: 4, heads: 2, outputHeads: 2, outputConcat: false,
    activation: 'elu', inputDropout: 0, attentionDropout: 0, negativeSlope: 0.2, addSelfLoops: true,
    bias: true, shareWeights: true, residual: false,
  });
  const g = syntheticGraph({ numNodes: N, avgDegree: 3, distribution: 'uniform', seed: 5 });
  const inputs = createNetworkInputs(sparseFeatures(2), buildLayout(N, g.source, g.target, { addSelfLoops: true }));
  const params = initNetworkParams(n, 3);
  const targets = splitTargets(Int32Array.from({ length: N }, (_, i) => i % CLASSES), Int32Array.from([0, 1, 2, 3]), CLASSES);
  try {
    const d = await diagnoseNetwork(n, params, inputs, { targets, weightDecay: 0 }, { training: false });
    const l = d.layers[0]!;
    assert.equal(l.gradNorms.thetaR, null);
    assert.equal(l.check.dxrRelErr, null);
    assert.ok(l.nodeGrads.dxr > 0, 'the target role still gets its score-stage gradient');
  } finally {
    targets.dispose();
    tf.dispose(Object.values(params));
    inputs.dispose();
  }
});
