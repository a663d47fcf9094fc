/**
 * Feature rows read from a store's files for the nodes a batch (or an inference chunk) needs:
 * the requested nodes sorted, runs of consecutive nodes merged into one positional read, float16
 * decoded, and each row normalised on the way when the run asks for it (rowNormalize is per row,
 * so the rows equal those of the whole matrix normalised in memory). Only the sparse row pointers
 * (8 bytes a node) stay in memory.
 */
import type { DenseFeatures, SparseFeatures } from '../data/dataset.js';
import { rowNormalize } from '../data/normalize.js';
import type { FeatureSource } from '../train/minibatch.js';
import type { StoreReader } from './read.js';

export interface StoreFeatureOptions {
  /** Divide each row by its sum (--normalize-features). */
  normalize: boolean;
}

/** Runs of consecutive nodes in ascending order: [first node, count, positions in the request]. */
function sortedRuns(nodes: Int32Array): Array<{ first: number; count: number; at: number[] }> {
  const order = Array.from(nodes.keys()).sort((a, b) => nodes[a]! - nodes[b]!);
  const runs: Array<{ first: number; count: number; at: number[] }> = [];
  for (const k of order) {
    const i = nodes[k]!;
    const r = runs[runs.length - 1];
    if (r && i === r.first + r.count - 1) r.at.push(k); // a repeated node: the same row again
    else if (r && i === r.first + r.count) {
      r.count++;
      r.at.push(k);
    } else runs.push({ first: i, count: 1, at: [k] });
  }
  return runs;
}

export function storeFeatures(reader: StoreReader, o: StoreFeatureOptions): FeatureSource {
  const m = reader.manifest;
  const F = m.numFeatures;
  const norm = <T extends SparseFeatures | DenseFeatures>(f: T): T => (o.normalize ? (rowNormalize(f as SparseFeatures) as unknown as T) : f);
  if (m.featureKind === 'dense') {
    return {
      numFeatures: F,
      rows(nodes) {
        const values = new Float32Array(nodes.length * F);
        for (const run of sortedRuns(nodes)) {
          const block = reader.readFloats('features', run.first * F, run.count * F);
          // run.at lists the request positions in ascending node order; repeats share a row.
          let row = -1, prevNode = -1;
          for (const k of run.at) {
            if (nodes[k] !== prevNode) {
              row++;
              prevNode = nodes[k]!;
            }
            values.set(block.subarray(row * F, (row + 1) * F), k * F);
          }
        }
        return norm<DenseFeatures>({ kind: 'dense', numNodes: nodes.length, numFeatures: F, values });
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
      for (const run of sortedRuns(nodes)) {
        const lo = indptr[run.first]!, n = indptr[run.first + run.count]! - lo;
        const cols = reader.readRaw('feat_indices', lo, n) as Int32Array;
        const vals = reader.readFloats('feat_values', lo, n);
        for (const k of run.at) {
          const a = indptr[nodes[k]!]! - lo, b = indptr[nodes[k]! + 1]! - lo;
          colIdx.set(cols.subarray(a, b), rowPtr[k]!);
          values.set(vals.subarray(a, b), rowPtr[k]!);
        }
      }
      return norm<SparseFeatures>({ kind: 'sparse', numNodes: nodes.length, numFeatures: F, rowPtr, colIdx, values });
    },
  };
}
