/**
 * The reduction most kernels are made of: out[s, col] = sum (or max) of term(s, t, col) over the
 * entries t of segment s, t in [segPtr[s], segPtr[s+1]), in that order; 0 for an empty segment.
 * A segment is a destination's incoming edges (CSR rows), a source's outgoing edges (srcPtr with
 * srcOrder), a segment id's rows, a sparse column, or all E edges (reduceAll).
 *
 * Light segments (at most plan.threshold entries) get one invocation per (segment, col) that walks
 * the segment in order, exactly as kernels/loops.ts does. Heavy segments get one workgroup per
 * (segment, col): HEAVY_WG invocations stride through the entries and reduce (wgsl.ts). Both
 * programs write disjoint elements of one output tensor, so no element is written twice and no
 * atomics are needed.
 */
import type { TensorInfo } from '@tensorflow/tfjs-core';
import type { GatWebGPUBackend } from './backend.js';
import { segmentPlan } from './plans.js';
import { groupsFor, i32, runProgram, type Uniform } from './program.js';
import { HEAVY_WG, LIGHT_WG, reductionKey, workgroupReductions, WORKGROUP_TASK } from './wgsl.js';

export interface SegmentReduceSpec {
  /** Shader key of this term; must identify the term's WGSL and its input names. */
  name: string;
  /** Segment pointers [S+1]. */
  segPtr: TensorInfo;
  numSegments: number;
  cols: number;
  op: 'sum' | 'max';
  /** Inputs the term reads (names must not be segPtr or heavy). */
  inputs: Array<[string, TensorInfo]>;
  /** WGSL defining `fn term(seg : i32, t : i32, col : i32) -> f32`. */
  term: string;
  uniforms: Uniform[];
}

function identity(op: 'sum' | 'max'): string {
  return op === 'sum' ? '0.0' : '-uniforms.INFINITY';
}

function combine(op: 'sum' | 'max', a: string, b: string): string {
  return op === 'sum' ? `${a} + ${b}` : `max(${a}, ${b})`;
}

function lightCode(spec: SegmentReduceSpec): string {
  return `
${spec.term}
fn main(index : i32) {
  if (index >= uniforms.numSegs * uniforms.cols) {
    return;
  }
  let seg = index / uniforms.cols;
  let col = index - seg * uniforms.cols;
  let start = segPtr[seg];
  let end = segPtr[seg + 1];
  if (end - start > uniforms.threshold) {
    return;
  }
  var acc = ${identity(spec.op)};
  for (var t = start; t < end; t = t + 1) {
    acc = ${combine(spec.op, 'acc', 'term(seg, t, col)')};
  }
  result[index] = select(acc, 0.0, end == start);
}
`;
}

function heavyCode(spec: SegmentReduceSpec, subgroups: boolean): string {
  const reduce = spec.op === 'sum' ? 'reduceSum' : 'reduceMax';
  return `
${workgroupReductions(subgroups)}
${WORKGROUP_TASK}
${spec.term}
fn main(index : i32) {
  let task = workgroupTask(index);
  if (task >= uniforms.numTasks) {
    return;
  }
  let k = task / uniforms.cols;
  let col = task - k * uniforms.cols;
  let seg = ${HEAVY_SEGMENT};
  let start = segPtr[seg];
  let end = segPtr[seg + 1];
  var acc = ${identity(spec.op)};
  for (var t = start + i32(localIndex); t < end; t = t + ${HEAVY_WG}) {
    acc = ${combine(spec.op, 'acc', 'term(seg, t, col)')};
  }
  let total = ${reduce}(acc);
  if (localIndex == 0u) {
    result[seg * uniforms.cols + col] = select(total, 0.0, end == start);
  }
}
`;
}

/** A computation over segments, as a light and a heavy program (see runSegmented). */
export interface SegmentedSpec {
  name: string;
  segPtr: TensorInfo;
  numSegments: number;
  cols: number;
  inputs: Array<[string, TensorInfo]>;
  uniforms: Uniform[];
  outputShape: number[];
  /** WGSL main of the light program (uniforms numSegs, cols, threshold). */
  light: string;
  /** WGSL main of the heavy program (uniforms numSegs, cols, numTasks, useList). */
  heavy: (subgroups: boolean) => string;
}

/**
 * The segment of heavy task k: the k-th listed heavy segment, or, when no plan could be made
 * (the pointers exist only on the GPU), the k-th segment. A uniform picks, so one pipeline
 * serves both.
 */
export const HEAVY_SEGMENT = 'select(k, heavy[k], uniforms.useList != 0)';

/**
 * Runs the light program (one invocation per (segment, col); it skips segments longer than the
 * plan's threshold) and, for the heavy segments, the heavy program (one workgroup per (segment,
 * col)) writing into the same output. Either is left out when it has nothing to do.
 */
export function runSegmented(backend: GatWebGPUBackend, spec: SegmentedSpec): TensorInfo {
  const subgroups = backend.useSubgroups;
  const base = [i32('numSegs', spec.numSegments), i32('cols', spec.cols), ...spec.uniforms];
  const { segPtr } = spec;
  const heavy = (list: TensorInfo | null, tasks: number, output?: TensorInfo) =>
    runProgram(backend, {
      key: `${spec.name}_heavy_${reductionKey(subgroups)}`,
      // Without a list the pointer array is bound in its place and never read.
      inputs: [['segPtr', segPtr], ['heavy', list ?? segPtr], ...spec.inputs],
      outputShape: spec.outputShape,
      workgroupSize: HEAVY_WG,
      workgroups: tasks,
      uniforms: [...base, i32('numTasks', tasks), i32('useList', list ? 1 : 0)],
      code: spec.heavy(subgroups),
      output,
    });

  const plan = segmentPlan(backend, segPtr);
  if (plan.kind === 'all-heavy') return heavy(null, spec.numSegments * spec.cols);
  if (plan.numHeavy === spec.numSegments) return heavy(plan.heavy, plan.numHeavy * spec.cols);
  const out = runProgram(backend, {
    key: `${spec.name}_light`,
    inputs: [['segPtr', segPtr], ...spec.inputs],
    outputShape: spec.outputShape,
    workgroupSize: LIGHT_WG,
    workgroups: groupsFor(spec.numSegments * spec.cols, LIGHT_WG),
    uniforms: [...base, i32('threshold', plan.threshold)],
    code: spec.light,
  });
  if (plan.heavy) heavy(plan.heavy, plan.numHeavy * spec.cols, out);
  return out;
}

/** Sums (or maxes) over one segment holding all `total` entries: out [1, cols]. */
export function reduceAll(backend: GatWebGPUBackend, spec: Omit<SegmentReduceSpec, 'segPtr' | 'numSegments'>, total: number): TensorInfo {
  // A one-segment pointer array, made for this call (and its plan freed with it).
  const segPtr = backend.indexTensor(Int32Array.from([0, total]));
  try {
    return segmentReduce(backend, { ...spec, segPtr, numSegments: 1 });
  } finally {
    backend.disposeData(segPtr.dataId);
  }
}

export function segmentReduce(backend: GatWebGPUBackend, spec: SegmentReduceSpec): TensorInfo {
  return runSegmented(backend, {
    name: `seg_${spec.name}_${spec.op}`,
    segPtr: spec.segPtr,
    numSegments: spec.numSegments,
    cols: spec.cols,
    inputs: spec.inputs,
    uniforms: spec.uniforms,
    outputShape: [spec.numSegments, spec.cols],
    light: lightCode(spec),
    heavy: (subgroups) => heavyCode(spec, subgroups),
  });
}
