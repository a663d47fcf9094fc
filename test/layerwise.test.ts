/**
 * Layer-wise full-neighbour inference (src/train/layerwise.ts) equals the full-graph evaluation
 * forward (1e-5), over chunks small enough that every layer takes many of them, with features in
 * memory and read from a store's files, hidden layers in memory or spilled to a file.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { useBackend } from '../src/backends/index.js';
import type { DenseFeatures, GraphDataset } from '../src/data/dataset.js';
import { loadDataset } from '../src/store/load.js';
import { syntheticFeatures, syntheticGraph, syntheticLabels } from '../src/graph/synthetic.js';
import { buildNetworkConfig, createNetworkInputs, initNetworkParams, networkForward, type NetworkShape } from '../src/model/network.js';
import { MemoryAdjacency, StoreAdjacency } from '../src/sample/adjacency.js';
import { StoreReader } from '../src/store/read.js';
import { writeStore } from '../src/store/write.js';
import { DEFAULT_MODEL } from '../src/train/config.js';
import { prepareData } from '../src/data/prepare.js';
import { chunkEdgeBudget, chunkRanges, layerwiseLogits, layerwiseScores } from '../src/train/layerwise.js';
import { scoresOfLogits } from '../src/train/node-scores.js';
import { storeFeatures, memoryFeatures } from '../src/store/features.js';

function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let diff = 0, scale = 0;
  for (let i = 0; i < b.length; i++) {
    diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  return diff / scale;
}

async function fullLogits(ds: GraphDataset, shape: NetworkShape, params: Record<string, tf.Tensor>): Promise<Float32Array> {
  const data = prepareData(ds, { normalizeFeatures: true, addSelfLoops: shape.addSelfLoops });
  const inputs = createNetworkInputs(data.features, data.layout);
  const t = tf.tidy(() => networkForward(buildNetworkConfig(shape), params, inputs, { mode: 'analytic', training: false }).logits);
  const v = (await t.data()) as Float32Array;
  t.dispose();
  inputs.dispose();
  return v;
}

test('chunks cover every node once, within the bounds', () => {
  const adj = new MemoryAdjacency(Float64Array.from([0, 1, 1, 9, 10, 12]), new Int32Array(12));
  assert.deepEqual(chunkRanges(adj, 2, 100), [[0, 2], [2, 4], [4, 5]]);
  // Edges (in-degree + the loop): 2, 1, 9, 2, 3; the hub is a chunk of its own.
  assert.deepEqual(chunkRanges(adj, 10, 5), [[0, 2], [2, 3], [3, 5]]);
  // Edges per chunk from the bytes its sources' rows take: 100 features into 8 x 8 heads.
  assert.equal(chunkEdgeBudget(100, 64), Math.floor((64 << 20) / (4 * (100 + 3 * 64))));
  assert.equal(chunkEdgeBudget(1, 1), 1 << 20);
  assert.equal(chunkEdgeBudget(1_000_000, 64), 4096);
});

test('layer-wise inference equals the full forward on Cora (memory and store features)', async () => {
  await useBackend('cpu');
  const ds = await loadDataset('cora');
  const shape: NetworkShape = { ...DEFAULT_MODEL, heads: 4, hidden: 4, inFeatures: 1433, numClasses: 7 };
  const net = buildNetworkConfig(shape);
  const params = initNetworkParams(net, 11);
  const want = await fullLogits(ds, shape, params);
  const data = prepareData(ds, { normalizeFeatures: true, addSelfLoops: true });
  const before = tf.memory().numTensors;
  const got = await layerwiseLogits(net, params, {
    adjacency: MemoryAdjacency.fromDataset(ds), features: memoryFeatures(data.features), addSelfLoops: true, maxChunkNodes: 300, maxChunkEdges: 2000,
  });
  assert.equal(tf.memory().numTensors, before);
  assert.ok(relErr(got, want) <= 1e-5, `${relErr(got, want)}`);

  const out = join(mkdtempSync(join(tmpdir(), 'gatv2-lw-')), 'cora.store');
  await writeStore(ds, out, { featuresDtype: 'float32', overwrite: false, source: 'cora' });
  const reader = new StoreReader(out, out);
  const fromStore = await layerwiseLogits(net, params, {
    adjacency: new StoreAdjacency(reader), features: storeFeatures(reader, { normalization: { mode: 'row' } }), addSelfLoops: true, maxChunkNodes: 500, spill: true,
  });
  assert.ok(relErr(fromStore, want) <= 1e-5, `${relErr(fromStore, want)}`);
  // Scored chunk by chunk (training from a store's files): exactly the scores of those logits.
  const scores = await layerwiseScores(net, params, {
    adjacency: new StoreAdjacency(reader), features: storeFeatures(reader, { normalization: { mode: 'row' } }), addSelfLoops: true, maxChunkNodes: 500, spill: true,
  }, ds.labels);
  reader.close();
  assert.deepEqual(scores, scoresOfLogits(fromStore, ds.labels, 7));
  tf.dispose(Object.values(params));
});

test('layer-wise inference equals the full forward: 3 layers, residual, mean heads, hub, isolated nodes, with and without loops', async () => {
  await useBackend('cpu');
  const N = 150, F = 5, K = 3;
  const g = syntheticGraph({ numNodes: 140, avgDegree: 3, distribution: 'power-law', seed: 2 });
  const s = [...g.source, ...Array.from({ length: 90 }, (_, k) => k + 1), 4, 4];
  const t = [...g.target, ...Array.from({ length: 90 }, () => 0), 4, 6];
  const features: DenseFeatures = { kind: 'dense', numNodes: N, numFeatures: F, values: syntheticFeatures(N, F, 3) };
  const ds: GraphDataset = {
    name: 's', dir: '', nodeIds: Array.from({ length: N }, (_, i) => String(i)), classNames: ['a', 'b', 'c'],
    labels: syntheticLabels(N, K, 4), split: new Uint8Array(N), edgeSource: Int32Array.from(s), edgeTarget: Int32Array.from(t), features, warnings: [],
  };
  for (const addSelfLoops of [true, false]) {
    const shape: NetworkShape = {
      ...DEFAULT_MODEL, layers: 3, heads: 2, hidden: 3, residual: true, outputHeads: 2, addSelfLoops, inFeatures: F, numClasses: K,
    };
    const net = buildNetworkConfig(shape);
    const params = initNetworkParams(net, 12);
    const want = await fullLogits(ds, shape, params);
    const data = prepareData(ds, { normalizeFeatures: true, addSelfLoops });
    const run = (spill: boolean) => layerwiseLogits(net, params, {
      adjacency: MemoryAdjacency.fromDataset(ds), features: memoryFeatures(data.features), addSelfLoops, maxChunkNodes: 17, maxChunkEdges: 40, spill,
    });
    const got = await run(false);
    assert.ok(relErr(got, want) <= 1e-5, `loops=${addSelfLoops}: ${relErr(got, want)}`);
    // Hidden layers through a temporary file: the same values, bit for bit.
    assert.deepEqual(await run(true), got);
    tf.dispose(Object.values(params));
  }
});
