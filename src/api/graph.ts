/**
 * The library's graph: an edge list (PyG's edge_index) made into this project's edge layout
 * (src/graph/layout.ts) once, then shared by every layer call on it. The layout depends on whether
 * self loops are added, so it is built per setting when a layer first asks for it, and uploaded
 * to the backend that is current then.
 */
import * as tf from '@tensorflow/tfjs-core';
import { InputError } from '../util/errors.js';
import { buildLayout, type GraphLayout } from '../graph/layout.js';
import { graphTensors, type GraphTensors } from '../ops/graph-tensors.js';

/** An edge_index: a [2, E] int32 tensor, or the two rows (sources, targets) as arrays. */
export type EdgeIndex = tf.Tensor2D | [ArrayLike<number>, ArrayLike<number>];

interface Built {
  tensors: GraphTensors;
  /** CSR position of each PyG edge id, to report attention in PyG's order. */
  positionOfEdge: tf.Tensor1D;
  /** The attention edges in PyG's order: sources, then targets ([2, E] row-major). */
  edgeIndex: Int32Array;
}

export class Graph {
  readonly numNodes: number;
  /** The edges as given (sources, targets). */
  readonly source: Int32Array;
  readonly target: Int32Array;
  readonly #built = new Map<boolean, Built>();

  private constructor(numNodes: number, source: Int32Array, target: Int32Array) {
    this.numNodes = numNodes;
    this.source = source;
    this.target = target;
  }

  /**
   * From PyG's edge_index: row 0 the sources, row 1 the targets (messages flow source -> target).
   * A tensor is read once (dataSync), so call this outside training loops.
   */
  static fromEdgeIndex(edgeIndex: EdgeIndex, numNodes: number): Graph {
    let rows: [ArrayLike<number>, ArrayLike<number>];
    if (Array.isArray(edgeIndex)) {
      if (edgeIndex.length !== 2) throw new InputError(`Graph.fromEdgeIndex: edgeIndex must have 2 rows, got ${edgeIndex.length}`);
      rows = edgeIndex;
    } else {
      const t = edgeIndex as tf.Tensor;
      if (t.rank !== 2 || t.shape[0] !== 2) {
        throw new InputError(`Graph.fromEdgeIndex: edgeIndex must have shape [2, E], got [${t.shape}]`);
      }
      if (t.dtype !== 'int32') throw new InputError(`Graph.fromEdgeIndex: edgeIndex must be int32, got ${t.dtype}`);
      const data = t.dataSync() as Int32Array;
      const e = t.shape[1];
      rows = [data.subarray(0, e), data.subarray(e)];
    }
    checkEdges(rows[0], rows[1], numNodes);
    return new Graph(numNodes, Int32Array.from(rows[0]), Int32Array.from(rows[1]));
  }

  get numEdges(): number {
    return this.source.length;
  }

  /** The layout with or without PyG's self-loop rule (host arrays). */
  layout(addSelfLoops: boolean): GraphLayout {
    return this.built(addSelfLoops).tensors.layout;
  }

  /** The layout's tensors on the backend, made on first use and kept until dispose(). */
  tensors(addSelfLoops: boolean): GraphTensors {
    return this.built(addSelfLoops).tensors;
  }

  /** CSR position of each attention edge in PyG's order (input edges kept, then added loops). */
  positionOfEdge(addSelfLoops: boolean): tf.Tensor1D {
    return this.built(addSelfLoops).positionOfEdge;
  }

  /** The attention edges in PyG's order as a [2, E] row-major array (what PyG returns with alpha). */
  attentionEdgeIndex(addSelfLoops: boolean): Int32Array {
    return this.built(addSelfLoops).edgeIndex;
  }

  private built(addSelfLoops: boolean): Built {
    let b = this.#built.get(addSelfLoops);
    if (!b) {
      const layout = buildLayout(this.numNodes, this.source, this.target, { addSelfLoops });
      const pos = new Int32Array(layout.numEdges);
      const edgeIndex = new Int32Array(2 * layout.numEdges);
      for (let p = 0; p < layout.numEdges; p++) {
        const id = layout.csrToEdgeId[p];
        pos[id] = p;
        edgeIndex[id] = layout.csrSrc[p];
        edgeIndex[layout.numEdges + id] = layout.csrDst[p];
      }
      b = { tensors: graphTensors(layout), positionOfEdge: tf.keep(tf.tensor1d(pos, 'int32')), edgeIndex };
      this.#built.set(addSelfLoops, b);
    }
    return b;
  }

  /** Frees the layout tensors (the graph can be used again: they are rebuilt on demand). */
  dispose(): void {
    for (const b of this.#built.values()) {
      b.tensors.dispose();
      b.positionOfEdge.dispose();
    }
    this.#built.clear();
  }
}

/** Node ids are integers in [0, numNodes), checked before Int32Array would truncate or wrap them. */
function checkEdges(source: ArrayLike<number>, target: ArrayLike<number>, numNodes: number): void {
  if (!Number.isInteger(numNodes) || numNodes < 0) {
    throw new InputError(`Graph.fromEdgeIndex: numNodes must be a non-negative integer, got ${numNodes}`);
  }
  if (source.length !== target.length) throw new InputError(`Graph.fromEdgeIndex: ${source.length} sources but ${target.length} targets`);
  for (let k = 0; k < source.length; k++) {
    const s = source[k], t = target[k];
    if (!(Number.isInteger(s) && s >= 0 && s < numNodes && Number.isInteger(t) && t >= 0 && t < numNodes)) {
      throw new InputError(
        `Graph.fromEdgeIndex: edge ${k} (${s} -> ${t}) names a node outside [0, ${numNodes}); node ids must be integers 0..${numNodes - 1}`,
      );
    }
  }
}
