/**
 * Neighbour sampling into bipartite blocks, as PyG's NeighborLoader and DGL's NeighborSampler.
 *
 * For a batch of target nodes and fanouts [f1, f2, ...] (hop 1 first, as PyG's num_neighbors):
 * hop 1 samples up to f1 in-edges of each target uniformly without replacement (-1: all), hop 2
 * up to f2 of each node reached so far, and so on. Each hop is one block, the graph one layer runs
 * on: its destinations are the nodes whose output the next layer needs, its sources are those
 * destinations first (same order) and then the newly reached nodes, in first-seen order. The last
 * layer runs on hop 1's block, the first layer on the last hop's.
 *
 * Self loops follow the full graph's rule (src/graph/layout.ts, PyG's GATv2Conv) inside each
 * block: with addSelfLoops, existing self-loop edges are not candidates and every destination gets
 * one loop, after its sampled edges (where the full graph's CSR order has it). With a fanout of
 * -1 every block is then exactly the full graph's layout restricted to its destinations, which
 * is what makes mini-batch gradients equal full-batch ones.
 *
 * A block's layout has numSrc rows, only the first numDst of which have edges; the stage kernels
 * then run unchanged (sources index xl, destinations xr) and the layer's output is cut to its
 * first numDst rows, the next block's sources.
 *
 * Randomness: one mulberry32 stream per (seed, hop), drawn in destination order, so a seed fixes
 * every batch on every backend (sampling runs on the host).
 */
import { mulberry32 } from '../util/prng.js';
import type { GraphLayout } from '../graph/layout.js';
import { deriveSeed } from '../util/prng.js';
import type { InAdjacency } from './adjacency.js';

export interface Block {
  numDst: number;
  numSrc: number;
  /** Global node of each source row; the first numDst are the destinations. */
  srcNodes: Int32Array;
  /** numNodes = numSrc; rows numDst.. are empty. */
  layout: GraphLayout;
}

export interface SampledBatch {
  /** The target nodes (the last block's destinations). */
  batch: Int32Array;
  /** One block per layer, the first layer's first. */
  blocks: Block[];
}

export interface SamplerOptions {
  /** Per hop, hop 1 (next to the targets) first; -1 takes every in-edge. */
  fanouts: number[];
  addSelfLoops: boolean;
}

/** Checks --fanout values: positive integers or -1. */
export function checkFanouts(fanouts: number[], layers: number): string | null {
  if (fanouts.length !== layers) return `--fanout needs one value per layer (${layers}), got ${fanouts.length}`;
  for (const f of fanouts) if (!(f === -1 || (Number.isInteger(f) && f >= 1))) return `--fanout values must be positive integers or -1 (all), got ${f}`;
  return null;
}

/**
 * Chooses k of 0..n-1 uniformly without replacement (Floyd's algorithm), ascending, into out.
 * k <= n.
 */
export function chooseSorted(n: number, k: number, rand: () => number, out: Int32Array): void {
  if (k === n) {
    for (let t = 0; t < n; t++) out[t] = t;
    return;
  }
  const chosen = new Set<number>();
  for (let j = n - k; j < n; j++) {
    const t = Math.floor(rand() * (j + 1));
    chosen.add(chosen.has(t) ? j : t);
  }
  let w = 0;
  for (const t of chosen) out[w++] = t;
  out.subarray(0, k).sort();
}

/** Samples blocks; keeps a node -> local index scratch of N entries between calls. */
export class NeighborSampler {
  private readonly local: Int32Array;

  constructor(private readonly adj: InAdjacency, private readonly opts: SamplerOptions) {
    this.local = new Int32Array(adj.numNodes).fill(-1);
  }

  sample(batch: Int32Array, seed: number): SampledBatch {
    const blocks: Block[] = [];
    let dst = batch;
    this.opts.fanouts.forEach((fanout, hop) => {
      const block = this.sampleHop(dst, fanout, mulberry32(deriveSeed(seed, hop)));
      blocks.push(block);
      dst = block.srcNodes;
    });
    return { batch, blocks: blocks.reverse() };
  }

