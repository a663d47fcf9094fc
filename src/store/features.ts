/**
 * Feature rows read from a store's files for the nodes a batch (or an inference chunk) needs:
 * the requested rows sorted and merged into a few large positional reads (ranges.ts), float16
 * decoded, and each row transformed on the way as the run's feature normalisation says (row
 * normalisation is per row and standardisation uses saved column statistics, so the rows equal
 * those of the whole matrix transformed in memory). Only the sparse row pointers
 * (8 bytes a node) stay in memory.
 */
import type { DenseFeatures, SparseFeatures } from '../data/dataset.js';
import { applyNormalization, type FeatureNormalization } from '../data/feature-normalization.js';
import type { StoreReader } from './read.js';
import { spansOf } from './ranges.js';

export interface StoreFeatureOptions {
  /** The run's feature transform (--normalize-features, resolved): per row or with saved column statistics, so rows equal those of the whole matrix transformed in memory. */
  normalization: FeatureNormalization;
}

/** The first `length` floats of `into` when it holds that many (FeatureSource.rows), else a new array. */
export function rowBuffer(into: Float32Array | undefined, length: number): Float32Array {
  return into && into.length >= length ? into.subarray(0, length) : new Float32Array(length);
}

export function storeFeatures(reader: StoreReader, o: StoreFeatureOptions): FeatureSource {
  const m = reader.manifest;
  const F = m.numFeatures;
  const norm = (f: SparseFeatures | DenseFeatures): SparseFeatures | DenseFeatures => applyNormalization(f, o.normalization);
  if (m.featureKind === 'dense') {
    return {
      numFeatures: F,
      rows(nodes, into) {
        const values = rowBuffer(into, nodes.length * F);
        const start = Float64Array.from(nodes, (i) => i * F);
        const end = Float64Array.from(nodes, (i) => (i + 1) * F);
        for (const span of spansOf(start, end, m.featuresDtype === 'float16' ? 2 : 4)) {
          const block = reader.readFloats('features', span.lo, span.hi - span.lo);
          for (const k of span.members) values.set(block.subarray(start[k]! - span.lo, end[k]! - span.lo), k * F);
        }
        // `values` is this call's own (or the caller's buffer): normalised where it is.
        return applyNormalization({ kind: 'dense', numNodes: nodes.length, numFeatures: F, values }, o.normalization, { inPlace: true });
      },
    };
  }
  const indptr = reader.readOffsets('feat_indptr');
  return {
    numFeatures: F,
    rows(nodes) {
      const rowPtr = new Int32Array(nodes.length + 1);
      for (let k = 0; k < nodes.length; k++) rowPtr[k + 1] = rowPtr[k]! + indptr[nodes[k]! + 1]! - indptr[nodes[k]!]!;
      const colIdx = new Int32Array(rowPtr[nodes.length]!), values = new Float32Array(rowPtr[nodes.length]!);
      const start = Float64Array.from(nodes, (i) => indptr[i]!);
      const end = Float64Array.from(nodes, (i) => indptr[i + 1]!);
      for (const span of spansOf(start, end, 4)) {
        if (span.hi === span.lo) continue;
        const cols = reader.readRaw('feat_indices', span.lo, span.hi - span.lo) as Int32Array;
        const vals = reader.readFloats('feat_values', span.lo, span.hi - span.lo);
        for (const k of span.members) {
          colIdx.set(cols.subarray(start[k]! - span.lo, end[k]! - span.lo), rowPtr[k]!);
          values.set(vals.subarray(start[k]! - span.lo, end[k]! - span.lo), rowPtr[k]!);
        }
      }
      return norm({ kind: 'sparse', numNodes: nodes.length, numFeatures: F, rowPtr, colIdx, values });
    },
  };
}

/** Rows of node features for a list of nodes, in the list's order. */
export interface FeatureSource {
  numFeatures: number;
  /**
   * The rows of `nodes`. Dense rows go into `into` when it is long enough (the result's values are
   * a view of it, valid until the caller fills it again): a layer-wise pass reuses one buffer for
   * its thousands of chunks instead of leaving one chunk-sized array for the collector each time.
   */
  rows(nodes: Int32Array, into?: Float32Array): SparseFeatures | DenseFeatures;
}

/** Rows gathered from features held in memory (already normalised as configured). */
export function memoryFeatures(f: SparseFeatures | DenseFeatures): FeatureSource {
  return { numFeatures: f.numFeatures, rows: (nodes, into) => gatherRows(f, nodes, into) };
}

export function gatherRows(f: SparseFeatures | DenseFeatures, nodes: Int32Array, into?: Float32Array): SparseFeatures | DenseFeatures {
  const F = f.numFeatures, n = nodes.length;
  if (f.kind === 'dense') {
    const values = rowBuffer(into, n * F);
    for (let k = 0; k < n; k++) values.set(f.values.subarray(nodes[k]! * F, (nodes[k]! + 1) * F), k * F);
    return { kind: 'dense', numNodes: n, numFeatures: F, values };
  }
  const rowPtr = new Int32Array(n + 1);
  for (let k = 0; k < n; k++) rowPtr[k + 1] = rowPtr[k]! + f.rowPtr[nodes[k]! + 1]! - f.rowPtr[nodes[k]!]!;
  const colIdx = new Int32Array(rowPtr[n]!), values = new Float32Array(rowPtr[n]!);
  for (let k = 0; k < n; k++) {
    const lo = f.rowPtr[nodes[k]!]!, hi = f.rowPtr[nodes[k]! + 1]!;
    colIdx.set(f.colIdx.subarray(lo, hi), rowPtr[k]!);
    values.set(f.values.subarray(lo, hi), rowPtr[k]!);
  }
  return { kind: 'sparse', numNodes: n, numFeatures: F, rowPtr, colIdx, values };
}
