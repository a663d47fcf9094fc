/**
 * TF.js's BatchMatMul and _FusedMatMul on WebGPU, kept from its split-K program.
 *
 * For a product with few 32 x 32 output tiles and an inner dimension of 2000 or more, TF.js 4.22
 * (BatchMatMul_impl) runs MatMulSplitKProgram, which adds the partial products of K slices into
 * the output with float atomics: the order of the additions is whatever order the GPU runs the
 * workgroups in, so the same inputs give different bits from run to run (measured: two identical
 * Cora runs parted at the second epoch). For exactly those products this runs the stock kernel
 * with WEBGPU_MATMUL_PROGRAM_TYPE set to MatMulSmallOutputSizeProgram, TF.js's other choice for
 * few tiles, which gives each output element one invocation that walks K in order. Every other
 * product keeps TF.js's choice. The weight gradients (x^T dy, the usual case) do not come here at
 * all: src/ops/linear.ts runs kernels/webgpu/weight-grad.ts for them.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import type { KernelArgs } from './kernel-util.js';

/** TF.js 4.22's MatMulProgramType values (webgpu_util.ts). */
const SPLIT_K = 1;
const SMALL_OUTPUT_SIZE = 2;
const FLAG = 'WEBGPU_MATMUL_PROGRAM_TYPE';

/** Whether TF.js 4.22's batchMatMulImpl would pick MatMulSplitKProgram for this product. */
export function wouldSplitK(a: number[], b: number[], transposeA: boolean, transposeB: boolean, threshold: number): boolean {
  const outerA = transposeA ? a[a.length - 1]! : a[a.length - 2]!;
  const outerB = transposeB ? b[b.length - 2]! : b[b.length - 1]!;
  const inner = transposeB ? b[b.length - 1]! : b[b.length - 2]!;
  const size = (s: number[]) => s.reduce((x, y) => x * y, 1);
  const batch = Math.max(size(a.slice(0, -2)), size(b.slice(0, -2)));
  const tiles = batch * Math.ceil(outerA / 32) * Math.ceil(outerB / 32);
  const few = tiles <= threshold || (outerA <= 8 && tiles <= threshold * 2);
  return few && batch * outerA * outerB > 128 && batch === 1 && inner >= 2000;
}

function withoutSplitK(stock: KernelFunc): KernelFunc {
  return (args) => {
    const { inputs, attrs, backend } = args as unknown as KernelArgs;
    const a = inputs['a']!, b = inputs['b']!;
    const flag = tf.env().getNumber(FLAG);
    const own = backend as unknown as { thresholdToIncreaseWorkgroups: number };
    const fromFlag = tf.env().getNumber('WEBGPU_THRESHOLD_TO_INCREASE_WORKGROUPS_FOR_MATMUL');
    const threshold = fromFlag > 0 ? fromFlag : own.thresholdToIncreaseWorkgroups;
    const splitK = flag === SPLIT_K
      || (flag < 0 && wouldSplitK(a.shape, b.shape, attrs['transposeA'] === true, attrs['transposeB'] === true, threshold));
    if (!splitK) return stock(args);
    tf.env().set(FLAG, SMALL_OUTPUT_SIZE);
    try {
      return stock(args) as TensorInfo;
    } finally {
      tf.env().set(FLAG, flag);
    }
  };
}

export function matMulKernels(stock: (name: string) => KernelFunc): KernelConfig[] {
  return ['BatchMatMul', '_FusedMatMul'].map((name) => ({
    kernelName: name, backendName: 'webgpu', kernelFunc: (args: Parameters<KernelFunc>[0]) => withoutSplitK(stock(name))(args),
  }));
}
