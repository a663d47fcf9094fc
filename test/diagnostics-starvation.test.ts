/**
 * The paper's prediction (gradients.md, "The paper's main insight"), end to end through
 * diagnoseNetwork: on a graph where every node has in-degree 1 after self loops (no edges, self
 * loops on), every destination is starved and Theta_R's gradient is exactly 0, in the
 * diagnostics, in the host loops and in the analytic training gradient; on a graph where every
 * node has 2+ in-neighbours it is not.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { useBackend } from '../src/backends/index.js';
import { diagnoseNetwork } from '../src/diagnostics/diagnose.js';
import { instrumentedPass } from '../src/diagnostics/instrumented.js';
import type { DenseFeatures } from '../src/data/dataset.js';
import { buildLayout } from '../src/graph/layout.js';
import { buildNetworkConfig, createNetworkInputs, initNetworkParams, type NetworkConfig } from '../src/model/network.js';
import { lossAndGrads } from '../src/model/objective.js';
import { splitTargets } from '../src/model/loss.js';
import { Prng } from '../src/util/prng.js';

const N = 12, F = 5, CLASSES = 3;

function tinyNet(): NetworkConfig {
  return buildNetworkConfig({
    inFeatures: F, numClasses: CLASSES, layers: 2, hidden: 4, heads: 2, outputHeads: 1, outputConcat: false,
    activation: 'elu', inputDropout: 0.3, attentionDropout: 0.3, negativeSlope: 0.2, addSelfLoops: true,
    bias: true, shareWeights: false, residual: false,
  });
}

function features(seed: number): DenseFeatures {
  const rng = new Prng(seed);
  return { kind: 'dense', numNodes: N, numFeatures: F, values: Float32Array.from({ length: N * F }, () => rng.normal(0, 1)) };
}

const labels = Int32Array.from({ length: N }, (_, i) => i % CLASSES);
const trainNodes = Int32Array.from({ length: N }, (_, i) => i);

/** Every node i gets in-edges from i-1 and i+1 (a ring both ways): in-degree 3 with its self loop. */
function ring(): { source: number[]; target: number[] } {
  const source: number[] = [], target: number[] = [];
  for (let i = 0; i < N; i++) {
    source.push((i + 1) % N, (i + N - 1) % N);
    target.push(i, i);
  }
  return { source, target };
}

async function run(edges: { source: number[]; target: number[] }, training: boolean) {
  await useBackend('cpu');
  const net = tinyNet();
  const inputs = createNetworkInputs(features(1), buildLayout(N, edges.source, edges.target, { addSelfLoops: true }));
  const params = initNetworkParams(net, 7);
  const targets = splitTargets(labels, trainNodes, CLASSES);
  try {
    const d = await diagnoseNetwork(net, params, inputs, { targets, weightDecay: 5e-4 }, { training, seed: 3 });
    // The training step's own gradient (weight decay off, so that wd * theta does not mask it).
    const step = lossAndGrads(net, params, inputs, { targets, weightDecay: 0 }, { mode: 'analytic', training, seed: 3 });
    const grads: Record<string, Float32Array> = {};
    for (const [n, g] of Object.entries(step.grads)) grads[n] = (await g.data()) as Float32Array;
    tf.dispose([step.loss, step.objective, ...Object.values(step.grads)]);
    // The tape's dL/dxr rows of the analytic path.
    const pass = instrumentedPass(net, params, inputs, targets, { mode: 'analytic', training, seed: 3 });
    const dxr = await Promise.all(pass.layers.map(async (l) => (await l.dxr!.data()) as Float32Array));
    pass.dispose();
    return { d, grads, dxr };
  } finally {
    targets.dispose();
    tf.dispose(Object.values(params));
    inputs.dispose();
  }
}

for (const training of [false, true]) {
  test(`in-degree 1 everywhere (no edges, self loops): 100% starved, Theta_R gradient exactly 0 (training ${training})`, async () => {
    const { d, grads, dxr } = await run({ source: [], target: [] }, training);
    assert.equal(d.graph.inDegreeOne, N);
    assert.equal(d.graph.numEdges, N);
    for (const l of d.layers) {
      assert.equal(l.starvation.inDegreeOne, N, `${l.name}: every node has in-degree 1`);
      assert.equal(l.starvation.inDegreeOneShare, 1);
      assert.ok(l.starvation.active > 0, `${l.name}: the loss reaches some destinations`);
      assert.equal(l.starvation.activeInDegreeOneShare, 1, `${l.name}: 100% of the active destinations are starved`);
      assert.equal(l.starvation.activeZeroRowShare, 1, `${l.name}: every active dL/dxr row is exactly 0`);
      assert.equal(l.gradNorms.thetaR!.grad, 0, `${l.name}: |dTheta_R| is exactly 0`);
      assert.equal(l.gradNorms.params['lin_r.weight']!.grad, 0);
      assert.equal(l.gradNorms.params['lin_r.bias']!.grad, 0);
      assert.equal(l.nodeGrads.dxr, 0);
      assert.ok(l.gradNorms.thetaL.grad > 0, `${l.name}: Theta_L still learns through the messages`);
      assert.equal(l.check.starvedRowsZero, true);
      assert.equal(l.leaky.triples, 0, 'no destination of in-degree >= 2');
      assert.equal(l.leaky.noGradShare, 1);
      assert.equal(l.attention.pairs, 0);
      assert.equal(l.attention.inDegreeOne, N);
    }
    // The analytic training gradient agrees, bit for bit.
    for (const name of ['conv1.lin_r.weight', 'conv1.lin_r.bias', 'conv2.lin_r.weight', 'conv2.lin_r.bias']) {
      assert.ok(grads[name]!.every((v) => v === 0), `${name}: analytic gradient exactly 0`);
    }
    assert.ok(grads['conv1.lin_l.weight']!.some((v) => v !== 0));
    for (const rows of dxr) assert.ok(rows.every((v) => v === 0), 'tape dL/dxr exactly 0');
  });

  test(`2+ in-neighbours everywhere (a ring both ways): no starved node, Theta_R gradient not 0 (training ${training})`, async () => {
    const { d, grads, dxr } = await run(ring(), training);
    assert.equal(d.graph.inDegreeOne, 0);
    assert.equal(d.graph.inDegree.min, 3);
    for (const l of d.layers) {
      assert.equal(l.starvation.inDegreeOne, 0);
      assert.equal(l.starvation.activeInDegreeOneShare, 0);
      assert.ok(l.starvation.active > 0);
      assert.ok(l.gradNorms.thetaR!.grad > 0, `${l.name}: |dTheta_R| > 0`);
      assert.ok(l.nodeGrads.dxr > 0);
      assert.equal(l.check.starvedRowsZero, true, 'vacuously: no in-degree-1 node');
      assert.equal(l.leaky.triples, N * l.heads * l.channels);
      assert.equal(l.attention.pairs, N * l.heads);
      assert.equal(l.attention.inDegreeOne, 0);
    }
    for (const name of ['conv1.lin_r.weight', 'conv2.lin_r.weight']) {
      assert.ok(grads[name]!.some((v) => v !== 0), `${name}: analytic gradient not 0`);
    }
    for (const rows of dxr) assert.ok(rows.some((v) => v !== 0));
  });
}
