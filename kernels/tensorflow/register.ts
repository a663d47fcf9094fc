/**
 * This project's kernels on the `tensorflow` backend (@tensorflow/tfjs-node-gpu or -node), built
 * from TensorFlow ops. TensorFlow has segment max, segment sum and gather, which TF.js exposes
 * only partly, so those three run by name through the backend (executeSingleOutput, as tfjs-node's
 * own kernels do); the elementwise rest uses ordinary TF.js ops, which run on TensorFlow too.
 * Custom CUDA kernels cannot be loaded into tfjs-node, hence this formulation: it materialises
 * E x H*C edge tensors, and TensorFlow's GPU segment sums use atomics (not bit-deterministic).
 *
 * GatV2AdamUpdate (names.ts ADAM_UPDATE) is deliberately NOT registered here: as TF ops it would
 * be the same ops the optimizer runs without it (no fewer launches), so src/model/optimizers.ts
 * finds no kernel on this backend and takes its op path, which computes the same update.
 *
 * UNTESTED here: tfjs-node-gpu is not installable in this project's build environment (its
 * install downloads libtensorflow). The maths is that of kernels/loops.ts and gradients.md.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { DataType, TensorInfo } from '@tensorflow/tfjs-core';
import * as K from '../names.js';
import type { GatKernelName, KernelAttrs, KernelInputs, KernelOutputs, ScoreGradOutputs, ScoreInputs } from '../names.js';
import { declareMatMulTraits } from '../matmul-traits.js';
import { checkGatKernels, gatKernel, registerGatKernels, type AnyGatKernelImpl, type GatKernelImpl } from '../register-kernel.js';

interface OpAttr {
  name: string;
  type: number;
  value: number;
}

/** The part of tfjs-node's NodeJSKernelBackend used here. */
interface TensorflowBackend {
  binding: { TF_ATTR_TYPE: number; TF_FLOAT: number; TF_INT32: number };
  executeSingleOutput(name: string, attrs: OpAttr[], inputs: TensorInfo[]): tf.Tensor;
}

function typeAttr(b: TensorflowBackend, name: string, dtype: DataType): OpAttr {
  return { name, type: b.binding.TF_ATTR_TYPE, value: dtype === 'int32' ? b.binding.TF_INT32 : b.binding.TF_FLOAT };
}

function segmentOp(b: TensorflowBackend, op: 'UnsortedSegmentSum' | 'UnsortedSegmentMax', x: tf.Tensor, ids: tf.Tensor, n: number): tf.Tensor {
  const num = tf.scalar(n, 'int32');
  const attrs = [typeAttr(b, 'T', x.dtype), typeAttr(b, 'Tindices', 'int32'), typeAttr(b, 'Tnumsegments', 'int32')];
  const out = b.executeSingleOutput(op, attrs, [x, ids, num]);
  num.dispose();
  return out;
}

function gatherRows(b: TensorflowBackend, x: tf.Tensor, idx: tf.Tensor): tf.Tensor {
  const axis = tf.scalar(0, 'int32');
  const attrs = [typeAttr(b, 'Tparams', x.dtype), typeAttr(b, 'Tindices', 'int32'), typeAttr(b, 'Taxis', 'int32')];
  const out = b.executeSingleOutput('GatherV2', attrs, [x, idx, axis]);
  axis.dispose();
  return out;
}

/** Segment id of each of the `count` entries of a CSR pointer array: #{i >= 1 : ptr[i] <= p}. */
function idsFromPtr(b: TensorflowBackend, ptr: tf.Tensor, count: number): tf.Tensor {
  const n = ptr.shape[0]! - 1;
  const starts = tf.slice(ptr, [1], [n]);
  // Pointers equal to `count` (trailing empty rows) land in the extra segment and are cut off.
  const marks = segmentOp(b, 'UnsortedSegmentSum', tf.cast(tf.onesLike(starts), 'float32'), starts, count + 1);
  return tf.cast(tf.slice(tf.cumsum(marks), [0], [count]), 'int32');
}

