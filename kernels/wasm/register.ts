/** Registers this project's kernels, and the fast segment sum and gather (wasm has no segment sum
 * at all), on the wasm backend. The loops run over views of the wasm heap. The dense products
 * (BatchMatMul, _FusedMatMul) run on the threaded SIMD GEMM (./matmul.ts). */
import * as tf from '@tensorflow/tfjs-core';
import type { KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { declareMatMulTraits } from '../matmul-traits.js';
import { checkGatKernels } from '../register-kernel.js';
import { simdEnabled } from '../simd/index.js';
import { registerGatTypedArrayKernel, registerTypedArrayKernel } from '../typed-array-kernel.js';
import { GAT_TYPED_ARRAY_KERNELS, STOCK_TYPED_ARRAY_KERNELS } from '../typed-array-specs.js';
import { registerWasmMatMul } from './matmul.js';
import { threadedSum } from './sum.js';

interface WasmData {
  dataIdMap: { get(id: object): { refCount: number } | undefined };
}

/**
 * Identity that shares the buffer (as the cpu backend's does) instead of copying it. TF.js clones
 * every input a gradient saves, so inside tf.grads the stock wasm Identity copied each op's inputs:
 * at 10^5 edges that was half the step's tensor memory. Tensors are immutable, and the backend
 * frees a buffer when its reference count drops to zero, so sharing is safe.
 */
const sharedIdentity: KernelFunc = ({ inputs, backend }) => {
  const x = (inputs as { x: TensorInfo }).x;
  const data = (backend as unknown as WasmData).dataIdMap.get(x.dataId);
  if (!data || x.dtype === 'string') throw new Error('Identity: unknown wasm tensor');
  data.refCount++;
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
};

/**
 * Sum over an empty axis must give zeros; the stock wasm kernel returns whatever the heap held
 * (as its matMul does for an inner dimension of 0). Gradients of broadcasts over E = 0 edges
 * reduce exactly such tensors.
 */
function zeroForEmptySum(stock: KernelFunc): KernelFunc {
  return (args) => {
    const x = (args.inputs as { x: TensorInfo }).x;
    if (x.shape.some((d) => d === 0) && x.dtype !== 'string') {
      const rank = x.shape.length;
      const raw = (args.attrs as { axis: number | number[]; keepDims: boolean }).axis;
      const axes = (Array.isArray(raw) ? raw : [raw]).map((a) => (a < 0 ? a + rank : a));
      const keepDims = (args.attrs as { keepDims: boolean }).keepDims;
      const shape = x.shape.flatMap((d, i) => (axes.includes(i) ? (keepDims ? [1] : []) : [d]));
      const out = (args.backend as unknown as { makeOutput(s: number[], d: string): TensorInfo; typedArrayFromHeap(t: TensorInfo): Float32Array }).makeOutput(shape, x.dtype);
      (args.backend as unknown as { typedArrayFromHeap(t: TensorInfo): Float32Array }).typedArrayFromHeap(out).fill(0);
      return out;
    }
    return stock(args);
  };
}

export function registerWasmKernels(): void {
  for (const spec of GAT_TYPED_ARRAY_KERNELS) registerGatTypedArrayKernel('wasm', spec);
  for (const spec of STOCK_TYPED_ARRAY_KERNELS) registerTypedArrayKernel('wasm', spec);
  if (tf.getKernel('Identity', 'wasm')) tf.unregisterKernel('Identity', 'wasm');
  tf.registerKernel({ kernelName: 'Identity', backendName: 'wasm', kernelFunc: sharedIdentity });
  const sum = tf.getKernel('Sum', 'wasm');
  if (sum && !(sum as { gatv2?: boolean }).gatv2) {
    tf.unregisterKernel('Sum', 'wasm');
    tf.registerKernel({ ...sum, kernelFunc: threadedSum(zeroForEmptySum(sum.kernelFunc)), gatv2: true } as tf.KernelConfig);
  }
  registerWasmMatMul();
  // Our GEMM reads a transposed operand in place (same bits as after a transpose: the same terms
  // in the same order), so the projections' gradients need not materialise one. The stock kernel,
  // which runs when the SIMD module is off, is XNNPACK, which leaves its fast path for a matmul
  // with transposeA or transposeB set (about 12x slower, docs/platform-notes.md): then the
  // gradients transpose first. A fused matmul's bias must be a vector here.
  declareMatMulTraits('wasm', { explicitTransposes: !simdEnabled(), matrixBias: false });
  checkGatKernels('wasm');
}
