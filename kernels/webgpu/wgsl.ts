/**
 * WGSL pieces shared by the programs: workgroup reductions and the workgroup-per-task header.
 *
 * Determinism: no program uses atomics. Every output element is written by exactly one
 * invocation (or one workgroup), and every sum runs in an order fixed by the shapes alone: a
 * thread walks its segment in CSR order; a workgroup's invocations each stride through the
 * segment, then their partials are combined in a fixed order (with subgroups: subgroupAdd per
 * subgroup, whose order the hardware fixes for a given device, then the subgroup partials in
 * order). The same inputs give the same bits on each run.
 */
import { SUBGROUP_PRIVATES } from './device.js';

/** Invocations per workgroup of the thread-per-item programs. */
export const LIGHT_WG = 64;
/** Invocations per workgroup of the workgroup-per-segment programs (a power of two). */
export const HEAVY_WG = 256;

/**
 * `reduceSum(v)` and `reduceMax(v)` over the HEAVY_WG invocations of a workgroup; every invocation
 * gets the (uniform) result. Call them in uniform control flow only.
 */
export function workgroupReductions(subgroups: boolean): string {
  const shared = `
var<workgroup> gatRed : array<f32, ${HEAVY_WG}>;
var<workgroup> gatTotal : f32;
`;
  // Without subgroups every invocation leaves its value in shared memory and invocation 0 adds
  // them in index order. A log-depth tree would save a few microseconds per hub on a GPU, but
  // lavapipe takes 2-3 times longer to compile it (LLVM splits the shader at every barrier),
  // and only devices without subgroups, rare among GPUs, run this path.
  // With subgroups: subgroupAdd/subgroupMax per subgroup, then invocation 0 combines the numSg
  // partials in subgroup order.
  const body = (name: string, op: string, combine: (a: string, b: string) => string) => subgroups
    ? `
fn ${name}(v : f32) -> f32 {
  let part = ${op}(v);
  if (sgLane == 0u) {
    gatRed[sgId] = part;
  }
  workgroupBarrier();
  if (localIndex == 0u) {
    var t = gatRed[0];
    for (var k = 1u; k < numSg; k = k + 1u) {
      t = ${combine('t', 'gatRed[k]')};
    }
    gatTotal = t;
  }
  let r = workgroupUniformLoad(&gatTotal);
  workgroupBarrier();
  return r;
}
`
    : `
fn ${name}(v : f32) -> f32 {
  gatRed[localIndex] = v;
  workgroupBarrier();
  if (localIndex == 0u) {
    var t = gatRed[0];
    for (var k = 1u; k < ${HEAVY_WG}u; k = k + 1u) {
      t = ${combine('t', 'gatRed[k]')};
    }
    gatTotal = t;
  }
  let r = workgroupUniformLoad(&gatTotal);
  workgroupBarrier();
  return r;
}
`;
  const sum = (a: string, b: string) => `${a} + ${b}`;
  const max = (a: string, b: string) => `max(${a}, ${b})`;
  return (subgroups ? SUBGROUP_PRIVATES : '') + shared
    + body('reduceSum', 'subgroupAdd', sum) + body('reduceMax', 'subgroupMax', max);
}

/**
 * `workgroupTask(index)`: the index of this workgroup, as a uniform value (barriers may follow a
 * branch on it). `index` is TF.js's flat invocation index.
 */
export const WORKGROUP_TASK = `
var<workgroup> gatTask : i32;
fn workgroupTask(index : i32) -> i32 {
  if (localIndex == 0u) {
    gatTask = index / ${HEAVY_WG};
  }
  return workgroupUniformLoad(&gatTask);
}
`;

/** LeakyReLU and its derivative s_k (gradients.md "Score stage"), slope from uniforms. */
export const LEAKY = `
fn leaky(z : f32) -> f32 {
  return select(uniforms.slope * z, z, z > 0.0);
}
fn leakyGrad(z : f32) -> f32 {
  return select(uniforms.slope, 1.0, z > 0.0);
}
`;

/** Key suffix for the reduction flavour. */
export function reductionKey(subgroups: boolean): string {
  return subgroups ? 'sg' : 'shared';
}

/**
 * The start of a program with one invocation per (edge p, head h): io and jo are where head h's
 * channels start in the rows of p's destination and source, and C and HC count array elements
 * (channels, or vec4s of four channels when `vec4`).
 */
export function edgeHeadPrologue(vec4: boolean): string {
  return `
  if (index >= uniforms.numEdges * uniforms.heads) {
    return;
  }
  let p = index / uniforms.heads;
  let h = index - p * uniforms.heads;
  let C = uniforms.channels${vec4 ? ' / 4' : ''};
  let HC = uniforms.heads * C;
  let io = csrDst[p] * HC + h * C;
  let jo = csrSrc[p] * HC + h * C;`;
}

/** `acc = acc + w`, for a vec4 w one component after the other (channel order, as the f32 loop). */
export function addInOrder(acc: string, w: string, vec4: boolean): string {
  const parts = vec4 ? ['x', 'y', 'z', 'w'].map((k) => `${w}.${k}`) : [w];
  return parts.map((v) => `    ${acc} = ${acc} + ${v};`).join('\n');
}
