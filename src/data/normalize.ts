/**
 * Feature transforms. Both return new objects and leave their input untouched (except toDense on
 * features that are already dense, which returns them as they are).
 */
import type { DenseFeatures, SparseFeatures } from './dataset.js';

/**
 * Divides each row by its sum (the GAT recipe's "row-normalised features"). Rows summing to 0 are
 * left as they are rather than turned into NaN. Sums are taken in float64.
 */
export function rowNormalize(f: SparseFeatures): SparseFeatures;
export function rowNormalize(f: DenseFeatures, into?: Float32Array): DenseFeatures;
export function rowNormalize(f: SparseFeatures | DenseFeatures): SparseFeatures | DenseFeatures;
/** `into` (dense only) receives the values; it may be f.values itself (each row's sum is taken first). */
export function rowNormalize(f: SparseFeatures | DenseFeatures, into?: Float32Array): SparseFeatures | DenseFeatures {
  const values = into ?? new Float32Array(f.values.length);
  const n = f.numNodes;
  for (let i = 0; i < n; i++) {
    const lo = f.kind === 'sparse' ? f.rowPtr[i] : i * f.numFeatures;
    const hi = f.kind === 'sparse' ? f.rowPtr[i + 1] : lo + f.numFeatures;
    let sum = 0;
    for (let p = lo; p < hi; p++) sum += f.values[p];
    const scale = sum === 0 ? 1 : 1 / sum;
    for (let p = lo; p < hi; p++) values[p] = f.values[p] * scale;
  }
  if (f.kind === 'sparse') {
    return { ...f, rowPtr: f.rowPtr.slice(), colIdx: f.colIdx.slice(), values };
  }
  return { ...f, values };
}

/** Row-major N x F copy of sparse features; dense features are returned as they are. */
export function toDense(f: SparseFeatures | DenseFeatures): DenseFeatures {
  if (f.kind === 'dense') return f;
  const out = new Float32Array(f.numNodes * f.numFeatures);
  for (let i = 0; i < f.numNodes; i++) {
    const base = i * f.numFeatures;
    for (let p = f.rowPtr[i]; p < f.rowPtr[i + 1]; p++) out[base + f.colIdx[p]] = f.values[p];
  }
  return { kind: 'dense', numNodes: f.numNodes, numFeatures: f.numFeatures, values: out };
}
