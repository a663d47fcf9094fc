import { InputError } from '../util/errors.js';

/**
 * The edge layout every kernel uses, built once on the host.
 *
 * Two orders of the same edges exist:
 * - PyG order ("edge id"): the input edges in their given order (minus existing self loops when
 *   self loops are added), then one self loop per node 0..N-1. Attention is reported in this
 *   order, as PyG's `GATv2Conv` returns it.
 * - CSR order ("edge position"): edges sorted by destination, stably (so duplicates keep their
 *   relative order). All per-edge tensors inside the model (scores, alpha) live in this order, so
 *   a destination's incoming edges are the contiguous range rowPtr[i]..rowPtr[i+1].
 * The source grouping (srcPtr, srcOrder) lists CSR positions by source node, for the backward
 * scatters into source rows without atomics.
 */
export interface GraphLayout {
  numNodes: number;
  /** Edges after self-loop handling. */
  numEdges: number;
  /** CSR row pointers by destination, length N+1. */
  rowPtr: Int32Array;
  /** Source node of each CSR position. */
  csrSrc: Int32Array;
  /** Destination node of each CSR position. */
  csrDst: Int32Array;
  /** PyG edge id of each CSR position. */
  csrToEdgeId: Int32Array;
  /** Source pointers, length N+1: CSR positions of edges from node j are srcOrder[srcPtr[j]..srcPtr[j+1]). */
  srcPtr: Int32Array;
  srcOrder: Int32Array;
  /** For each PyG edge id: the index of the input edge it came from, or -1 for an added self loop. */
  inputEdgeOf: Int32Array;
  /** Number of input edges that were kept (PyG ids 0..keptInputEdges-1 are input edges). */
  keptInputEdges: number;
  selfLoopsAdded: boolean;
}

export interface LayoutOptions {
  addSelfLoops: boolean;
}

/**
 * Builds the layout from an edge list (sources, targets), following PyG's `GATv2Conv` rule for
 * self loops: with addSelfLoops, remove every existing self loop, then add exactly one per node.
 * Duplicate edges stay separate attention edges. Throws InputError naming the first edge whose
 * endpoint lies outside [0, N).
 */
export function buildLayout(
  numNodes: number,
  source: ArrayLike<number>,
  target: ArrayLike<number>,
  opts: LayoutOptions,
): GraphLayout {
  if (!Number.isInteger(numNodes) || numNodes < 0) {
    throw new InputError(`graph: number of nodes must be a non-negative integer, got ${numNodes}`);
  }
  if (source.length !== target.length) {
    throw new InputError(`graph: ${source.length} edge sources but ${target.length} edge targets`);
  }
  const inputEdges = source.length;
  for (let k = 0; k < inputEdges; k++) {
    const s = source[k], t = target[k];
    if (!(Number.isInteger(s) && s >= 0 && s < numNodes && Number.isInteger(t) && t >= 0 && t < numNodes)) {
      throw new InputError(
        `graph: edge ${k} (${s} -> ${t}) names a node outside [0, ${numNodes}); node ids must be 0..${numNodes - 1}`,
      );
    }
  }

  // PyG order: kept input edges, then the added loops.
  let kept = 0;
  for (let k = 0; k < inputEdges; k++) if (!opts.addSelfLoops || source[k] !== target[k]) kept++;
  const numEdges = kept + (opts.addSelfLoops ? numNodes : 0);
  const src = new Int32Array(numEdges);
  const dst = new Int32Array(numEdges);
  const inputEdgeOf = new Int32Array(numEdges);
  let id = 0;
  for (let k = 0; k < inputEdges; k++) {
    if (opts.addSelfLoops && source[k] === target[k]) continue;
    src[id] = source[k];
    dst[id] = target[k];
    inputEdgeOf[id] = k;
    id++;
  }
  if (opts.addSelfLoops) {
    for (let i = 0; i < numNodes; i++, id++) {
      src[id] = i;
      dst[id] = i;
      inputEdgeOf[id] = -1;
    }
  }

  // Counting sort by destination (stable), then by source.
  const rowPtr = countingPointers(dst, numNodes);
  const csrToEdgeId = stableBucket(dst, rowPtr);
  const csrSrc = new Int32Array(numEdges);
  const csrDst = new Int32Array(numEdges);
  for (let p = 0; p < numEdges; p++) {
    csrSrc[p] = src[csrToEdgeId[p]];
    csrDst[p] = dst[csrToEdgeId[p]];
  }
  const srcPtr = countingPointers(csrSrc, numNodes);
  const srcOrder = stableBucket(csrSrc, srcPtr);

  return {
    numNodes, numEdges, rowPtr, csrSrc, csrDst, csrToEdgeId, srcPtr, srcOrder, inputEdgeOf,
    keptInputEdges: kept, selfLoopsAdded: opts.addSelfLoops,
  };
}

function countingPointers(keys: Int32Array, numNodes: number): Int32Array {
  const ptr = new Int32Array(numNodes + 1);
  for (let k = 0; k < keys.length; k++) ptr[keys[k] + 1]++;
  for (let i = 0; i < numNodes; i++) ptr[i + 1] += ptr[i];
  return ptr;
}

/** Indices 0..len-1 grouped by key, stable within a key; ptr from countingPointers. */
function stableBucket(keys: Int32Array, ptr: Int32Array): Int32Array {
  const next = ptr.slice(0, ptr.length - 1);
  const order = new Int32Array(keys.length);
  for (let k = 0; k < keys.length; k++) order[next[keys[k]]++] = k;
  return order;
}

/** In-degree of every node in the layout (after self-loop handling). */
export function inDegrees(layout: GraphLayout): Int32Array {
  const deg = new Int32Array(layout.numNodes);
  for (let i = 0; i < layout.numNodes; i++) deg[i] = layout.rowPtr[i + 1] - layout.rowPtr[i];
  return deg;
}
