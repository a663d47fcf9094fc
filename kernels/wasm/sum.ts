/**
 * TF.js's Sum on the wasm backend for float32 sums over leading axes (a bias gradient: dy [N, K]
 * summed over its rows) or trailing axes (row sums), on the kernels' threads
 * (kernels/simd/index.ts sumAxes). Why: the stock kernel moves the reduced axes last with a
 * transpose first, a full copy of a 17 MB gradient, then sums on one thread. The terms of each
 * output are added in the stock kernel's order, so the bits do not change either. Other sums (other
 * dtypes, axes in the middle, the SIMD module off) go to `next`.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { DataType, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { simdEnabled, sumAxes } from '../simd/index.js';
import { attachWasmHeap } from './shared-heap.js';

interface WasmBackend {
  makeOutput(shape: number[], dtype: DataType): TensorInfo;
  typedArrayFromHeap(t: TensorInfo): Float32Array;
  disposeData(dataId: object): void;
}

/** Sum through sumAxes where the reduced axes are a prefix or a suffix of x's, else `next`. */
export function threadedSum(next: KernelFunc): KernelFunc {
  return (args) => {
    const x = (args.inputs as { x: TensorInfo }).x;
    const { axis, keepDims } = args.attrs as { axis: number | number[] | null; keepDims: boolean };
    if (x.dtype !== 'float32' || !simdEnabled()) return next(args);
    const rank = x.shape.length;
    const all = axis === null || axis === undefined ? x.shape.map((_, i) => i) : tf.util.parseAxisParam(axis, x.shape);
    const axes = [...new Set(all)].sort((p, q) => p - q);
    const prefix = axes.every((a, i) => a === i), suffix = axes.every((a, i) => a === rank - axes.length + i);
    if (!prefix && !suffix) return next(args);
    // Leading axes summed: x is [R, C] with R their size, summed over rows; else over columns.
    const split = prefix ? axes.length : rank - axes.length;
    const R = x.shape.slice(0, split).reduce((p, d) => p * d, 1), C = x.shape.slice(split).reduce((p, d) => p * d, 1);
    const shape = x.shape.flatMap((d, i) => (axes.includes(i) ? (keepDims ? [1] : []) : [d]));
    const backend = args.backend as unknown as WasmBackend;
    attachWasmHeap(backend);
    const out = backend.makeOutput(shape, 'float32');
    // Views only after the output's allocation (it may grow the heap).
    if (sumAxes(backend.typedArrayFromHeap(x), R, C, prefix, backend.typedArrayFromHeap(out))) return out;
    backend.disposeData(out.dataId);
    return next(args);
  };
}