interface Heads {
  H: number;
  C: number;
  slope: number;
}

function heads(a: { heads: number; channels: number; negativeSlope?: number }): Heads {
  return { H: a.heads, C: a.channels, slope: a.negativeSlope ?? 0 };
}

/** z_k = xr[i] + xl[j] (+ edgeProj[k]), [E, H*C]. */
function preActivation(b: TensorflowBackend, i: ScoreInputs<tf.Tensor>): tf.Tensor {
  let z = tf.add(gatherRows(b, i['xr']!, i['csrDst']!), gatherRows(b, i['xl']!, i['csrSrc']!));
  if (i['edgeProj']) z = tf.add(z, i['edgeProj']);
  return z;
}

/** The per-head weight [E, H] spread over each head's C channels: [E, H*C]. */
function perChannel(w: tf.Tensor, s: Heads): tf.Tensor {
  const E = w.shape[0]!;
  return tf.reshape(tf.tile(tf.reshape(w, [E, s.H, 1]), [1, 1, s.C]), [E, s.H * s.C]);
}

/**
 * Kernel N as TF.js ops: its inputs arrive as tensors (the tensorflow backend's kernel functions
 * receive them so), and the ops' intermediates are freed by a tidy.
 */
function opsKernel<N extends GatKernelName>(
  name: N, f: (b: TensorflowBackend, i: KernelInputs<N, tf.Tensor>, a: KernelAttrs<N>) => KernelOutputs<N, tf.Tensor>,
): GatKernelImpl<N, TensorflowBackend> {
  return gatKernel(name, ({ backend, inputs, attrs }) =>
    tf.tidy(() => f(backend, inputs as unknown as KernelInputs<N, tf.Tensor>, attrs) as tf.Tensor | tf.Tensor[]) as unknown as KernelOutputs<N, TensorInfo>);
}

