/**
 * A WebGPU program as TF.js runs it (runWebGPUProgram): named storage inputs, one output, uniforms,
 * and user code that defines `fn main(index : i32)`. TF.js calls main with the flat invocation
 * index (it reshapes dispatches above 65535 workgroups into 2-D or 3-D; the index stays flat).
 *
 * Everything that changes the WGSL text must be part of `key`: pipelines are cached by it (with
 * the tensors' ranks and dtypes, added here; see canonicalKeys in backend.ts). Sizes, heads,
 * channels and the slope are uniforms, so one compiled pipeline serves every graph and layer
 * configuration.
 */
import type { DataType, TensorInfo } from '@tensorflow/tfjs-core';
import type { WebGPUProgram } from '@tensorflow/tfjs-backend-webgpu';
import { GAT_KEY_PREFIX, type GatWebGPUBackend } from './backend.js';
import { REQUIRED_STORAGE_BUFFERS } from './device.js';

export interface Uniform {
  name: string;
  type: 'i32' | 'f32';
  value: number;
}

export interface ProgramSpec {
  key: string;
  inputs: Array<[string, TensorInfo]>;
  outputShape: number[];
  outputDtype?: DataType;
  /** Invocations per workgroup (1-D). */
  workgroupSize: number;
  /** Workgroups to dispatch. */
  workgroups: number;
  /**
   * What main's code indexes by: 'invocation' (default), TF.js's flat invocation index, an i32
   * that must not pass 2^31 (backend.ts checkDispatch refuses such a dispatch); 'workgroup', the
   * program calls wgsl.ts workgroupTask() (a u32 workgroup id) and ignores that index.
   */
  indexing?: 'invocation' | 'workgroup';
  uniforms: Uniform[];
  code: string;
  /** Write into this tensor instead of a new one (a second program filling the rest of it). */
  output?: TensorInfo;
  /**
   * Components per element of each input's WGSL array (1: f32/i32; 4: vec4, read four channels
   * per load), in the order of `inputs`; all 1 when omitted.
   */
  components?: number[];
}

class GatProgram implements WebGPUProgram {
  variableNames: string[];
  outputShape: number[];
  shaderKey: string;
  dispatchLayout: { x: number[] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number];
  uniforms: string;
  variableComponents?: number[];
  /** Read by backend.ts checkDispatch and its messages. */
  gatIndexing: 'invocation' | 'workgroup';
  gatName: string;
  private readonly code: string;

  constructor(spec: ProgramSpec, flat: boolean) {
    this.variableNames = spec.inputs.map(([name]) => name);
    this.outputShape = spec.outputShape;
    // Everything the generated WGSL depends on, up to '#' (see canonicalKeys in backend.ts).
    const ranks = [...spec.inputs.map(([, t]) => t.shape.length), spec.outputShape.length].join(',');
    const dtypes = [...spec.inputs.map(([, t]) => t.dtype), spec.outputDtype ?? 'float32'].join(',');
    const components = spec.components ? `_c${spec.components.join(',')}` : '';
    this.shaderKey = `${GAT_KEY_PREFIX}${spec.key}_${spec.workgroupSize}_${this.variableNames.join(',')}_${ranks}_${dtypes}_${flat ? 'flat' : '3d'}${components}#`;
    this.dispatchLayout = { x: spec.outputShape.map((_, i) => i) };
    this.dispatch = [Math.max(1, spec.workgroups), 1, 1];
    this.workgroupSize = [spec.workgroupSize, 1, 1];
    this.uniforms = spec.uniforms.map((u) => `${u.name} : ${u.type},`).join(' ');
    this.code = spec.code;
    this.gatIndexing = spec.indexing ?? 'invocation';
    this.gatName = spec.key;
    if (spec.components) {
      if (spec.components.length !== spec.inputs.length) throw new Error(`gatv2 webgpu: program ${spec.key}: one component count per input`);
      this.variableComponents = spec.components;
    }
  }

  getUserCode(): string {
    return this.code;
  }
}

export function runProgram(backend: GatWebGPUBackend, spec: ProgramSpec): TensorInfo {
  if (spec.inputs.length + 1 > REQUIRED_STORAGE_BUFFERS) {
    throw new Error(`gatv2 webgpu: program ${spec.key} binds ${spec.inputs.length + 1} storage buffers`);
  }
  const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);
  // TF.js returns an empty output without running anything; otherwise a zero-size buffer cannot
  // be bound, and kernels handle empty graphs before they get here.
  if (size(spec.outputShape) > 0) {
    for (const [name, t] of spec.inputs) {
      if (size(t.shape) === 0) throw new Error(`gatv2 webgpu: program ${spec.key}: input ${name} is empty`);
    }
  }
  // TF.js folds dispatches above the per-dimension limit into 2-D or 3-D ones.
  const program = new GatProgram(spec, spec.workgroups <= backend.device.limits.maxComputeWorkgroupsPerDimension);
  const uniformData = spec.uniforms.map((u) => ({ type: u.type === 'i32' ? 'int32' : 'float32', data: [u.value] }));
  return backend.runWebGPUProgram(
    program, spec.inputs.map(([, t]) => t), spec.outputDtype ?? 'float32', uniformData, spec.output,
  );
}

/** Workgroups for one invocation per item. */
export function groupsFor(items: number, workgroupSize: number): number {
  return Math.ceil(items / workgroupSize);
}

export const i32 = (name: string, value: number): Uniform => ({ name, type: 'i32', value });
export const f32 = (name: string, value: number): Uniform => ({ name, type: 'f32', value });
