/**
 * Sum over axis 0 (a column sum) on WebGPU, in place of TF.js's Sum for that case: the bias
 * gradients (sums over nodes of [N, H*C]) and broadcast gradients reduce this way (whole-tensor
 * sums, such as the loss's, keep TF.js's kernel).
 *
 * TF.js reduces the last axis, so it first transposes [N, K] into [K, N] (a full copy), then gives
 * each of the K outputs one workgroup that strides through N: a few hundred workgroups on a graph
 * of 10^5 nodes. sumAll (segment-reduce.ts) instead sums chunks of 128 rows with neighbouring
 * invocations on neighbouring columns (coalesced), then the chunks' partials: no copy, the whole
 * GPU busy, a fixed order. Every other Sum goes to the stock kernel.
 */
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import type { GatWebGPUBackend } from './backend.js';
import { need, relabel, zeros, type KernelArgs } from './kernel-util.js';
import { sumAll } from './segment-reduce.js';

/** [cols] sums over the rows of x (any shape holding rows * cols elements, row-major), rows > 0. */
export function sumRows(backend: GatWebGPUBackend, x: TensorInfo, rows: number, cols: number): TensorInfo {
  return sumAll(backend, {
    name: 'colsum',
    cols,
    inputs: [['x', relabel(x, [rows * cols])]],
    uniforms: [],
    term: `fn term(t : i32, col : i32) -> f32 {
  return x[t * uniforms.cols + col];
}`,
  }, rows);
}

function columnSum(args: KernelArgs, stock: KernelFunc): TensorInfo {
  const x = need(args, 'x');
  const rank = x.shape.length;
  const raw = args.attrs['axis'] as number | number[];
  const axes = (Array.isArray(raw) ? raw : [raw]).map((a) => (a < 0 ? a + rank : a));
  if (x.dtype !== 'float32' || rank < 2 || axes.length !== 1 || axes[0] !== 0) return stock(args as never) as TensorInfo;
  const rest = x.shape.slice(1);
  const outShape = args.attrs['keepDims'] ? [1, ...rest] : rest;
  const rows = x.shape[0]!, cols = rest.reduce((a, b) => a * b, 1);
  if (cols === 0) return zeros(args.backend, outShape);
  if (rows === 0) return zeros(args.backend, outShape);
  return relabel(sumRows(args.backend, x, rows, cols), outShape);
}

export function columnSumKernels(stock: (name: string) => KernelFunc): KernelConfig[] {
  return [{ kernelName: 'Sum', backendName: 'webgpu', kernelFunc: (a) => columnSum(a as unknown as KernelArgs, stock('Sum')) }];
}
