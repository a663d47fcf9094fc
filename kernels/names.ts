/**
 * Kernel names and their typed contracts (inputs by name, attrs, outputs), shared by every backend (cpu, wasm, webgpu, tensorflow), in the
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
 * optionally dxlAdd [N,H*C], added to dxl once its own sum is done (the aggregation's share of
 * dL/dxl, so that a caller needs no separate add and tensor), with or without edgeProj.
 * Outputs: dxl, dxr [N,H*C], dAtt [H*C], [dEdgeProj [E,H*C]]. */
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
 * to ~1e-7 relative. Outputs: [newParam, newM, newV]. OPTIONAL: not registered on tensorflow (the
 * optimizer then runs the same maths as TF.js ops). */
export const ADAM_UPDATE = 'GatV2AdamUpdate';

/** y = x * scale where the counter-based hash of (seed, flat index) keeps the element, else 0
 * (kernels/dropout-hash.ts; the same bits on every backend). Inputs: x (float32, any shape).
 * Attrs: p (drop probability, [0, 1)), seed (uint32). Output: y, x's shape. Its gradient is the
 * same kernel on dy (registered in src/ops/dropout.ts). OPTIONAL: not registered on tensorflow
 * (dropout then uses TF.js's seeded uniforms). */
export const DROPOUT = 'GatV2Dropout';

/** dW = x^T dy, the weight gradient of y = x W, for dense x [N, F] and dy [N, K], over slices of
 * rowsPerSlice rows whose partial products are then summed in slice order (a fixed order).
 * Attrs: rowsPerSlice (optional: absent, the backend's own slice, set once at its start);
 * dropP, dropSeed (optional, dropP 0 when absent): x is read as GatV2Dropout(x, dropP, dropSeed),
 * the same mask, never stored. Output: [F, K]. OPTIONAL: webgpu has it (kernels/webgpu/
 * weight-grad.ts, where TF.js's transposed matmul adds with float atomics); other backends' matmuls
 * do well on a tall inner dimension, and src/ops/linear.ts uses them where this is not registered. */
export const WEIGHT_GRAD = 'GatV2WeightGrad';

/*
 * The contracts. Each is generic over what a tensor is where it is used: tf.Tensor at a call site
 * (kernels/run-kernel.ts), TensorInfo in a backend's kernel function (kernels/register-kernel.ts),
 * typed arrays in the cpu and wasm loops (kernels/typed-array-specs.ts: F = Float32Array for
 * float32 inputs, I = Int32Array for int32 ones). Written as type aliases, not interfaces, so that
 * they are also plain string-keyed maps (what TF.js's runKernel and the WebGPU helpers take).
 */

/** The CSR layout (src/graph/layout.ts) a per-edge kernel reads. */
export type CsrInputs<I> = { rowPtr: I; csrSrc: I; csrDst: I };
/** The edges grouped by source, for sums into source rows without atomics. */
export type BySourceInputs<I> = { srcPtr: I; srcOrder: I };

/** Heads, channels per head and the LeakyReLU slope of the score (gradients.md eq. 1). */
export type GatAttrs = { heads: number; channels: number; negativeSlope: number };
/** The aggregation needs only the head layout. */
export type HeadAttrs = { heads: number; channels: number };
/** A kernel without attributes. */
export type NoAttrs = Record<never, never>;

