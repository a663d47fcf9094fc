/**
 * Kernel names and their contracts, shared by every backend (cpu, wasm, webgpu, tensorflow), in the
 * manner of tfjs-core's kernel_names.ts. Every per-edge tensor is in CSR order (edges sorted by
 * destination, see src/graph/layout.ts); node tensors are [N, H*C] with head h's channels at
 * columns h*C..h*C+C-1.
 *
 * Graph inputs (int32): rowPtr [N+1], csrSrc [E], csrDst [E], srcPtr [N+1], srcOrder [E].
 */

/** e[p,h] = sum_c att[h,c] * LeakyReLU(xr[i,h,c] + xl[j,h,c] (+ edgeProj[p,h,c])). gradients.md eq. 1.
 * Inputs: xl, xr, att [H*C], rowPtr, csrSrc, csrDst, [edgeProj [E,H*C]]. Output: e [E,H]. */
export const GAT_SCORE = 'GatV2Score';
/** Backward of the score (gradients.md "Score stage"), recomputing z from xl, xr.
 * Inputs: as GAT_SCORE plus dE [E,H], srcPtr, srcOrder (for the scatter into source rows). Outputs: dxl, dxr [N,H*C], dAtt [H*C], [dEdgeProj [E,H*C]]. */
export const GAT_SCORE_GRAD = 'GatV2ScoreGrad';
/** alpha = softmax of e over each destination's incoming edges, with the row max subtracted. eq. 2.
 * Inputs: e [E,H], rowPtr. Output: alpha [E,H]. */
export const SEGMENT_SOFTMAX = 'GatV2SegmentSoftmax';
/** dE = alpha * (dAlpha - sum_row(alpha * dAlpha)). gradients.md "Softmax stage".
 * Inputs: alpha, dAlpha [E,H], rowPtr. Output: dE [E,H]. */
export const SEGMENT_SOFTMAX_GRAD = 'GatV2SegmentSoftmaxGrad';
/** out[i,h,:] = sum_{p in row i} alpha[p,h] * xl[csrSrc[p],h,:]. eq. 3.
 * Inputs: alpha [E,H], xl [N,H*C], rowPtr, csrSrc. Output: out [N,H*C]. */
export const GAT_AGGREGATE = 'GatV2Aggregate';
/** Backward of aggregation (gradients.md "Aggregation stage").
 * Inputs: alpha, xl, dOut [N,H*C], rowPtr, csrSrc, srcPtr, srcOrder, csrDst.
 * Outputs: dAlpha [E,H] (A_k = <G_i, xl[j]>), dxl [N,H*C] (sum of alpha_k G_i over j's out-edges). */
export const GAT_AGGREGATE_GRAD = 'GatV2AggregateGrad';
/** m[i,h] = max over row i of e[p,h] (0 for an empty row). Used by the autograd twin's softmax.
 * Inputs: e [E,H], rowPtr. Output: m [N,H]. */
export const SEGMENT_MAX = 'GatV2SegmentMax';
/** y = X W for a sparse CSR X (values [nnz], colIdx [nnz], rowPtr [N+1]) and dense W [F, K].
 * Attrs: numFeatures. Output: [N, K]. */
export const SPARSE_MATMUL = 'GatV2SparseMatMul';
/** dW = X^T dY for the same sparse X. Inputs: values, colIdx, rowPtr, dY [N,K]. Attrs: numFeatures.
 * Output: [F, K]. */
export const SPARSE_MATMUL_GRAD = 'GatV2SparseMatMulGrad';

export interface GatAttrs {
  heads: number;
  channels: number;
  negativeSlope: number;
  [key: string]: number;
}

/** Names of this project's own kernels; fast UnsortedSegmentSum and GatherV2 replace TF.js's on cpu
 * and wasm as well. */
export const PROJECT_KERNELS = [
  GAT_SCORE, GAT_SCORE_GRAD, SEGMENT_SOFTMAX, SEGMENT_SOFTMAX_GRAD, GAT_AGGREGATE, GAT_AGGREGATE_GRAD,
  SEGMENT_MAX, SPARSE_MATMUL, SPARSE_MATMUL_GRAD,
] as const;
