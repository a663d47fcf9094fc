/**
 * Layer-wise full-neighbour inference (as PyG's and DGL's `inference` over a NeighborLoader with
 * all neighbours): the whole graph one layer at a time, each layer over chunks of destination
 * nodes. A chunk is a one-hop block with every in-edge (src/sample/sampler.ts, fanout -1), its
 * source rows read from the previous layer's output (host memory) or the features (memory or the
 * store's files), and the layer runs on it with the evaluation forward of the analytic blocks.
 *
 * Exact: a node's output depends only on its in-neighbours' previous-layer rows, which a chunk
 * holds in full, so the logits equal the full-graph forward's (up to float rounding). The backend
 * only ever holds one chunk's tensors (bounded by chunkEdgeBudget); the host holds one layer's
 * output for all nodes, N x width floats, twice (the layer read and the layer written), or, with
 * spill, only the logits (hidden layers go to a temporary file and are read back by rows), or
 * with layerwiseScores not even those: 12 bytes a node (node-scores.ts).
 */
import * as tf from '@tensorflow/tfjs-core';
import { closeSync, mkdtempSync, openSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spansOf } from '../store/ranges.js';
import type { DenseFeatures } from '../data/dataset.js';
import { layerBlock, blockSupports } from '../model/layer-block.js';
import { createNetworkInputs, layerPrefix, type NetworkConfig } from '../model/network.js';
import { outputWidth } from '../model/config.js';
import type { InAdjacency } from '../sample/adjacency.js';
import { NeighborSampler } from '../sample/sampler.js';
import { rowBuffer, gatherRows, type FeatureSource } from '../store/features.js';
import { readFully, writeFully } from '../util/positional-io.js';
import { emptyNodeScores, scoreRows, type NodeScores } from './node-scores.js';

export interface LayerwiseOptions {
  adjacency: InAdjacency;
  features: FeatureSource;
  addSelfLoops: boolean;
  /** Most destinations per chunk. */
  maxChunkNodes?: number;
  /** Most in-edges per chunk (a hub alone may exceed it: it is then a chunk of its own); default chunkEdgeBudget. */
  maxChunkEdges?: number;
  /**
   * Keep each hidden layer's output in a temporary file instead of host memory, reading back the
   * rows a chunk needs (training from a store's files: memory then does not grow with N x width).
   */
  spill?: boolean;
}

/** Rows of a row-major float32 N x width matrix kept in a file, read by sorted, merged spans. */
class SpilledLayer implements FeatureSource {
  private readonly fd: number;
  constructor(readonly path: string, readonly numFeatures: number) {
    this.fd = openSync(path, 'w+');
  }
  write(firstRow: number, values: Float32Array): void {
    writeFully(this.fd, new Uint8Array(values.buffer, values.byteOffset, values.byteLength), firstRow * this.numFeatures * 4);
  }
  rows(nodes: Int32Array, into?: Float32Array): DenseFeatures {
    const W = this.numFeatures;
    const values = rowBuffer(into, nodes.length * W);
    const start = Float64Array.from(nodes, (i) => i * W), end = Float64Array.from(nodes, (i) => (i + 1) * W);
    for (const span of spansOf(start, end, 4)) {
      const buf = new Float32Array(span.hi - span.lo);
      readFully(this.fd, new Uint8Array(buf.buffer), span.lo * 4, this.path);
      for (const k of span.members) values.set(buf.subarray(start[k]! - span.lo, end[k]! - span.lo), k * W);
    }
    return { kind: 'dense', numNodes: nodes.length, numFeatures: W, values };
  }
  close(): void {
    closeSync(this.fd);
  }
}

/** Bytes of one chunk's source-row tensors a layer may use (see chunkEdgeBudget). */
const CHUNK_BYTES = 64 << 20;

/**
 * In-edges per chunk: a chunk's sources (at most its edges) each bring an input row and xl, xr
 * and the aggregation's row, 4 * (inWidth + 3 * heads * channels) bytes; the budget keeps that
 * near CHUNK_BYTES (ogbn-products' first layer, 100 features and 8 x 8: 57k edges), so
 * evaluation never needs more memory than a training batch, between 4096 and 2^20 edges.
 */
export function chunkEdgeBudget(inWidth: number, hiddenWidth: number): number {
  const perSource = 4 * (inWidth + 3 * hiddenWidth);
  return Math.max(4096, Math.min(1 << 20, Math.floor(CHUNK_BYTES / perSource)));
}

/** Consecutive node ranges holding at most maxNodes nodes and (past the first) maxEdges in-edges. */
export function chunkRanges(adj: InAdjacency, maxNodes: number, maxEdges: number): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  let start = 0, edges = 0;
  for (let i = 0; i < adj.numNodes; i++) {
    const d = adj.inDegree(i) + 1;
    if (i > start && (i - start >= maxNodes || edges + d > maxEdges)) {
      out.push([start, i]);
      start = i;
      edges = 0;
    }
    edges += d;
  }
  if (adj.numNodes > start) out.push([start, adj.numNodes]);
  return out;
}

