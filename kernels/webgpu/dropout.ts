/**
 * GatV2Dropout on WebGPU: y = x * scale where the counter-based hash keeps element i, else x * 0
 * (kernels/dropout-hash.ts, the same bits as the cpu and wasm loop). One invocation per element;
 * the mask is never stored, so the analytic backward regenerates it for free.
 */
import type { TensorInfo } from '@tensorflow/tfjs-core';
import { dropoutConstants, DROPOUT_WGSL } from '../dropout-hash.js';
import { DROPOUT } from '../names.js';
import { gatKernel, type AnyGatKernelImpl, type GatKernelArgs } from '../register-kernel.js';
import type { GatWebGPUBackend } from './backend.js';
import { relabel, zeros } from './kernel-util.js';
import { f32, groupsFor, i32, runProgram } from './program.js';
import { LIGHT_WG } from './wgsl.js';

function dropout(args: GatKernelArgs<typeof DROPOUT, GatWebGPUBackend>): TensorInfo {
  const x = args.inputs.x;
  const size = x.shape.reduce((a, b) => a * b, 1);
  if (size === 0) return zeros(args.backend, x.shape);
  const c = dropoutConstants(args.attrs.p, args.attrs.seed);
  return runProgram(args.backend, {
    key: 'dropout',
    // Any shape as a flat vector: the mask depends on the flat index only.
    inputs: [['x', relabel(x, [size])]],
    outputShape: [size],
    workgroupSize: LIGHT_WG,
    workgroups: groupsFor(size, LIGHT_WG),
    uniforms: [i32('size', size), i32('seed', c.seed | 0), i32('key', c.key | 0), i32('threshold', c.threshold), f32('scale', c.scale)],
    code: `${DROPOUT_WGSL}
fn main(index : i32) {
  if (index >= uniforms.size) {
    return;
  }
  result[index] = x[index] * select(0.0, uniforms.scale, dropoutKeep(index));
}
`,
  });
}

export function dropoutKernels(): Array<AnyGatKernelImpl<GatWebGPUBackend>> {
  return [gatKernel(DROPOUT, (args) => relabel(dropout(args), args.inputs.x.shape))];
}
