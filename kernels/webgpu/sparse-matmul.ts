/**
 * GatV2SparseMatMul (y = X W for the CSR feature matrix X) and GatV2SparseMatMulGrad (dW = X^T dY)
 * on WebGPU, computing what kernels/loops.ts sparseMatMul / sparseMatMulGrad compute (the node
 * projections of gradients.md "Projections" for sparse features).
 *
 * The forward is a segment reduce over X's rows. The gradient sums into W's rows, i.e. over X's
 * columns: it walks the column (CSC) grouping of the non-zeros, built once on the host from the
 * CSR arrays (plans.ts columnIndex), so no atomics are needed and the order of each sum is that
 * of loops.ts (ascending non-zero position).
 */
import type { TensorInfo } from '@tensorflow/tfjs-core';
import { SPARSE_MATMUL, SPARSE_MATMUL_GRAD } from '../names.js';
import { gatKernel, type AnyGatKernelImpl, type GatKernelArgs } from '../register-kernel.js';
import type { GatWebGPUBackend } from './backend.js';
import { zeros } from './kernel-util.js';
import { columnIndex } from './plans.js';
import { groupsFor, i32, runProgram } from './program.js';
import { segmentReduce } from './segment-reduce.js';
import { LIGHT_WG } from './wgsl.js';

function sparseMatMul(args: GatKernelArgs<typeof SPARSE_MATMUL, GatWebGPUBackend>): TensorInfo {
  const values = args.inputs.values, colIdx = args.inputs.colIdx, rowPtr = args.inputs.rowPtr, w = args.inputs.w;
  const N = rowPtr.shape[0]! - 1, K = w.shape[1]!;
  if (values.shape[0] === 0 || K === 0) return zeros(args.backend, [N, K]);
  return segmentReduce(args.backend, {
    name: 'spmm', segPtr: rowPtr, numSegments: N, cols: K, op: 'sum',
    inputs: [['colIdx', colIdx], ['values', values], ['w', w]],
    uniforms: [],
    term: `fn term(seg : i32, t : i32, col : i32) -> f32 {
  return values[t] * w[colIdx[t] * uniforms.cols + col];
}`,
  });
}

function sparseMatMulGrad(args: GatKernelArgs<typeof SPARSE_MATMUL_GRAD, GatWebGPUBackend>): TensorInfo {
  const { backend } = args;
  const values = args.inputs.values, colIdx = args.inputs.colIdx, rowPtr = args.inputs.rowPtr, dy = args.inputs.dy;
  const F = args.attrs.numFeatures, K = dy.shape[1]!;
  if (values.shape[0] === 0 || K === 0 || F === 0) return zeros(backend, [F, K]);
  const csc = columnIndex(backend, rowPtr, colIdx, F);
  if (csc) {
    return segmentReduce(backend, {
      name: 'spmmgrad', segPtr: csc.colPtr, numSegments: F, cols: K, op: 'sum',
      inputs: [['order', csc.order], ['rowOf', csc.rowOf], ['values', values], ['dy', dy]],
      uniforms: [],
      term: `fn term(seg : i32, t : i32, col : i32) -> f32 {
  return values[order[t]] * dy[rowOf[t] * uniforms.cols + col];
}`,
    });
  }
  // The sparse matrix was computed on the GPU, so its columns cannot be grouped on the host.
  // Still deterministic, but each output element scans every non-zero: O(F K nnz). This project
  // always builds its feature matrices on the host, so this path is a safety net only.
  const N = rowPtr.shape[0]! - 1;
  return runProgram(backend, {
    key: 'spmmgrad_scan',
    inputs: [['rowPtr', rowPtr], ['colIdx', colIdx], ['values', values], ['dy', dy]],
    outputShape: [F, K],
    workgroupSize: LIGHT_WG,
    workgroups: groupsFor(F * K, LIGHT_WG),
    uniforms: [i32('numRows', N), i32('numFeatures', F), i32('cols', K)],
    code: `
fn main(index : i32) {
  if (index >= uniforms.numFeatures * uniforms.cols) {
    return;
  }
  let f = index / uniforms.cols;
  let k = index - f * uniforms.cols;
  var acc = 0.0;
  for (var i = 0; i < uniforms.numRows; i = i + 1) {
    for (var t = rowPtr[i]; t < rowPtr[i + 1]; t = t + 1) {
      if (colIdx[t] == f) {
        acc = acc + values[t] * dy[i * uniforms.cols + k];
      }
    }
  }
  result[index] = acc;
}`,
  });
}

export function sparseMatMulKernels(): Array<AnyGatKernelImpl<GatWebGPUBackend>> {
  return [gatKernel(SPARSE_MATMUL, sparseMatMul), gatKernel(SPARSE_MATMUL_GRAD, sparseMatMulGrad)];
}
