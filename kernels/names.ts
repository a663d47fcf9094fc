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
 * Inputs: as GAT_SCORE plus dE [E,H], srcPtr, srcOrder (for the scatter into source rows), and
 * optionally dxlAdd [N,H*C], added to dxl (the aggregation's share of dL/dxl, so that a caller
 * needs no separate add and tensor; webgpu takes it only without edgeProj). Outputs: dxl, dxr [N,H*C], dAtt [H*C], [dEdgeProj [E,H*C]]. */
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
/** One Adam step on one parameter, torch.optim.Adam's rule (src/model/optimizers.ts), weight
 * decay folded in: g = grad + weightDecay * param (the gradient of (weightDecay / 2) ||param||^2);
 * m' = beta1 m + (1 - beta1) g; v' = beta2 v + (1 - beta2) g^2;
 * p' = p - stepSize * m' / (sqrt(v') / sqrtBc2 + epsilon), m' and v' computed from the inputs.
 * Inputs: param, m, v, grad (one shape, float32). Attrs: beta1, beta2, epsilon, weightDecay (0 when
 * absent), stepSize (lr / (1 - beta1^t)) and sqrtBc2 (sqrt(1 - beta2^t)), both computed in float64 on the host.
 * Every scalar, 1 - beta1 and 1 - beta2 included (computed in float64), is rounded to float32
 * once, as the op path's scalar tensors are. webgpu computes in float32 like the op path; cpu and
 * wasm (loops.ts adamUpdate) in float64, rounding each output once: both agree with the op path
 * to ~1e-7 relative. Outputs: [newParam, newM, newV]. Not registered on tensorflow (the optimizer
 * then runs the same maths as TF.js ops). */
export const ADAM_UPDATE = 'GatV2AdamUpdate';

/** y = x * scale where the counter-based hash of (seed, flat index) keeps the element, else 0
 * (kernels/dropout-hash.ts; the same bits on every backend). Inputs: x (float32, any shape).
 * Attrs: p (drop probability, [0, 1)), seed (uint32). Output: y, x's shape. Its gradient is the
 * same kernel on dy (registered in src/ops/dropout.ts). Not registered on tensorflow (dropout then
 * uses TF.js's seeded uniforms). */
export const DROPOUT = 'GatV2Dropout';

/** dW = x^T dy, the weight gradient of y = x W, for dense x [N, F] and dy [N, K], over slices of
 * rowsPerSlice rows whose partial products are then summed in slice order (a fixed order).
 * Attrs: rowsPerSlice; dropP, dropSeed (optional, dropP 0 when absent): x is read as
 * GatV2Dropout(x, dropP, dropSeed), the same mask, never stored. Output: [F, K]. WebGPU only (kernels/webgpu/weight-grad.ts): other
 * backends' matmuls do well on a tall inner dimension, and src/ops/linear.ts uses them there. */
export const WEIGHT_GRAD = 'GatV2WeightGrad';

export interface AdamAttrs {
  beta1: number;
  beta2: number;
  epsilon: number;
  weightDecay: number;
  stepSize: number;
  sqrtBc2: number;
  [key: string]: number;
}

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
  SEGMENT_MAX, SPARSE_MATMUL, SPARSE_MATMUL_GRAD, ADAM_UPDATE, DROPOUT,
] as const;