export type ScoreInputs<F, I = F> = CsrInputs<I> & { xl: F; xr: F; att: F; edgeProj?: F };
export type ScoreGradInputs<F, I = F> = ScoreInputs<F, I> & BySourceInputs<I> & { dE: F; dxlAdd?: F };
/** dEdgeProj only when edgeProj was given. */
export type ScoreGradOutputs<T> = [dxl: T, dxr: T, dAtt: T, dEdgeProj?: T];
export type SoftmaxInputs<F, I = F> = { e: F; rowPtr: I };
export type SoftmaxGradInputs<F, I = F> = { alpha: F; dAlpha: F; rowPtr: I };
export type SegmentMaxInputs<F, I = F> = { e: F; rowPtr: I };
export type AggregateInputs<F, I = F> = { alpha: F; xl: F; rowPtr: I; csrSrc: I };
export type AggregateGradInputs<F, I = F> = CsrInputs<I> & BySourceInputs<I> & { alpha: F; xl: F; dOut: F };
export type AggregateGradOutputs<T> = [dAlpha: T, dxl: T];
/** A sparse N x F matrix in CSR form (values float32, colIdx and rowPtr int32). */
export type SparseInputs<F, I = F> = { values: F; colIdx: I; rowPtr: I };
export type SparseMatMulInputs<F, I = F> = SparseInputs<F, I> & { w: F };
export type SparseMatMulGradInputs<F, I = F> = SparseInputs<F, I> & { dy: F };
export type SparseAttrs = { numFeatures: number };
export type AdamInputs<F> = { param: F; m: F; v: F; grad: F };
/** See ADAM_UPDATE. weightDecay 0 when absent. */
export type AdamAttrs = {
  beta1: number; beta2: number; epsilon: number; weightDecay?: number; stepSize: number; sqrtBc2: number;
};
export type AdamOutputs<T> = [newParam: T, newM: T, newV: T];
export type DropoutInputs<F> = { x: F };
export type DropoutAttrs = { p: number; seed: number };
export type WeightGradInputs<F> = { x: F; dy: F };
export type WeightGradAttrs = { rowsPerSlice?: number; dropP?: number; dropSeed?: number };

/** One kernel's contract: its inputs (F float32, I int32 tensors), attrs and outputs (T). */
interface Contract<In, Attrs, Out> {
  inputs: In;
  attrs: Attrs;
  outputs: Out;
}

/** Every kernel of this project by name. */
export interface GatKernelContracts<F, I = F> {
  [GAT_SCORE]: Contract<ScoreInputs<F, I>, GatAttrs, F>;
  [GAT_SCORE_GRAD]: Contract<ScoreGradInputs<F, I>, GatAttrs, ScoreGradOutputs<F>>;
  [SEGMENT_SOFTMAX]: Contract<SoftmaxInputs<F, I>, NoAttrs, F>;
  [SEGMENT_SOFTMAX_GRAD]: Contract<SoftmaxGradInputs<F, I>, NoAttrs, F>;
  [GAT_AGGREGATE]: Contract<AggregateInputs<F, I>, HeadAttrs, F>;
  [GAT_AGGREGATE_GRAD]: Contract<AggregateGradInputs<F, I>, HeadAttrs, AggregateGradOutputs<F>>;
  [SEGMENT_MAX]: Contract<SegmentMaxInputs<F, I>, NoAttrs, F>;
  [SPARSE_MATMUL]: Contract<SparseMatMulInputs<F, I>, SparseAttrs, F>;
  [SPARSE_MATMUL_GRAD]: Contract<SparseMatMulGradInputs<F, I>, SparseAttrs, F>;
  [ADAM_UPDATE]: Contract<AdamInputs<F>, AdamAttrs, AdamOutputs<F>>;
  [DROPOUT]: Contract<DropoutInputs<F>, DropoutAttrs, F>;
  [WEIGHT_GRAD]: Contract<WeightGradInputs<F>, WeightGradAttrs, F>;
}

export type GatKernelName = keyof GatKernelContracts<unknown>;
export type KernelInputs<N extends GatKernelName, F, I = F> = GatKernelContracts<F, I>[N]['inputs'];
export type KernelAttrs<N extends GatKernelName> = GatKernelContracts<unknown>[N]['attrs'];
export type KernelOutputs<N extends GatKernelName, T> = GatKernelContracts<T>[N]['outputs'];

/**
 * Kernels a backend may leave out; the call site then asks whether the backend registered one
 * (kernels/run-kernel.ts hasGatKernel) and takes its op path. Every other kernel is required:
 * a backend's registration fails at start when one is missing (kernels/register-kernel.ts).
 */
export const OPTIONAL_KERNELS: ReadonlySet<GatKernelName> = new Set<GatKernelName>([ADAM_UPDATE, DROPOUT, WEIGHT_GRAD]);

/** Every kernel name of this project, in the order of this file. */
export const PROJECT_KERNELS: readonly GatKernelName[] = [
  GAT_SCORE, GAT_SCORE_GRAD, SEGMENT_SOFTMAX, SEGMENT_SOFTMAX_GRAD, GAT_AGGREGATE, GAT_AGGREGATE_GRAD,
  SEGMENT_MAX, SPARSE_MATMUL, SPARSE_MATMUL_GRAD, ADAM_UPDATE, DROPOUT, WEIGHT_GRAD,
];
