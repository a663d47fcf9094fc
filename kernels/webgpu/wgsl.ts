/**
 * WGSL pieces shared by the programs: workgroup reductions and the workgroup-per-task header.
 *
 * Determinism: no program uses atomics. Every output element is written by exactly one
 * invocation (or one workgroup), and every sum runs in an order fixed by the shapes alone: a
 * thread walks its segment in CSR order; a hub's workgroup splits its invocations into column
 * lanes and row lanes (heavyLanes), each row lane strides through the segment, then the row
 * lanes' partials are added in lane order; sumAll's second pass strides over chunks and combines
 * the partials in a fixed order (with subgroups: subgroupAdd per subgroup, whose order the
 * hardware fixes for a given device, then the subgroup partials in order). The same inputs give
 * the same bits on each run.
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
  // The barrier before the subgroup op: callers reach it after loops whose trip counts differ per
  // invocation; on GPUs that schedule invocations independently (NVIDIA since Volta, 32-lane
  // subgroups) a subgroup op there may run before all lanes have left the loop, and would then
  // combine only the lanes that have. After a barrier in uniform control flow every lane is there.
  const body = (name: string, op: string, combine: (a: string, b: string) => string) => subgroups
    ? `
fn ${name}(v : f32) -> f32 {
  workgroupBarrier();
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
 * `workgroupTask()`: the flat index of this workgroup, as a uniform value (barriers may follow a
 * branch on it). It is computed in u32 from workgroup_id, not from TF.js's flat invocation index,
 * which multiplies it by the workgroup size in 32 bits and wraps past 2^31 invocations (a negative
 * task would pass a `task >= numTasks` test). runProgram refuses a dispatch of 2^31 workgroups or
 * more, so the i32 returned is exact.
 */
export const WORKGROUP_TASK = `
var<workgroup> gatTask : u32;
fn workgroupTask() -> i32 {
  if (localIndex == 0u) {
    gatTask = (workgroupId.z * numWorkgroups.y + workgroupId.y) * numWorkgroups.x + workgroupId.x;
  }
  return i32(workgroupUniformLoad(&gatTask));
}
`;

/** Column lanes of a hub's workgroup: at most this many columns at a time, so that at least
 * HEAVY_WG / MAX_COL_LANES row lanes share each segment. */
export const MAX_COL_LANES = 64;

/**
 * How a hub's workgroup splits its HEAVY_WG invocations for `cols` columns: colLanes neighbouring
 * invocations take neighbouring columns (coalesced reads of one row), and HEAVY_WG / colLanes row
 * lanes stride through the segment's entries; wider rows are done colLanes columns at a time.
 */
export function heavyLanes(cols: number): { colLanes: number; rowLanes: number } {
  let colLanes = 1;
  while (colLanes < cols && colLanes < MAX_COL_LANES) colLanes *= 2;
  return { colLanes, rowLanes: HEAVY_WG / colLanes };
}

/**
 * WGSL for a hub's workgroup (uniforms colLanes, rowLanes; see heavyLanes): `laneCol` and
 * `laneRow` of this invocation, and `lanesSum(v)` / `lanesMax(v)`, the sum (max) of v over the row
 * lanes of this invocation's column lane, added in row-lane order; every invocation of the column
 * lane gets it. Call them in uniform control flow only.
 */
export const LANE_REDUCTIONS = `
var<workgroup> gatLanes : array<f32, ${HEAVY_WG}>;
var<workgroup> gatLaneTotals : array<f32, ${MAX_COL_LANES}>;
fn laneCol() -> i32 {
  return i32(localIndex) % uniforms.colLanes;
}
fn laneRow() -> i32 {
  return i32(localIndex) / uniforms.colLanes;
}
${['Sum', 'Max'].map((op) => `
fn lanes${op}(v : f32) -> f32 {
  gatLanes[localIndex] = v;
  workgroupBarrier();
  let cl = laneCol();
  if (laneRow() == 0) {
    var t = gatLanes[cl];
    for (var r = 1; r < uniforms.rowLanes; r = r + 1) {
      t = ${op === 'Sum' ? 't + gatLanes[r * uniforms.colLanes + cl]' : 'max(t, gatLanes[r * uniforms.colLanes + cl])'};
    }
    gatLaneTotals[cl] = t;
  }
  workgroupBarrier();
  let total = gatLaneTotals[cl];
  // Before a next call overwrites the totals.
  workgroupBarrier();
  return total;
}`).join('\n')}
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
