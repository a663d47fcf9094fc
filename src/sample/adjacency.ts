/**
 * In-edges of a graph as the sampler reads them: for a list of destination nodes, each one's
 * sources in CSR order (edges sorted stably by destination, as the store keeps them). Two
 * sources: one in memory (a loaded dataset), one reading a store's files per request, so only
 * the rows a batch needs are ever in memory (src/store/read.ts).
 */
import type { GraphDataset } from '../data/dataset.js';
import type { StoreReader } from '../store/read.js';
import { spansOf } from '../store/ranges.js';
import { csrByDestination } from '../store/write.js';

/** The in-edges of a request's nodes: node k's sources are src[ptr[k]..ptr[k+1]), in CSR order. */
export interface InEdges {
  ptr: Int32Array;
  src: Int32Array;
}

export interface InAdjacency {
  numNodes: number;
  inDegree(node: number): number;
  inEdges(nodes: Int32Array): InEdges;
}

/** Pointers of a request: node k's range size is the in-degree of nodes[k]. */
function requestPointers(nodes: Int32Array, degree: (i: number) => number): Int32Array {
  const ptr = new Int32Array(nodes.length + 1);
  for (let k = 0; k < nodes.length; k++) {
    const next = ptr[k]! + degree(nodes[k]!);
    if (next > 0x7fffffff) throw new Error('a batch touches more than 2^31 edges; use a smaller --batch-size or --fanout');
    ptr[k + 1] = next;
  }
  return ptr;
}

/** CSR arrays in memory. indptr may exceed int32 (Float64Array). */
export class MemoryAdjacency implements InAdjacency {
  readonly numNodes: number;
  constructor(readonly indptr: Float64Array, readonly indices: Int32Array) {
    this.numNodes = indptr.length - 1;
  }

  static fromDataset(ds: Pick<GraphDataset, 'nodeIds' | 'edgeSource' | 'edgeTarget'>): MemoryAdjacency {
    const { indptr, indices } = csrByDestination(ds.nodeIds.length, ds.edgeSource, ds.edgeTarget);
    return new MemoryAdjacency(indptr, indices);
  }

  inDegree(i: number): number {
    return this.indptr[i + 1]! - this.indptr[i]!;
  }

  inEdges(nodes: Int32Array): InEdges {
    const ptr = requestPointers(nodes, (i) => this.inDegree(i));
    const src = new Int32Array(ptr[nodes.length]!);
    for (let k = 0; k < nodes.length; k++) {
      const i = nodes[k]!;
      src.set(this.indices.subarray(this.indptr[i]!, this.indptr[i + 1]!), ptr[k]!);
    }
    return { ptr, src };
  }
}

/**
 * A store's adjacency: indptr (8 bytes a node) in memory, the sources read from indices.bin per
 * request, in ascending file order with adjacent ranges merged into one read.
 */
export class StoreAdjacency implements InAdjacency {
  readonly numNodes: number;
  readonly indptr: Float64Array;
  /** Bytes read from indices.bin so far (for the bench and the README's memory note). */
  bytesRead = 0;

  constructor(private readonly reader: StoreReader) {
    this.indptr = reader.readOffsets('indptr');
    this.numNodes = this.indptr.length - 1;
  }

  inDegree(i: number): number {
    return this.indptr[i + 1]! - this.indptr[i]!;
  }

  inEdges(nodes: Int32Array): InEdges {
    const ptr = requestPointers(nodes, (i) => this.inDegree(i));
    const src = new Int32Array(ptr[nodes.length]!);
    const start = Float64Array.from(nodes, (i) => this.indptr[i]!);
    const end = Float64Array.from(nodes, (i) => this.indptr[i + 1]!);
    for (const span of spansOf(start, end, 4)) {
      if (span.hi === span.lo) continue;
      const buf = new Int32Array(span.hi - span.lo);
      this.reader.readBytes('indices', span.lo, buf.length, new Uint8Array(buf.buffer));
      this.bytesRead += buf.byteLength;
      for (const k of span.members) src.set(buf.subarray(start[k]! - span.lo, end[k]! - span.lo), ptr[k]!);
    }
    return { ptr, src };
  }
}
