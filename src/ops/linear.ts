/**
 * The node projections x W (gradients.md "Projections"), for dense or sparse x.
 *
 * Dense: the gradients are written as the current backend's matmuls run them fast, which the
 * backend declared when it registered its kernels (kernels/matmul-traits.ts): transposed operands
 * materialised first where its matmul leaves its fast path with transposeA/B set (wasm's XNNPACK,
 * docs/platform-notes.md), else read transposed by the matmul itself, which saves a full copy (and
 * its memory) of an [N, H*C] or [N, F] matrix per product; the weight gradient by the backend's
 * GatV2WeightGrad where it registered one (names.ts WEIGHT_GRAD). Sparse: x is the CSR feature
 * matrix (Cora's is 1.3% dense), multiplied without densifying; it is an input, so only W gets a
 * gradient.
 */
import * as tf from '@tensorflow/tfjs-core';
import { matMulTraits } from '../../kernels/matmul-traits.js';
import { SPARSE_MATMUL, SPARSE_MATMUL_GRAD, WEIGHT_GRAD } from '../../kernels/names.js';
import { hasGatKernel, runGatKernel } from '../../kernels/run-kernel.js';
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
  return runGatKernel(
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
 * and residual). Where the backend has the weight-gradient kernel (dense x) it reads x through
 * the mask itself; elsewhere dropout(x) is made once for all of them and freed after.
 */
export function projectWeightGrads(x: NodeInput, drop: InputDropout | null, terms: Array<[dy: tf.Tensor2D, w: tf.Tensor2D]>): tf.Tensor2D[] {
  if (!isSparse(x) && hasGatKernel(WEIGHT_GRAD)) return terms.map(([dy]) => weightGradKernel(x, dy, drop));
  const xd = drop ? dropNodeInput(x, drop.p, drop.seed) : x;
  if (!isSparse(xd) && matMulTraits().explicitTransposes && xd.shape[0] > 0) {
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
 * dropout(x)^T dy (x itself without `drop`) by the backend's GatV2WeightGrad, sliced over the rows
 * as the backend chose at its start. webgpu has one because TF.js's matmul with a transposed
 * operand runs there as a split-K program that adds its partial products with float atomics, in
 * whatever order the GPU runs them: two identical runs drifted apart from the second epoch.
 */
function weightGradKernel(x: tf.Tensor2D, dy: tf.Tensor2D, drop: InputDropout | null): tf.Tensor2D {
  return runGatKernel(WEIGHT_GRAD, { x, dy }, { dropP: drop?.p ?? 0, dropSeed: drop?.seed ?? 0 }) as tf.Tensor2D;
}

/** dL/dW = x^T dy of y = x W. */
export function projectWeightGrad(x: NodeInput, dy: tf.Tensor2D, w: tf.Tensor2D): tf.Tensor2D {
  if (isSparse(x)) {
    return runGatKernel(
      SPARSE_MATMUL_GRAD, { values: x.values, colIdx: x.colIdx, rowPtr: x.rowPtr, dy }, { numFeatures: x.numCols },
    ) as tf.Tensor2D;
  }
  // wasm's XNNPACK returns stale memory for an inner dimension of 0 (no rows, e.g. no edges).
  if (x.shape[0] === 0) return tf.zerosLike(w);
  if (hasGatKernel(WEIGHT_GRAD)) return weightGradKernel(x, dy, null);
  return matMulTraits().explicitTransposes ? tf.matMul(tf.transpose(x), dy) : tf.matMul(x, dy, true, false);
}

/** dL/dx = dy W^T of y = x W (dense x only: sparse x is always an input). */
export function projectInputGrad(dy: tf.Tensor2D, w: tf.Tensor2D): tf.Tensor2D {
  return matMulTraits().explicitTransposes ? tf.matMul(dy, tf.transpose(w)) : tf.matMul(dy, w, false, true);
}

/**
 * dL/dx = sum_k dy_k W_k^T over products x W_k of one x (a layer's lin_l, lin_r and residual).
 * Where a fused matmul's bias may be a whole matrix (the backend's matMulTraits: webgpu; wasm's
 * must be a vector) each product after the first adds the sum so far in its epilogue, so k
 * products are k dispatches rather than 2k - 1 with an elementwise add between each, and no pass
 * re-reads the sum.
 */
export function projectInputGradSum(terms: Array<[dy: tf.Tensor2D, w: tf.Tensor2D]>): tf.Tensor2D {
  if (terms.length === 0) throw new Error('projectInputGradSum: no terms');
  const fuse = matMulTraits().matrixBias;
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
