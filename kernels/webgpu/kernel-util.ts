/** Small helpers the WebGPU kernel functions share. */
import type { NamedAttrMap, TensorInfo } from '@tensorflow/tfjs-core';
import type { GatWebGPUBackend } from './backend.js';
import { f32, i32, type Uniform } from './program.js';

export interface KernelArgs {
  inputs: Record<string, TensorInfo | undefined>;
  backend: GatWebGPUBackend;
  attrs: NamedAttrMap;
}

export function need(args: KernelArgs, name: string): TensorInfo {
  const t = args.inputs[name];
  if (!t) throw new Error(`gatv2 webgpu kernel: input ${name} is missing`);
  return t;
}

export interface HeadShape {
  H: number;
  C: number;
  slope: number;
}

export function headShape(attrs: NamedAttrMap): HeadShape {
  return {
    H: attrs['heads'] as number,
    C: attrs['channels'] as number,
    slope: (attrs['negativeSlope'] as number | undefined) ?? 0,
  };
}

/** Uniforms `heads`, `channels` and `slope` that the per-head programs read. */
export function headUniforms(s: HeadShape): Uniform[] {
  return [i32('heads', s.H), i32('channels', s.C), f32('slope', s.slope)];
}

/** A zero-filled float32 tensor, for outputs of empty graphs (no program can bind an empty buffer). */
export function zeros(backend: GatWebGPUBackend, shape: number[]): TensorInfo {
  return backend.makeTensorInfo(shape, 'float32', new Float32Array(shape.reduce((a, b) => a * b, 1)));
}

/** The same data under another shape of equal size (the caller gives up `t`). */
export function relabel(t: TensorInfo, shape: number[]): TensorInfo {
  return { dataId: t.dataId, shape, dtype: t.dtype };
}
