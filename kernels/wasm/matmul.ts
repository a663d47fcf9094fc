/**
 * TF.js's BatchMatMul and _FusedMatMul on the wasm backend, run by this project's threaded SIMD
 * GEMM (kernels/simd/index.ts denseProduct) instead of XNNPACK, which is single-threaded in Node.
 * Why: the dense products x W, x^T dy and dy W^T were about half of a training step at the
 * 1/10-ogbn-arxiv size, on one core. The GEMM runs at every thread count, 1 included, so a run's
 * numbers do not depend on --threads (each element sums its terms in k order whatever the split).
 *
 * Covered: float32; transposeA / transposeB; batch dimensions where each operand's batch is the
 * output's or 1 (broadcast); a bias and PReLU weights of N values (over the last axis) or of one;
 * the activations linear, relu, relu6, prelu, leakyrelu, sigmoid and elu; empty dimensions (an
 * inner dimension of 0 gives act(bias), zeros without one). Everything else, and every call when
 * the SIMD module is off (GATV2_NO_SIMD), goes to the stock kernel.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { DataType, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { attachWasmHeap } from './shared-heap.js';
import { denseProduct, GEMM_ACTIVATIONS, simdEnabled, type DenseProduct, type GemmActivation } from '../simd/index.js';

interface WasmBackend {
  makeOutput(shape: number[], dtype: DataType): TensorInfo;
  typedArrayFromHeap(t: TensorInfo): Float32Array;
  disposeData(dataId: object): void;
}

interface MatMulAttrs {
  transposeA: boolean;
  transposeB: boolean;
  activation?: string;
  leakyreluAlpha?: number;
}

/** A product's shapes, worked out from the inputs (null: not one we run). */
interface Plan {
  outShape: number[];
  M: number;
  K: number;
  N: number;
  batchA: number;
  batchB: number;
}

function size(shape: number[]): number {
  return shape.reduce((p, d) => p * d, 1);
}

/**
 * The output shape and counts of a (transposed) a times b, or null when the stock kernel should
 * take it: not float32, rank below 2, inner dimensions that differ (the stock kernel throws
 * TF.js's message), or batch dimensions that broadcast other than "same, or 1".
 */
function plan(a: TensorInfo, b: TensorInfo, attrs: MatMulAttrs): Plan | null {
  if (a.dtype !== 'float32' || b.dtype !== 'float32' || a.shape.length < 2 || b.shape.length < 2) return null;
  const ra = a.shape.length, rb = b.shape.length;
  const M = attrs.transposeA ? a.shape[ra - 1] : a.shape[ra - 2];
  const Ka = attrs.transposeA ? a.shape[ra - 2] : a.shape[ra - 1];
  const Kb = attrs.transposeB ? b.shape[rb - 1] : b.shape[rb - 2];
  const N = attrs.transposeB ? b.shape[rb - 2] : b.shape[rb - 1];
  if (Ka !== Kb) return null;
  let batchShape: number[];
  try {
    batchShape = tf.broadcast_util.assertAndGetBroadcastShape(a.shape.slice(0, -2), b.shape.slice(0, -2));
  } catch {
    return null;
  }
  const batch = size(batchShape), batchA = size(a.shape.slice(0, -2)), batchB = size(b.shape.slice(0, -2));
  // Equal counts mean equal shapes up to leading 1s (they broadcast to batchShape), so the
  // batches line up in order; any other mix (e.g. [2, 1] with [1, 3]) is left to the stock kernel.
  if ((batchA !== batch && batchA !== 1) || (batchB !== batch && batchB !== 1)) return null;
  return { outShape: [...batchShape, M, N], M, K: Ka, N, batchA, batchB };
}

/** Whether a bias or PReLU weight tensor is one we apply: N values along the last axis, or one. */
function perColumn(t: TensorInfo | undefined, N: number): boolean {
  if (!t) return true;
  if (t.dtype !== 'float32' || t.shape.length > 3) return false;
  const n = size(t.shape);
  return n === 1 || (n === N && t.shape[t.shape.length - 1] === N);
}

