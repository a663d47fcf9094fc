/**
 * The node projections x W (gradients.md "Projections"), for dense or sparse x.
 *
 * Dense: on wasm the gradient is written with explicit transposes because TF.js's stock MatMul
 * gradient sets transposeA/transposeB, which sends the wasm backend off XNNPACK to a path about 12x
 * slower (docs/platform-notes.md). Elsewhere the matmul reads its operand transposed itself, which
 * saves a full copy (and its memory) of an [N, H*C] or [N, F] matrix per product. Sparse: x is the CSR feature matrix (Cora's is 1.3% dense), multiplied
 * without densifying; it is an input, so only W gets a gradient.
 */
import * as tf from '@tensorflow/tfjs-core';
import { SPARSE_MATMUL, SPARSE_MATMUL_GRAD, WEIGHT_GRAD } from '../../kernels/names.js';
import { customOp } from './custom-op.js';
import { dropout } from './dropout.js';

/** A sparse N x F matrix in CSR form, on the current backend. */
export interface SparseMatrix {
  kind: 'sparse';
  numRows: number;
  numCols: number;
  rowPtr: tf.Tensor1D;
  colIdx: tf.Tensor1D;
  values: tf.Tensor1D;
}

export type NodeInput = tf.Tensor2D | SparseMatrix;

export function isSparse(x: NodeInput): x is SparseMatrix {
  return (x as SparseMatrix).kind === 'sparse';
}

export function numRows(x: NodeInput): number {
  return isSparse(x) ? x.numRows : x.shape[0];
}

export function numCols(x: NodeInput): number {
  return isSparse(x) ? x.numCols : x.shape[1];
}

/** x W as plain kernels, no gradient of its own (for use inside an op's forward or backward). */
export function project(x: NodeInput, w: tf.Tensor2D): tf.Tensor2D {
  if (!isSparse(x)) return tf.matMul(x, w);
  return tf.engine().runKernel(
    SPARSE_MATMUL, { values: x.values, colIdx: x.colIdx, rowPtr: x.rowPtr, w }, { numFeatures: x.numCols },
  ) as tf.Tensor2D;
}

/**
 * x W + b as plain kernels (for an op's forward). Dense x: one fused matmul whose epilogue adds the
 * bias, instead of a second pass over the [N, K] output (a dispatch on a GPU). Sparse x: SpMM, add.
 */
export function projectWithBias(x: NodeInput, w: tf.Tensor2D, b: tf.Tensor | undefined): tf.Tensor2D {
  if (!isSparse(x)) return tf.fused.matMul({ a: x, b: w, bias: b }) as tf.Tensor2D;
  const y = project(x, w);
  if (!b) return y;
  const out = tf.add(y, b) as tf.Tensor2D;
  y.dispose();
  return out;
}

/** dropout(x, p, seed) of dense or sparse x (p 0: x itself). */
export function dropNodeInput(x: NodeInput, p: number, seed: number): NodeInput {
  if (p === 0) return x;
  // Sparse: dropping a stored zero changes nothing, so dropout acts on the stored values. The
  // tidy frees the mask's temporaries at once.
  return isSparse(x) ? { ...x, values: tf.tidy(() => dropout(x.values, p, seed)) } : tf.tidy(() => dropout(x, p, seed));
}

export interface InputDropout {
  p: number;
  seed: number;
}

/**
 * dL/dW_k = dropout(x)^T dy_k for the products dropout(x) W_k of one input (a block's lin_l, lin_r
 * and residual). Where the weight-gradient kernel runs (webgpu, tall dense x) it reads x through
 * the mask itself; elsewhere dropout(x) is made once for all of them and freed after.
 */
export function projectWeightGrads(x: NodeInput, drop: InputDropout | null, terms: Array<[dy: tf.Tensor2D, w: tf.Tensor2D]>): tf.Tensor2D[] {
  const rows = isSparse(x) ? 0 : slicedRows(x.shape[0]);
  if (rows > 0) return terms.map(([dy]) => slicedWeightGrad(x as tf.Tensor2D, dy, rows, drop));
  const xd = drop ? dropNodeInput(x, drop.p, drop.seed) : x;
  if (!isSparse(xd) && explicitTransposes() && xd.shape[0] > 0) {
    // One transpose for every term, and x~ freed before the products: the peak of a large
    // mini-batch's first layer (130k x 100 inputs) falls by a copy of x~.
    const xt = tf.transpose(xd as tf.Tensor2D) as tf.Tensor2D;
    if (xd !== x) xd.dispose();
    const out = terms.map(([dy]) => tf.matMul(xt, dy) as tf.Tensor2D);
    xt.dispose();
    return out;
  }
  const out = terms.map(([dy, w]) => tf.tidy(() => projectWeightGrad(xd, dy, w)));
  if (xd !== x) tf.dispose(isSparse(xd) ? xd.values : xd);
  return out;
}

/**
 * Rows per slice where a weight gradient over n rows runs kernels/webgpu/weight-grad.ts, else 0.
 * On webgpu that is every weight gradient: TF.js's matmul with a transposed operand runs as a
 * split-K program that adds its partial products with float atomics, in whatever order the GPU
 * runs them, so two identical runs drifted apart from the second epoch. Fewer than two slices'
 * rows (or GATV2_SPLIT_ROWS=0) make one slice of all n rows.
 */
