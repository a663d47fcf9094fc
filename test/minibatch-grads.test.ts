/**
 * Mini-batch gradients (src/train/minibatch.ts): with every neighbour taken (fanout -1), the
 * gradient of a batch's loss computed on its sampled blocks equals the full-batch gradient of the
 * same loss (the batch's nodes only), for every parameter, in both gradient modes, on Cora and on
 * a graph with a hub, isolated nodes, self loops and duplicate edges with a 3-layer model.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { useBackend } from '../src/backends/index.js';
import type { DenseFeatures, GraphDataset } from '../src/data/dataset.js';
import { loadDataset } from '../src/store/load.js';
import { syntheticFeatures, syntheticGraph, syntheticLabels } from '../src/graph/synthetic.js';
import { buildNetworkConfig, createNetworkInputs, initNetworkParams, type NetworkShape } from '../src/model/network.js';
import type { GradMode } from '../src/ops/graph-tensors.js';
import { MemoryAdjacency } from '../src/sample/adjacency.js';
import { NeighborSampler } from '../src/sample/sampler.js';
import { DEFAULT_MODEL } from '../src/train/config.js';
import { prepareData } from '../src/data/prepare.js';
import { lossAndGrads, toHost, type HostGrads } from '../src/model/objective.js';
import { splitTargets } from '../src/model/loss.js';
import { batchTargets, blockInputs } from '../src/train/minibatch.js';
import { memoryFeatures } from '../src/store/features.js';

const TOL = 1e-5;

function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let diff = 0, scale = 0;
  for (let i = 0; i < b.length; i++) {
    diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  return scale === 0 ? diff : diff / scale;
}

async function compare(ds: GraphDataset, model: Partial<NetworkShape>, batch: Int32Array, mode: GradMode, what: string): Promise<void> {
  const shape: NetworkShape = {
    ...DEFAULT_MODEL, inputDropout: 0, attentionDropout: 0, ...model,
    inFeatures: ds.features.numFeatures, numClasses: ds.classNames.length,
  };
  const data = prepareData(ds, { normalizeFeatures: true, addSelfLoops: shape.addSelfLoops });
  const net = buildNetworkConfig(shape);
  const params = initNetworkParams(net, 3);
  const before = tf.memory().numTensors;
  const grads = async (inputs: ReturnType<typeof createNetworkInputs>, targets: tf.Tensor2D): Promise<{ g: HostGrads; loss: number }> => {
    const r = lossAndGrads(net, params, inputs, { targets, weightDecay: 0 }, { mode, training: false });
    const g = await toHost(r.grads);
    const loss = (await r.loss.data())[0]!;
    tf.dispose([r.loss, r.objective, ...Object.values(r.grads), targets]);
    inputs.dispose();
    return { g, loss };
  };
  const full = await grads(createNetworkInputs(data.features, data.layout), splitTargets(ds.labels, batch, data.numClasses));
  const sampler = new NeighborSampler(MemoryAdjacency.fromDataset(ds), { fanouts: net.layers.map(() => -1), addSelfLoops: shape.addSelfLoops });
  const sampled = sampler.sample(batch, 1);
  assert.ok(sampled.blocks[0]!.numSrc < ds.nodeIds.length || what === 'small', `${what}: the blocks cover the whole graph, the test proves little`);
  const mini = await grads(blockInputs(sampled, memoryFeatures(data.features)), batchTargets(ds.labels, batch, data.numClasses));
  assert.equal(tf.memory().numTensors, before, `${what}: tensors left behind`);
  assert.ok(Math.abs(mini.loss - full.loss) <= 1e-6 * Math.max(1, full.loss), `${what}: loss ${mini.loss} vs ${full.loss}`);
  for (const [name, f] of Object.entries(full.g)) {
    const m = mini.g[name]!;
    assert.deepEqual(m.shape, f.shape);
    const e = relErr(m.values, f.values);
    assert.ok(e <= TOL, `${what} ${mode} ${name}: mini-batch vs full batch ${e}`);
  }
  tf.dispose(Object.values(params));
}

test('fanout -1: mini-batch gradients equal full-batch gradients of the batch loss (Cora)', async () => {
  await useBackend('cpu');
  const ds = await loadDataset('cora');
  const batch = Int32Array.from([0, 5, 17, 33, 64, 99, 120, 139, 1708, 2000]);
  for (const mode of ['analytic', 'autograd'] as const) {
    await compare(ds, { heads: 2, hidden: 4 }, batch, mode, 'cora');
  }
});

test('fanout -1, 3 layers with residual and mean output heads: hub, isolated nodes, loops and duplicates', async () => {
  await useBackend('cpu');
  const N = 120, F = 6, K = 4;
  const g = syntheticGraph({ numNodes: 110, avgDegree: 2, distribution: 'power-law', seed: 5 });
  // Nodes 110..119 are isolated; node 0 gets in-edges from 60 nodes; a duplicate and self loops.
  const s = [...g.source, ...Array.from({ length: 60 }, (_, k) => k + 1), 7, 7, 9];
  const t = [...g.target, ...Array.from({ length: 60 }, () => 0), 8, 8, 9];
  const features: DenseFeatures = { kind: 'dense', numNodes: N, numFeatures: F, values: syntheticFeatures(N, F, 6) };
  const ds: GraphDataset = {
    name: 'synthetic', dir: '', nodeIds: Array.from({ length: N }, (_, i) => String(i)),
    classNames: ['a', 'b', 'c', 'd'], labels: syntheticLabels(N, K, 7), split: new Uint8Array(N),
    edgeSource: Int32Array.from(s), edgeTarget: Int32Array.from(t), features, warnings: [],
  };
  const batch = Int32Array.from([0, 8, 9, 115, 40]);
  for (const addSelfLoops of [true, false]) {
    for (const mode of ['analytic', 'autograd'] as const) {
      await compare(ds, { layers: 3, heads: 2, hidden: 3, residual: true, outputHeads: 2, addSelfLoops }, batch, mode, `synthetic loops=${addSelfLoops}`);
    }
  }
});
