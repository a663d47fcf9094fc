/**
 * Edge features in CSR order, with PyG's fill_value 'mean' for the added self loops: the loop of
 * node i carries the mean of the features of i's incoming edges (after existing loops were
 * removed; zero when it has none). Built from differentiable ops (gather, segment sum), so the
 * loop's gradient flows back, divided by the in-degree, to each of those edges
 * (gradients.md "PyG's extensions").
 */
import * as tf from '@tensorflow/tfjs-core';
import type { GraphTensors } from '../ops/graph-tensors.js';

interface EdgeAttrIndex {
  /** Input edge index of each kept edge (PyG ids 0..kept-1). */
  keptInput: tf.Tensor1D;
  /** Destination of each kept edge. */
  keptDst: tf.Tensor1D;
  /** 1 / (number of kept edges into i), 0 for none: [N, 1]. */
  invDegree: tf.Tensor2D;
  /** PyG edge id of each CSR position. */
  csrToEdgeId: tf.Tensor1D;
}

/**
 * Built on a graph's first use with edge features and kept with it (every forward pass reorders
 * them); freed by releaseEdgeAttrIndex.
 */
const cache = new WeakMap<GraphTensors, EdgeAttrIndex>();

function indexFor(g: GraphTensors): EdgeAttrIndex {
  let idx = cache.get(g);
  if (idx) return idx;
  const L = g.layout;
  const kept = L.keptInputEdges;
  const keptInput = L.inputEdgeOf.slice(0, kept);
  const keptDst = new Int32Array(kept);
  const edgeDst = new Int32Array(L.numEdges);
  for (let p = 0; p < L.numEdges; p++) edgeDst[L.csrToEdgeId[p]] = L.csrDst[p];
  const deg = new Float32Array(L.numNodes);
  for (let k = 0; k < kept; k++) {
    keptDst[k] = edgeDst[k];
    deg[edgeDst[k]]++;
  }
  for (let i = 0; i < deg.length; i++) deg[i] = deg[i] > 0 ? 1 / deg[i] : 0;
  idx = {
    keptInput: tf.keep(tf.tensor1d(keptInput, 'int32')),
    keptDst: tf.keep(tf.tensor1d(keptDst, 'int32')),
    invDegree: tf.keep(tf.tensor2d(deg, [L.numNodes, 1])),
    csrToEdgeId: tf.keep(tf.tensor1d(L.csrToEdgeId, 'int32')),
  };
  cache.set(g, idx);
  return idx;
}

/**
 * Frees the index built for g's edge features, if any. Whoever disposes a graph that may have
 * carried edge features calls it too: the graph (ops/graph-tensors.ts) knows nothing of it.
 */
export function releaseEdgeAttrIndex(g: GraphTensors): void {
  const idx = cache.get(g);
  if (!idx) return;
  for (const t of Object.values(idx)) t.dispose();
  cache.delete(g);
}

export function edgeAttrInCsrOrder(edgeAttr: tf.Tensor2D, g: GraphTensors): tf.Tensor2D {
  const idx = indexFor(g);
  return tf.tidy(() => {
    let byId = tf.gather(edgeAttr, idx.keptInput) as tf.Tensor2D;
    if (g.layout.selfLoopsAdded) {
      const loops = tf.mul(tf.unsortedSegmentSum(byId, idx.keptDst, g.layout.numNodes), idx.invDegree);
      byId = tf.concat([byId, loops], 0) as tf.Tensor2D;
    }
    return tf.gather(byId, idx.csrToEdgeId) as tf.Tensor2D;
  });
}