function slicedRows(n: number): number {
  if (tf.getBackend() !== 'webgpu') return 0;
  const split = splitRows();
  return split > 0 && n >= 2 * split ? split : Math.max(n, 1);
}

/** dropout(x)^T dy (x itself without `drop`) by kernels/webgpu/weight-grad.ts, in slices of `rows`. */
function slicedWeightGrad(x: tf.Tensor2D, dy: tf.Tensor2D, rows: number, drop: InputDropout | null): tf.Tensor2D {
  return tf.engine().runKernel(WEIGHT_GRAD, { x, dy }, { rowsPerSlice: rows, dropP: drop?.p ?? 0, dropSeed: drop?.seed ?? 0 }) as tf.Tensor2D;
}

/** dL/dW = x^T dy of y = x W. */
export function projectWeightGrad(x: NodeInput, dy: tf.Tensor2D, w: tf.Tensor2D): tf.Tensor2D {
  if (isSparse(x)) {
    return tf.engine().runKernel(
      SPARSE_MATMUL_GRAD, { values: x.values, colIdx: x.colIdx, rowPtr: x.rowPtr, dy }, { numFeatures: x.numCols },
    ) as tf.Tensor2D;
  }
  // wasm's XNNPACK returns stale memory for an inner dimension of 0 (no rows, e.g. no edges).
  if (x.shape[0] === 0) return tf.zerosLike(w);
  const rows = slicedRows(x.shape[0]);
  if (rows > 0) return slicedWeightGrad(x, dy, rows, null);
  return explicitTransposes() ? tf.matMul(tf.transpose(x), dy) : tf.matMul(x, dy, true, false);
}

/**
 * Rows per slice of a weight gradient split over the rows on webgpu (kernels/webgpu/weight-grad.ts:
 * TF.js's matmul walks all N rows in each of a few output tiles), for N of two slices or more.
 */
export const SPLIT_ROWS = 4096;

/**
 * SPLIT_ROWS, or GATV2_SPLIT_ROWS where set (0: one slice of all rows, to measure the split
 * against none). Read when used, so a bad value fails the webgpu run that uses it, not every command.
 */
function splitRows(): number {
  const v = process.env['GATV2_SPLIT_ROWS'];
  if (v === undefined || v === '') return SPLIT_ROWS;
  const n = Number(v);
  if (!(Number.isInteger(n) && n >= 0)) throw new Error(`GATV2_SPLIT_ROWS must be a non-negative integer, got "${v}"`);
  return n;
}

/** dL/dx = dy W^T of y = x W (dense x only: sparse x is always an input). */
export function projectInputGrad(dy: tf.Tensor2D, w: tf.Tensor2D): tf.Tensor2D {
  return explicitTransposes() ? tf.matMul(dy, tf.transpose(w)) : tf.matMul(dy, w, false, true);
}

/**
 * dL/dx = sum_k dy_k W_k^T over products x W_k of one x (a layer's lin_l, lin_r and residual).
 * On webgpu each product after the first adds the sum so far in its epilogue (a fused matmul's
 * bias may be a whole matrix there; wasm's must be a vector), so k products are k dispatches
 * rather than 2k - 1 with an elementwise add between each, and no pass re-reads the sum.
 */
export function projectInputGradSum(terms: Array<[dy: tf.Tensor2D, w: tf.Tensor2D]>): tf.Tensor2D {
  if (terms.length === 0) throw new Error('projectInputGradSum: no terms');
  const fuse = tf.getBackend() === 'webgpu';
  let sum: tf.Tensor2D | null = null;
  for (const [dy, w] of terms) {
    let next: tf.Tensor2D;
    if (sum === null) next = projectInputGrad(dy, w);
    else if (fuse) next = tf.fused.matMul({ a: dy, b: w, transposeB: true, bias: sum }) as tf.Tensor2D;
    else next = tf.tidy(() => tf.add(sum!, projectInputGrad(dy, w)) as tf.Tensor2D);
    sum?.dispose();
    sum = next;
  }
  return sum!;
}

/** Whether transposed operands must be materialised first (wasm: see the header). */
function explicitTransposes(): boolean {
  return tf.getBackend() === 'wasm';
}

const denseMatMul = customOp(([x, w], save) => {
  save([x, w]);
  return {
    value: project(x as tf.Tensor2D, w as tf.Tensor2D),
    gradFunc: (dy, [xs, ws]) => [
      projectInputGrad(dy as tf.Tensor2D, ws as tf.Tensor2D),
      projectWeightGrad(xs as tf.Tensor2D, dy as tf.Tensor2D, ws as tf.Tensor2D),
    ],
  };
});

/** x W, with W in TF layout [F, K]. */
export function matMulInput(x: NodeInput, w: tf.Tensor2D): tf.Tensor2D {
  if (!isSparse(x)) return denseMatMul(x, w) as tf.Tensor2D;
  const op = customOp(([wT]) => ({
    value: project(x, wT as tf.Tensor2D),
    gradFunc: (dy) => projectWeightGrad(x, dy as tf.Tensor2D, wT as tf.Tensor2D),
  }));
  return op(w) as tf.Tensor2D;
}