/** Logits [N * classes] of every node, row-major, as networkForward in evaluation mode. */
export async function layerwiseLogits(net: NetworkConfig, params: Record<string, tf.Tensor>, o: LayerwiseOptions): Promise<Float32Array> {
  const classes = outputWidth(net.layers[net.layers.length - 1]!);
  const logits = new Float32Array(o.adjacency.numNodes * classes);
  await layerwiseForward(net, params, o, (firstRow, rows) => logits.set(rows, firstRow * classes));
  return logits;
}

/**
 * Every node's NodeScores, scored chunk by chunk as the last layer produces its logits: the host
 * never holds the N x classes logits (what training from a store's files evaluates with).
 */
export async function layerwiseScores(
  net: NetworkConfig, params: Record<string, tf.Tensor>, o: LayerwiseOptions, labels: Int32Array,
  onLogits?: (firstRow: number, logits: Float32Array) => void,
): Promise<NodeScores> {
  const classes = outputWidth(net.layers[net.layers.length - 1]!);
  const scores = emptyNodeScores(o.adjacency.numNodes);
  await layerwiseForward(net, params, o, (firstRow, rows) => {
    scoreRows(scores, labels, classes, firstRow, rows);
    onLogits?.(firstRow, rows);
  });
  return scores;
}

/** The layer-wise evaluation forward; each chunk's last-layer rows go to `emit` in node order. */
async function layerwiseForward(
  net: NetworkConfig,
  params: Record<string, tf.Tensor>,
  o: LayerwiseOptions,
  emit: (firstRow: number, rows: Float32Array) => void,
): Promise<void> {
  const N = o.adjacency.numNodes;

  const sampler = new NeighborSampler(o.adjacency, { fanouts: [-1], addSelfLoops: o.addSelfLoops });
  let prev: FeatureSource = o.features;
  const spillDir = o.spill ? mkdtempSync(join(tmpdir(), 'gatv2-layerwise-')) : null;
  const spilled: SpilledLayer[] = [];
  let rowBuffer = new Float32Array(0);
  try {
    for (let l = 0; l < net.layers.length; l++) {
      const cfg = net.layers[l]!;
      if (!blockSupports(cfg)) throw new Error('layer-wise inference: layers with edge features are not supported');
      const last = l === net.layers.length - 1;
      const width = outputWidth(cfg);
      const chunks = chunkRanges(o.adjacency, o.maxChunkNodes ?? 16384, o.maxChunkEdges ?? chunkEdgeBudget(cfg.inChannels, cfg.heads * cfg.outChannels));
      const toFile = spillDir !== null && !last ? new SpilledLayer(join(spillDir, `layer-${l}.f32`), width) : null;
      if (toFile) spilled.push(toFile);
      const out = toFile || last ? null : new Float32Array(N * width);
      const prefix = layerPrefix(l);
      const lp: Record<string, tf.Tensor> = {};
      for (const [name, t] of Object.entries(params)) if (name.startsWith(prefix)) lp[name.slice(prefix.length)] = t;
      for (const [lo, hi] of chunks) {
        const dst = Int32Array.from({ length: hi - lo }, (_, k) => lo + k);
        const block = sampler.sample(dst, 0).blocks[0]!;
        // One buffer for every chunk's rows, grown when a chunk needs more: the tensors made from
        // it are disposed (and the chunk's output read back) before the next chunk refills it.
        const need = block.srcNodes.length * prev.numFeatures;
        if (rowBuffer.length < need) rowBuffer = new Float32Array(Math.ceil(need * 1.25));
        const inputs = createNetworkInputs(prev.rows(block.srcNodes, rowBuffer), block.layout);
        try {
          // The chunk's destinations are the first numDst rows, the only ones the block outputs.
          const y = tf.tidy(() => layerBlock({
            cfg, inputDropout: 0, inputSeed: 0, attentionSeed: 0, training: false,
            activation: last ? null : net.activation, inputGrad: false, numDst: block.numDst,
          }, lp, inputs.x, inputs.graph));
          const v = (await y.data()) as Float32Array;
          y.dispose();
          if (last) emit(lo, v);
          else if (toFile) toFile.write(lo, v);
          else out!.set(v, lo * width);
        } finally {
          inputs.dispose();
        }
      }
      if (last) return;
      if (toFile) prev = toFile;
      else {
        const dense: DenseFeatures = { kind: 'dense', numNodes: N, numFeatures: width, values: out! };
        prev = { numFeatures: width, rows: (nodes, into) => gatherRows(dense, nodes, into) };
      }
    }
    throw new Error('layer-wise inference: a network without layers');
  } finally {
    for (const f of spilled) f.close();
    if (spillDir) rmSync(spillDir, { recursive: true, force: true });
  }
}
