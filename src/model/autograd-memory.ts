/**
 * How much memory the autograd twin needs, checked before it runs on wasm. tf.grads keeps every
 * tensor of the forward pass (per layer several [E, H*C] and [E, H] tensors: gathered endpoints,
 * their sum, the LeakyReLU, the weighted messages, scores, softmax steps) until the whole backward
 * is done; wasm's heap is a 32-bit WebAssembly memory of at most 4 GiB, and past it the backend
 * dies with "memory access out of bounds" in the middle of a step. The analytic stages keep far
 * less (their own [E, H] intermediates), so they, or the cpu backend, are the way out.
 */
import * as tf from '@tensorflow/tfjs-core';
import { InputError } from '../util/errors.js';
import type { NetworkConfig } from './network.js';

/** WebAssembly memory of TF.js's wasm backend: 65536 pages of 64 KiB (its module's maximum). */
export const WASM_HEAP_BYTES = 2 ** 32;

/**
 * Share of the heap the autograd peak may take: the heap also holds the inputs, the weights, the
 * optimizer's moments and free fragments between buffers. A 3-layer 8x32 model at 88k edges
 * (estimate 2.9 GB) runs, one at 117k edges (estimate 3.9 GB) dies.
 */
const USABLE_SHARE = 0.85;

/**
 * Per edge, bytes per channel of every layer's H*C and per head of its H: fitted to the peak of
 * distinct tensor bytes (peakDataBytes) that `gatv2 bench --backend wasm --grad autograd --json
 * --features 64 --avg-degree 10 --steps 1 --warmup 1` measures on its synthetic graphs: 5574 bytes
 * per edge for 2 layers 8x8 (16 classes), 33363 for 3 layers 8x32, 4630 for 2 layers 4x16 (4
 * classes); linear in E (2000 and 8000 nodes within 0.3%). Node-sized tensors are folded in at
 * that graph's 11 edges per node.
 */
const BYTES_PER_EDGE_CHANNEL = 60.6;
const BYTES_PER_EDGE_HEAD = 80.8;

/** Estimated peak bytes of one autograd step (forward and backward) of `net` on a graph. */
export function autogradPeakBytes(net: NetworkConfig, numEdges: number): number {
  let perEdge = 0;
  for (const l of net.layers) perEdge += BYTES_PER_EDGE_CHANNEL * l.heads * l.outChannels + BYTES_PER_EDGE_HEAD * l.heads;
  return perEdge * numEdges;
}

/** The heap limit: 4 GiB, or GATV2_WASM_HEAP_BYTES (tests lower it to check the refusal on a small graph). */
export function wasmHeapLimit(): number {
  const v = process.env.GATV2_WASM_HEAP_BYTES;
  return v !== undefined && v !== '' && Number(v) > 0 ? Number(v) : WASM_HEAP_BYTES;
}

const gb = (bytes: number) => `${(bytes / 1e9).toFixed(bytes < 1e8 ? 3 : 1)} GB`;

/**
 * Refuses (InputError) to run the autograd twin on wasm when its estimated peak does not fit the
 * heap. `what` names what asked for autograd (e.g. "--grad autograd"). Other backends: no limit.
 */
export function checkAutogradFits(net: NetworkConfig, numEdges: number, what: string, backend = tf.getBackend()): void {
  if (backend !== 'wasm') return;
  const need = autogradPeakBytes(net, numEdges);
  const limit = wasmHeapLimit();
  if (need <= USABLE_SHARE * limit) return;
  throw new InputError(
    `${what}: autograd would hold about ${gb(need)} at ${numEdges} edges (estimated), more than the wasm heap allows ` +
      `(${gb(limit)}, about ${Math.round(USABLE_SHARE * 100)}% of it usable); use --backend cpu, or the analytic gradients (--grad analytic)`,
  );
}

/**
 * The analytic full-batch step, fitted to peakDataBytes of `gatv2 bench --backend wasm --grad
 * analytic --nodes 20000 --features 100 --classes 47 --steps 1 --warmup 1 --kernels 0 --json`
 * at --avg-degree 10 and 30 (98.7 and 154.7 MB at 220k and 620k edges with self loops): 140
 * bytes per edge, spread over the 9 heads of the default model's layers (8 + 1), and 2995 bytes
 * per node besides its 400 bytes of features, over its 111 output channels (8 x 8 + 47). Other
 * models scale by their heads and channels (the edge tensors are [E, H], the node tensors
 * [N, H*C]).
 */
const ANALYTIC_BYTES_PER_EDGE_HEAD = 140 / 9;
const ANALYTIC_BYTES_PER_NODE_CHANNEL = 2995 / 111;
/**
 * wasm's heap grows to about twice the peak of live tensor bytes (its allocator does not reuse
 * every freed block: 564 MB of heap for a 291 MB peak, measured on ogbn-products-sized batches).
 */
const HEAP_PER_LIVE_BYTE = 2;

/** Estimated peak live bytes of one analytic full-batch step (inputs included). */
export function analyticPeakBytes(net: NetworkConfig, g: { nodes: number; edges: number; featureBytes: number }): number {
  let heads = 0, channels = 0;
  for (const l of net.layers) {
    heads += l.heads;
    channels += l.heads * l.outChannels;
  }
  return g.featureBytes + ANALYTIC_BYTES_PER_EDGE_HEAD * heads * g.edges + ANALYTIC_BYTES_PER_NODE_CHANNEL * channels * g.nodes;
}

/**
 * Refuses (InputError), before training starts, a full-batch run on wasm whose estimated step
 * does not fit the heap, and names the way out: mini-batches from a store. `edges` counts self
 * loops; `featureBytes` is the features as uploaded.
 */
export function checkFullBatchFits(
  net: NetworkConfig, g: { name: string; nodes: number; edges: number; featureBytes: number }, backend = tf.getBackend(),
): void {
  if (backend !== 'wasm') return;
  const need = HEAP_PER_LIVE_BYTE * analyticPeakBytes(net, g);
  const limit = wasmHeapLimit();
  if (need <= USABLE_SHARE * limit) return;
  throw new InputError(
    `${g.name}: a full-batch step at ${g.nodes} nodes and ${g.edges} edges needs about ${gb(need)} of wasm heap (estimated), ` +
      `more than it allows (${gb(limit)}, about ${Math.round(USABLE_SHARE * 100)}% of it usable); train in mini-batches: ` +
      `gatv2 convert DATASET --out STORE, then gatv2 train --dataset STORE --batch-size 1024 --fanout 15,10 (or --backend cpu, without a heap limit)`,
  );
}