/**
 * Runs the product into a new output; null (nothing allocated) when denseProduct declines, so
 * the caller runs the stock kernel.
 */
function runProduct(
  backend: WasmBackend, p: Plan, attrs: MatMulAttrs, inputs: { a: TensorInfo; b: TensorInfo; bias?: TensorInfo; prelu?: TensorInfo },
): TensorInfo | null {
  attachWasmHeap(backend);
  const out = backend.makeOutput(p.outShape, 'float32');
  if (size(p.outShape) === 0) return out;
  // Views only after the output's allocation: it may grow the heap and detach earlier views.
  const view = (t: TensorInfo | undefined) => (t ? backend.typedArrayFromHeap(t) : null);
  const product: DenseProduct = {
    a: view(inputs.a)!, transA: attrs.transposeA, b: view(inputs.b)!, transB: attrs.transposeB,
    M: p.M, K: p.K, N: p.N, batchA: p.batchA, batchB: p.batchB,
    bias: view(inputs.bias), prelu: view(inputs.prelu),
    activation: (attrs.activation ?? 'linear') as GemmActivation, leakyreluAlpha: attrs.leakyreluAlpha ?? 0,
  };
  if (denseProduct(product, backend.typedArrayFromHeap(out))) return out;
  backend.disposeData(out.dataId);
  return null;
}

/** BatchMatMul: a (transposed) times b, batches as plan() takes them. */
function batchMatMul(stock: KernelFunc): KernelFunc {
  return (args) => {
    const { a, b } = args.inputs as { a: TensorInfo; b: TensorInfo };
    const attrs = args.attrs as unknown as MatMulAttrs;
    const p = simdEnabled() ? plan(a, b, attrs) : null;
    return (p && runProduct(args.backend as unknown as WasmBackend, p, { transposeA: attrs.transposeA, transposeB: attrs.transposeB }, { a, b })) ?? stock(args);
  };
}

/** _FusedMatMul: act(a b + bias), with the activations of GEMM_ACTIVATIONS. */
function fusedMatMul(stock: KernelFunc): KernelFunc {
  return (args) => {
    const inputs = args.inputs as { a: TensorInfo; b: TensorInfo; bias?: TensorInfo; preluActivationWeights?: TensorInfo };
    const attrs = args.attrs as unknown as MatMulAttrs;
    const act = attrs.activation ?? 'linear';
    const p = simdEnabled() && Object.hasOwn(GEMM_ACTIVATIONS, act) ? plan(inputs.a, inputs.b, attrs) : null;
    const prelu = act === 'prelu' ? inputs.preluActivationWeights : undefined;
    if (!p || !perColumn(inputs.bias, p.N) || !perColumn(prelu, p.N) || (act === 'prelu' && !prelu)) return stock(args);
    const backend = args.backend as unknown as WasmBackend;
    return runProduct(backend, p, attrs, { a: inputs.a, b: inputs.b, bias: inputs.bias, prelu }) ?? stock(args);
  };
}

/** The stock configs, kept so that registering twice wraps them, not our own wrappers. */
const stockConfigs = new Map<string, tf.KernelConfig>();

/** Registers BatchMatMul and _FusedMatMul on wasm (the stock kernels stay as the fallback). */
export function registerWasmMatMul(): void {
  for (const [name, wrap] of [['BatchMatMul', batchMatMul], ['_FusedMatMul', fusedMatMul]] as const) {
    const current = tf.getKernel(name, 'wasm');
    const stock = stockConfigs.get(name) ?? (current && !(current as { gatv2?: boolean }).gatv2 ? current : undefined);
    if (!stock) continue;
    stockConfigs.set(name, stock);
    if (current) tf.unregisterKernel(name, 'wasm');
    // setupFunc too: the stock kernel binds its C function there, and the fallback needs it.
    tf.registerKernel({ ...stock, kernelFunc: wrap(stock.kernelFunc), gatv2: true } as tf.KernelConfig);
  }
}