/** Every required kernel; ADAM_UPDATE, DROPOUT and WEIGHT_GRAD (optional) are left out, see above. */
const KERNELS: Array<AnyGatKernelImpl<TensorflowBackend>> = [
  // gradients.md eq. 1
  opsKernel(K.GAT_SCORE, (b, i, a) => {
    const s = heads(a);
    const E = i.csrSrc.shape[0]!;
    const u = tf.leakyRelu(preActivation(b, i), s.slope);
    return tf.sum(tf.mul(tf.reshape(u, [E, s.H, s.C]), tf.reshape(i.att, [1, s.H, s.C])), 2);
  }),
  // gradients.md "Score stage"
  opsKernel(K.GAT_SCORE_GRAD, (b, i, a) => {
    const s = heads(a);
    const N = i.xl.shape[0]!;
    const z = preActivation(b, i);
    const slopeOf = tf.add(tf.mul(tf.cast(tf.greater(z, 0), 'float32'), 1 - s.slope), s.slope);
    const dE = perChannel(i.dE, s);
    const att = tf.reshape(i.att, [1, s.H * s.C]);
    const delta = tf.mul(tf.mul(dE, att), slopeOf);
    const dxl = segmentOp(b, 'UnsortedSegmentSum', delta, i.csrSrc, N);
    const outs: ScoreGradOutputs<tf.Tensor> = [
      i.dxlAdd ? tf.add(dxl, tf.reshape(i.dxlAdd, dxl.shape)) : dxl,
      segmentOp(b, 'UnsortedSegmentSum', delta, i.csrDst, N),
      tf.sum(tf.mul(dE, tf.leakyRelu(z, s.slope)), 0),
    ];
    if (i.edgeProj) outs.push(delta);
    return outs;
  }),
  // gradients.md eq. 2
  opsKernel(K.SEGMENT_SOFTMAX, (b, i) => {
    const e = i.e, N = i.rowPtr.shape[0]! - 1;
    const ids = idsFromPtr(b, i.rowPtr, e.shape[0]!);
    const m = segmentOp(b, 'UnsortedSegmentMax', e, ids, N);
    const ex = tf.exp(tf.sub(e, gatherRows(b, m, ids)));
    return tf.div(ex, gatherRows(b, segmentOp(b, 'UnsortedSegmentSum', ex, ids, N), ids));
  }),
  // gradients.md "Softmax stage"
  opsKernel(K.SEGMENT_SOFTMAX_GRAD, (b, i) => {
    const alpha = i.alpha, dAlpha = i.dAlpha, N = i.rowPtr.shape[0]! - 1;
    const ids = idsFromPtr(b, i.rowPtr, alpha.shape[0]!);
    const dot = segmentOp(b, 'UnsortedSegmentSum', tf.mul(alpha, dAlpha), ids, N);
    return tf.mul(alpha, tf.sub(dAlpha, gatherRows(b, dot, ids)));
  }),
  opsKernel(K.SEGMENT_MAX, (b, i) => {
    const e = i.e, rowPtr = i.rowPtr, N = rowPtr.shape[0]! - 1;
    const ids = idsFromPtr(b, rowPtr, e.shape[0]!);
    const m = segmentOp(b, 'UnsortedSegmentMax', e, ids, N);
    // TensorFlow fills empty segments with the lowest float; the contract says 0.
    const nonEmpty = tf.reshape(tf.greater(tf.sub(tf.slice(rowPtr, [1], [N]), tf.slice(rowPtr, [0], [N])), 0), [N, 1]);
    return tf.where(tf.broadcastTo(nonEmpty, m.shape), m, tf.zerosLike(m));
  }),
  // gradients.md eq. 3
  opsKernel(K.GAT_AGGREGATE, (b, i, a) => {
    const s = heads(a);
    const alpha = i.alpha, N = i.rowPtr.shape[0]! - 1;
    const ids = idsFromPtr(b, i.rowPtr, alpha.shape[0]!);
    const msg = tf.mul(gatherRows(b, i.xl, i.csrSrc), perChannel(alpha, s));
    return segmentOp(b, 'UnsortedSegmentSum', msg, ids, N);
  }),
  // gradients.md "Aggregation stage"
  opsKernel(K.GAT_AGGREGATE_GRAD, (b, i, a) => {
    const s = heads(a);
    const alpha = i.alpha, xl = i.xl, E = alpha.shape[0]!, N = xl.shape[0]!;
    const g = gatherRows(b, i.dOut, i.csrDst);
    const dAlpha = tf.sum(tf.reshape(tf.mul(g, gatherRows(b, xl, i.csrSrc)), [E, s.H, s.C]), 2);
    const dxl = segmentOp(b, 'UnsortedSegmentSum', tf.mul(g, perChannel(alpha, s)), i.csrSrc, N);
    return [dAlpha, dxl];
  }),
  opsKernel(K.SPARSE_MATMUL, (b, i) => {
    const values = i.values, rowPtr = i.rowPtr, N = rowPtr.shape[0]! - 1;
    const rows = idsFromPtr(b, rowPtr, values.shape[0]!);
    const terms = tf.mul(tf.reshape(values, [-1, 1]), gatherRows(b, i.w, i.colIdx));
    return segmentOp(b, 'UnsortedSegmentSum', terms, rows, N);
  }),
  opsKernel(K.SPARSE_MATMUL_GRAD, (b, i, a) => {
    const values = i.values, rowPtr = i.rowPtr;
    const rows = idsFromPtr(b, rowPtr, values.shape[0]!);
    const terms = tf.mul(tf.reshape(values, [-1, 1]), gatherRows(b, i.dy, rows));
    return segmentOp(b, 'UnsortedSegmentSum', terms, i.colIdx, a.numFeatures);
  }),
];

export function registerTensorflowKernels(): void {
  registerGatKernels('tensorflow', KERNELS);
  declareMatMulTraits('tensorflow', { explicitTransposes: false, matrixBias: false });
  checkGatKernels('tensorflow');
}
