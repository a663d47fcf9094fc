/**
 * GatV2AdamUpdate on WebGPU (names.ts ADAM_UPDATE; kernels/loops.ts adamUpdate), one invocation
 * per element, weight decay folded into the gradient (g = grad + wd p). A TF.js program has one
 * output, so this is three programs: m', v', and p', which recomputes m' and v' from the OLD m, v
 * and g itself, so that the three read only the inputs and do not depend on each other's order. Tensors go in and out as flat [n] (relabelled, no copy)
 * and the size and every scalar are uniforms: one pipeline per program serves every parameter.
 *
 * The scalars are rounded to float32 once on the host, 1 - beta1 and 1 - beta2 computed in
 * float64 first, as the op path's scalar tensors are. WGSL's / and sqrt are not required to be
 * correctly rounded (and a compiler may contract a * b + c), so results may differ from the
 * cpu loop in the last bits.
 */
import type { TensorInfo } from '@tensorflow/tfjs-core';
import { ADAM_UPDATE } from '../names.js';
import { gatKernel, type AnyGatKernelImpl, type GatKernelArgs } from '../register-kernel.js';
import type { GatWebGPUBackend } from './backend.js';
import { relabel, zeros } from './kernel-util.js';
import { f32, groupsFor, i32, runProgram, type Uniform } from './program.js';
import { LIGHT_WG } from './wgsl.js';

const GUARD = `
  if (index >= uniforms.numel) {
    return;
  }
  let gk = grad[index] + uniforms.weightDecay * param[index];`;

/** m' = beta1 m + (1 - beta1) g, g = grad + wd p (GUARD). */
const MOMENT1 = `
fn main(index : i32) {${GUARD}
  result[index] = m[index] * uniforms.beta1 + gk * uniforms.oneMinusBeta1;
}`;

/** v' = beta2 v + (1 - beta2) g^2. */
const MOMENT2 = `
fn main(index : i32) {${GUARD}
  result[index] = v[index] * uniforms.beta2 + (gk * gk) * uniforms.oneMinusBeta2;
}`;

/** p' = p - stepSize m' / (sqrt(v') / sqrtBc2 + eps), m' and v' from the old moments. */
const PARAM = `
fn main(index : i32) {${GUARD}
  let mk = m[index] * uniforms.beta1 + gk * uniforms.oneMinusBeta1;
  let vk = v[index] * uniforms.beta2 + (gk * gk) * uniforms.oneMinusBeta2;
  let denom = sqrt(vk) / uniforms.sqrtBc2 + uniforms.epsilon;
  result[index] = param[index] - (mk / denom) * uniforms.stepSize;
}`;

function adamUpdate(args: GatKernelArgs<typeof ADAM_UPDATE, GatWebGPUBackend>): [TensorInfo, TensorInfo, TensorInfo] {
  const { backend, attrs } = args;
  const param = args.inputs.param;
  const shape = param.shape;
  const n = shape.reduce((a, b) => a * b, 1);
  const flat: Record<string, TensorInfo> = {};
  for (const name of ['param', 'm', 'v', 'grad'] as const) {
    const t = args.inputs[name];
    if (t.dtype !== 'float32' || t.shape.reduce((a, b) => a * b, 1) !== n) {
      throw new Error(`${ADAM_UPDATE}: ${name} must be float32 of ${n} elements like param`);
    }
    flat[name] = relabel(t, [n]);
  }
  if (n === 0) return [zeros(backend, shape), zeros(backend, shape), zeros(backend, shape)];
  const { beta1, beta2 } = attrs;
  const uniforms: Uniform[] = [
    i32('numel', n),
    f32('beta1', beta1), f32('oneMinusBeta1', 1 - beta1),
    f32('beta2', beta2), f32('oneMinusBeta2', 1 - beta2),
    f32('epsilon', attrs.epsilon),
    f32('weightDecay', attrs.weightDecay ?? 0),
    f32('stepSize', attrs.stepSize),
    f32('sqrtBc2', attrs.sqrtBc2),
  ];
  const run = (key: string, names: string[], code: string) => relabel(runProgram(backend, {
    key,
    inputs: names.map((k) => [k, flat[k]!] as [string, TensorInfo]),
    outputShape: [n],
    workgroupSize: LIGHT_WG,
    workgroups: groupsFor(n, LIGHT_WG),
    uniforms,
    code,
  }), shape);
  return [
    run('adam_param', ['param', 'm', 'v', 'grad'], PARAM),
    run('adam_m', ['param', 'm', 'grad'], MOMENT1),
    run('adam_v', ['param', 'v', 'grad'], MOMENT2),
  ];
}

export function adamKernels(): Array<AnyGatKernelImpl<GatWebGPUBackend>> {
  return [gatKernel(ADAM_UPDATE, adamUpdate)];
}
