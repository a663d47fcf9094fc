/**
 * Registers a kernel written as a loop over typed arrays (kernels/loops.ts) on the cpu or wasm
 * backend. The two backends differ only in where tensor data lives: cpu keeps JS typed arrays,
 * wasm keeps them on its heap (allocate every output first, then take views: growing the heap
 * detaches views taken earlier; see docs/platform-notes.md).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { DataType, KernelFunc, NamedAttrMap, TensorInfo } from '@tensorflow/tfjs-core';

export type TypedArray = Float32Array | Int32Array | Uint8Array;

export interface OutputSpec {
  shape: number[];
  dtype: DataType;
}

export interface TypedKernelSpec {
  kernelName: string;
  /** Shapes and dtypes of the outputs. Return null to hand the call to the stock kernel. */
  outputs(inputs: Record<string, TensorInfo>, attrs: NamedAttrMap): OutputSpec[] | null;
  /** Fills the outputs, which arrive zeroed. */
  run(inputs: Record<string, TypedArray>, outputs: TypedArray[], shapes: Record<string, number[]>, attrs: NamedAttrMap): void;
}

interface CpuLike {
  data: { get(id: object): { values: unknown } };
  makeTensorInfo(shape: number[], dtype: DataType, values: TypedArray): TensorInfo;
}

interface WasmLike {
  makeOutput(shape: number[], dtype: DataType): TensorInfo;
  typedArrayFromHeap(t: TensorInfo): TypedArray;
}

function sizeOf(shape: number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

function newTyped(dtype: DataType, n: number): TypedArray {
  if (dtype === 'int32') return new Int32Array(n);
  if (dtype === 'bool') return new Uint8Array(n);
  return new Float32Array(n);
}

function shapesOf(inputs: Record<string, TensorInfo>): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  for (const [k, t] of Object.entries(inputs)) out[k] = t.shape;
  return out;
}

function cpuKernelFunc(spec: TypedKernelSpec, fallback?: KernelFunc): KernelFunc {
  return (args) => {
    const inputs = args.inputs as Record<string, TensorInfo>;
    const specs = spec.outputs(inputs, args.attrs ?? {});
    if (specs === null) {
      if (!fallback) throw new Error(`${spec.kernelName}: no stock kernel for this case on cpu`);
      return fallback(args);
    }
    const backend = args.backend as unknown as CpuLike;
    const arrays: Record<string, TypedArray> = {};
    for (const [k, t] of Object.entries(inputs)) arrays[k] = backend.data.get(t.dataId).values as TypedArray;
    const outs = specs.map((s) => newTyped(s.dtype, sizeOf(s.shape)));
    spec.run(arrays, outs, shapesOf(inputs), args.attrs ?? {});
    const infos = specs.map((s, i) => backend.makeTensorInfo(s.shape, s.dtype, outs[i]));
    return infos.length === 1 ? infos[0] : infos;
  };
}

function wasmKernelFunc(spec: TypedKernelSpec, fallback?: KernelFunc): KernelFunc {
  return (args) => {
    const inputs = args.inputs as Record<string, TensorInfo>;
    const specs = spec.outputs(inputs, args.attrs ?? {});
    if (specs === null) {
      if (!fallback) throw new Error(`${spec.kernelName}: no stock kernel for this case on wasm`);
      return fallback(args);
    }
    const backend = args.backend as unknown as WasmLike;
    const infos = specs.map((s) => backend.makeOutput(s.shape, s.dtype));
    // Views only after every allocation: an allocation may grow the heap and detach them.
    const arrays: Record<string, TypedArray> = {};
    for (const [k, t] of Object.entries(inputs)) arrays[k] = backend.typedArrayFromHeap(t);
    const outs = infos.map((t) => {
      const view = backend.typedArrayFromHeap(t);
      view.fill(0);
      return view;
    });
    spec.run(arrays, outs, shapesOf(inputs), args.attrs ?? {});
    return infos.length === 1 ? infos[0] : infos;
  };
}

const stockKernels = new Map<string, tf.KernelConfig>();

/** Registers (or replaces) spec.kernelName on a cpu-like or wasm backend. */
export function registerTypedArrayKernel(backendName: 'cpu' | 'wasm', spec: TypedKernelSpec): void {
  const current = tf.getKernel(spec.kernelName, backendName);
  // Keep the stock kernel as the fallback for cases the fast loop does not cover; registering
  // twice must not lose it.
  const stock = stockKernels.get(`${backendName}/${spec.kernelName}`) ?? (current && !(current as { gatv2?: boolean }).gatv2 ? current : undefined);
  if (stock) stockKernels.set(`${backendName}/${spec.kernelName}`, stock);
  if (current) tf.unregisterKernel(spec.kernelName, backendName);
  const kernelFunc = backendName === 'cpu' ? cpuKernelFunc(spec, stock?.kernelFunc) : wasmKernelFunc(spec, stock?.kernelFunc);
  // setupFunc too: wasm's stock kernels bind their C functions in it, and the fallback needs it.
  const config = { kernelName: spec.kernelName, backendName, kernelFunc, setupFunc: stock?.setupFunc, gatv2: true };
  tf.registerKernel(config);
}