  private sampleHop(dst: Int32Array, fanout: number, rand: () => number): Block {
    const loops = this.opts.addSelfLoops;
    const { ptr, src } = this.adj.inEdges(dst);
    const numDst = dst.length;
    const local = this.local;
    const srcNodes: number[] = Array.from(dst);
    for (let d = 0; d < numDst; d++) {
      if (local[dst[d]!] !== -1) throw new Error(`sampler: node ${dst[d]} appears twice among a block's destinations`);
      local[dst[d]!] = d;
    }
    // Candidates of destination d: its in-edges minus self loops (when loops are added).
    const rowPtr = new Int32Array(numDst + 1);
    let maxDeg = 0;
    for (let d = 0; d < numDst; d++) maxDeg = Math.max(maxDeg, ptr[d + 1]! - ptr[d]!);
    const cand = new Int32Array(maxDeg);
    const pick = new Int32Array(cand.length);
    const edgeSrc: number[] = [];
    for (let d = 0; d < numDst; d++) {
      const i = dst[d]!;
      let n = 0;
      for (let p = ptr[d]!; p < ptr[d + 1]!; p++) if (!(loops && src[p] === i)) cand[n++] = src[p]!;
      const k = fanout < 0 || fanout >= n ? n : fanout;
      chooseSorted(n, k, rand, pick);
      for (let t = 0; t < k; t++) {
        const j = cand[pick[t]!]!;
        let lj = local[j]!;
        if (lj === -1) {
          lj = local[j] = srcNodes.length;
          srcNodes.push(j);
        }
        edgeSrc.push(lj);
      }
      if (loops) edgeSrc.push(d);
      rowPtr[d + 1] = edgeSrc.length;
    }
    for (const j of srcNodes) local[j] = -1;
    return blockOf(numDst, Int32Array.from(srcNodes), rowPtr, Int32Array.from(edgeSrc), loops);
  }
}

/** The GraphLayout of a block from its destinations' CSR (rowPtr over numDst rows, local sources). */
export function blockOf(numDst: number, srcNodes: Int32Array, dstRowPtr: Int32Array, csrSrc: Int32Array, selfLoops: boolean): Block {
  const numSrc = srcNodes.length;
  const E = csrSrc.length;
  const rowPtr = new Int32Array(numSrc + 1);
  rowPtr.set(dstRowPtr);
  rowPtr.fill(E, numDst + 1);
  const csrDst = new Int32Array(E);
  for (let d = 0; d < numDst; d++) csrDst.fill(d, dstRowPtr[d]!, dstRowPtr[d + 1]!);
  // Positions grouped by source (stable), for the backward scatters.
  const srcPtr = new Int32Array(numSrc + 1);
  for (let p = 0; p < E; p++) srcPtr[csrSrc[p]! + 1]++;
  for (let j = 0; j < numSrc; j++) srcPtr[j + 1] += srcPtr[j]!;
  const next = srcPtr.slice(0, numSrc);
  const srcOrder = new Int32Array(E);
  for (let p = 0; p < E; p++) srcOrder[next[csrSrc[p]!]!++] = p;
  // A block's edge ids are its CSR positions; inputEdgeOf marks the added loops.
  const inputEdgeOf = new Int32Array(E);
  let kept = 0;
  for (let p = 0; p < E; p++) {
    const loop = selfLoops && csrSrc[p] === csrDst[p] && (p + 1 === E || csrDst[p + 1] !== csrDst[p]);
    inputEdgeOf[p] = loop ? -1 : kept++;
  }
  const layout: GraphLayout = {
    numNodes: numSrc, numEdges: E, rowPtr, csrSrc, csrDst, csrToEdgeId: Int32Array.from(csrSrc.keys()),
    srcPtr, srcOrder, inputEdgeOf, keptInputEdges: kept, selfLoopsAdded: selfLoops,
  };
  return { numDst, numSrc, srcNodes, layout };
}
