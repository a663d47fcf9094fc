/**
 * Registers a kernel written as a loop over typed arrays (kernels/loops.ts) on the cpu or wasm
 * backend. The two backends differ only in where tensor data lives: cpu keeps JS typed arrays,
 * wasm keeps them on its heap (allocate every output first, then take views: growing the heap
 * detaches views taken earlier; see docs/platform-notes.md).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { DataType, KernelFunc, NamedAttrMap, TensorInfo } from '@tensorflow/tfjs-core';
import type { GatKernelName, KernelAttrs, KernelInputs, KernelOutputs } from './names.js';
import { registerGatKernel } from './register-kernel.js';
import { attachWasmHeap } from './wasm/shared-heap.js';

export type TypedArray = Float32Array | Int32Array | Uint8Array;

export interface OutputSpec {
  shape: number[];
  dtype: DataType;
}

/** A loop in place of one of TF.js's own kernels (its contract is TF.js's). */
export interface TypedKernelSpec {
  kernelName: string;
  /** Shapes and dtypes of the outputs. Return null to hand the call to the stock kernel. */
  outputs(inputs: Record<string, TensorInfo>, attrs: NamedAttrMap): OutputSpec[] | null;
  /** Fills the outputs, which arrive zeroed. */
  run(inputs: Record<string, TypedArray>, outputs: TypedArray[], shapes: Record<string, number[]>, attrs: NamedAttrMap): void;
}

/**
 * A loop for this project's kernel N (names.ts), its inputs and attrs typed by N's contract:
 * float32 inputs arrive as Float32Array, int32 ones as Int32Array; outputs are float32.
 */
export interface GatTypedKernelSpec<N extends GatKernelName> {
  kernelName: N;
  outputs(inputs: KernelInputs<N, TensorInfo>, attrs: KernelAttrs<N>): OutputSpec[];
  run(inputs: KernelInputs<N, Float32Array, Int32Array>, outputs: Float32Array[], shapes: Record<string, number[]>, attrs: KernelAttrs<N>): void;
}

/** Any kernel's spec (the name tells which contract it follows). */
export type AnyGatTypedKernelSpec = { [N in GatKernelName]: GatTypedKernelSpec<N> }[GatKernelName];

/** A typed list entry: gatSpec({ kernelName: GAT_SCORE, ... }) checks it against the contract. */
export function gatSpec<N extends GatKernelName>(spec: GatTypedKernelSpec<N>): GatTypedKernelSpec<N> {
  return spec;
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
    attachWasmHeap(backend);
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

/** Registers (or replaces) this project's kernel spec.kernelName on a cpu-like or wasm backend. */
export function registerGatTypedArrayKernel(backendName: 'cpu' | 'wasm', spec: AnyGatTypedKernelSpec): void {
  const loose = spec as unknown as TypedKernelSpec;
  const kernelFunc = backendName === 'cpu' ? cpuKernelFunc(loose) : wasmKernelFunc(loose);
  registerGatKernel(spec.kernelName, backendName, (args) => kernelFunc(args as unknown as Parameters<KernelFunc>[0]) as KernelOutputs<GatKernelName, TensorInfo>);
}

/** Registers (or replaces) TF.js's kernel spec.kernelName on a cpu-like or wasm backend. */
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
