/**
 * The reduction most kernels are made of: out[s, col] = sum (or max) of term(s, t, col) over the
 * entries t of segment s, t in [segPtr[s], segPtr[s+1]), in that order; 0 for an empty segment.
 * A segment is a destination's incoming edges (CSR rows), a source's outgoing edges (srcPtr with
 * srcOrder), a segment id's rows or a sparse column. A sum over all E edges is sumAll's (two
 * passes over fixed-size chunks: a single segment would leave most of a GPU idle).
 *
 * Light segments (at most plan.threshold entries) get one invocation per (segment, col) that walks
 * the segment in order, exactly as kernels/loops.ts does. Heavy segments get one workgroup each:
 * its HEAVY_WG invocations are laid across the columns and stride through the entries in row
 * lanes, then the lanes are combined in order (wgsl.ts heavyLanes, LANE_REDUCTIONS). Both
 * programs write disjoint elements of one output tensor, so no element is written twice and no
 * atomics are needed.
 */
import type { TensorInfo } from '@tensorflow/tfjs-core';
import type { GatWebGPUBackend } from './backend.js';
import { relabel } from './kernel-util.js';
import { segmentPlan } from './plans.js';
import { groupsFor, i32, runProgram, type Uniform } from './program.js';
import { HEAVY_WG, heavyLanes, LANE_REDUCTIONS, LIGHT_WG, reductionKey, workgroupReductions, WORKGROUP_TASK } from './wgsl.js';

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
  /** op 'sum' only: [numSegments, cols] added to each segment's sum as it is stored (a gradient
   * that has another share to add, without a separate elementwise pass and tensor). */
  addend?: TensorInfo;
}

/** The WGSL that adds the addend at flat output index `at` (nothing without one). */
function plusAddend(spec: SegmentReduceSpec, at: string): string {
  return spec.addend ? ` + addend[${at}]` : '';
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
  result[index] = select(acc, 0.0, end == start)${plusAddend(spec, 'index')};
}
`;
}

/**
 * One workgroup per heavy segment: colLanes invocations on neighbouring columns, rowLanes row
 * lanes striding through the entries (wgsl.ts heavyLanes), the row lanes combined in lane order;
 * rows wider than colLanes are done colLanes columns at a time. Lanes past the last column walk
 * nothing and write nothing, but take part in every barrier.
 */
function heavyCode(spec: SegmentReduceSpec): string {
  const reduce = spec.op === 'sum' ? 'lanesSum' : 'lanesMax';
  return `
${LANE_REDUCTIONS}
${WORKGROUP_TASK}
${spec.term}
fn main(_index : i32) {
  let k = workgroupTask();
  if (k >= uniforms.numTasks) {
    return;
  }
  let seg = ${HEAVY_SEGMENT};
  let start = segPtr[seg];
  let end = segPtr[seg + 1];
  for (var c0 = 0; c0 < uniforms.cols; c0 = c0 + uniforms.colLanes) {
    let col = c0 + laneCol();
    let last = select(start, end, col < uniforms.cols);
    var acc = ${identity(spec.op)};
    for (var t = start + laneRow(); t < last; t = t + uniforms.rowLanes) {
      acc = ${combine(spec.op, 'acc', 'term(seg, t, col)')};
    }
    let total = ${reduce}(acc);
    if (laneRow() == 0 && col < uniforms.cols) {
      result[seg * uniforms.cols + col] = select(total, 0.0, end == start)${plusAddend(spec, 'seg * uniforms.cols + col')};
    }
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
  /** WGSL `fn main(_index : i32)` of the heavy program (one workgroup per heavy segment, the index
   * unused; uniforms numSegs, cols, numTasks, useList, colLanes, rowLanes: wgsl.ts heavyLanes). */
  heavy: string;
}

/**
 * The segment of heavy task k: the k-th listed heavy segment, or, when no plan could be made
 * (the pointers exist only on the GPU), the k-th segment. A uniform picks, so one pipeline
 * serves both.
 */
export const HEAVY_SEGMENT = 'select(k, heavy[k], uniforms.useList != 0)';

/**
 * Runs the light program (one invocation per (segment, col); it skips segments longer than the
 * plan's threshold) and, for the heavy segments, the heavy program (one workgroup per segment, its
 * invocations across the columns) writing into the same output. Either is left out when it has
 * nothing to do.
 */
export function runSegmented(backend: GatWebGPUBackend, spec: SegmentedSpec): TensorInfo {
  const base = [i32('numSegs', spec.numSegments), i32('cols', spec.cols), ...spec.uniforms];
  const { segPtr } = spec;
  const lanes = heavyLanes(spec.cols);
  const heavy = (list: TensorInfo | null, segments: number, output?: TensorInfo) =>
    runProgram(backend, {
      key: `${spec.name}_heavy`,
      // Without a list the pointer array is bound in its place and never read.
      inputs: [['segPtr', segPtr], ['heavy', list ?? segPtr], ...spec.inputs],
      outputShape: spec.outputShape,
      workgroupSize: HEAVY_WG,
      workgroups: segments,
      indexing: 'workgroup',
      uniforms: [...base, i32('numTasks', segments), i32('useList', list ? 1 : 0), i32('colLanes', lanes.colLanes), i32('rowLanes', lanes.rowLanes)],
      code: spec.heavy,
      output,
    });

  const plan = segmentPlan(backend, segPtr);
  if (plan.kind === 'all-heavy') return heavy(null, spec.numSegments);
  if (plan.numHeavy === spec.numSegments) return heavy(plan.heavy, plan.numHeavy);
  const out = runProgram(backend, {
    key: `${spec.name}_light`,
    inputs: [['segPtr', segPtr], ...spec.inputs],
    outputShape: spec.outputShape,
    workgroupSize: LIGHT_WG,
    workgroups: groupsFor(spec.numSegments * spec.cols, LIGHT_WG),
    uniforms: [...base, i32('threshold', plan.threshold)],
    code: spec.light,
  });
  if (plan.heavy) heavy(plan.heavy, plan.numHeavy, out);
  return out;
}

/** A sum over all `total` entries (see sumAll). */
export interface SumAllSpec {
  /** Shader key of this term; must identify the term's WGSL and its input names. */
  name: string;
  cols: number;
  /** Inputs the term reads (names must not be partials). */
  inputs: Array<[string, TensorInfo]>;
  /** WGSL defining `fn term(t : i32, col : i32) -> f32`. */
  term: string;
  uniforms: Uniform[];
}

/**
 * Entries per chunk of sumAll's first pass. 128 keeps (chunks x cols) invocations in the millions
 * on an ogbn-arxiv-sized graph (E ~ 1.3M) and the second pass short (E / 128 partials a column).
 */
export const SUM_CHUNK = 128;

/**
 * out[col] = sum over t in [0, total) of term(t, col), in two passes. One segment of all `total`
 * entries through segmentReduce would give the heavy program only `cols` workgroups (a few
 * hundred: a sliver of a large GPU), each striding through every entry, with neighbouring
 * invocations reading different rows (uncoalesced). Instead:
 *   pass 1: partials[col, chunk] = sum of term(t, col) over the SUM_CHUNK consecutive entries of
 *           chunk, in order: one invocation per (chunk, col), col varying fastest, so neighbours
 *           read neighbouring columns of the same row;
 *   pass 2: out[col] = sum of partials[col, *]: one workgroup per column, reading a contiguous
 *           row of partials (hence the transposed layout), reduced as the heavy programs do.
 * Both orders are fixed by `total` alone: deterministic, no atomics. With a single chunk pass 1's
 * output is the answer (the order of kernels/loops.ts) and pass 2 is skipped. total > 0.
 */
export function sumAll(backend: GatWebGPUBackend, spec: SumAllSpec, total: number): TensorInfo {
  const numChunks = Math.ceil(total / SUM_CHUNK);
  const sizes = [i32('total', total), i32('chunk', SUM_CHUNK), i32('numChunks', numChunks), i32('cols', spec.cols)];
  const partials = runProgram(backend, {
    key: `sumall_${spec.name}_chunks`,
    inputs: spec.inputs,
    outputShape: [spec.cols, numChunks],
    workgroupSize: LIGHT_WG,
    workgroups: groupsFor(numChunks * spec.cols, LIGHT_WG),
    uniforms: [...sizes, ...spec.uniforms],
    code: `
${spec.term}
fn main(index : i32) {
  if (index >= uniforms.numChunks * uniforms.cols) {
    return;
  }
  let chunk = index / uniforms.cols;
  let col = index - chunk * uniforms.cols;
  let start = chunk * uniforms.chunk;
  let end = min(start + uniforms.chunk, uniforms.total);
  var acc = 0.0;
  for (var t = start; t < end; t = t + 1) {
    acc = acc + term(t, col);
  }
  result[col * uniforms.numChunks + chunk] = acc;
}
`,
  });
  if (numChunks === 1) return relabel(partials, [spec.cols]);
  const subgroups = backend.useSubgroups;
  try {
    // Shared by every sumAll: it reads only the partials.
    return runProgram(backend, {
      key: `sumall_partials_${reductionKey(subgroups)}`,
      inputs: [['partials', partials]],
      outputShape: [spec.cols],
      workgroupSize: HEAVY_WG,
      workgroups: spec.cols,
      indexing: 'workgroup',
      uniforms: sizes,
      code: `
${workgroupReductions(subgroups)}
${WORKGROUP_TASK}
fn main(_index : i32) {
  let col = workgroupTask();
  if (col >= uniforms.cols) {
    return;
  }
  let row = col * uniforms.numChunks;
  var acc = 0.0;
  for (var c = i32(localIndex); c < uniforms.numChunks; c = c + ${HEAVY_WG}) {
    acc = acc + partials[row + c];
  }
  let total = reduceSum(acc);
  if (localIndex == 0u) {
    result[col] = total;
  }
}
`,
    });
  } finally {
    // Released once the queued programs have run (TF.js defers it while they are pending).
    backend.disposeData(partials.dataId);
  }
}

export function segmentReduce(backend: GatWebGPUBackend, spec: SegmentReduceSpec): TensorInfo {
  if (spec.addend && (spec.op !== 'sum' || spec.addend.shape.reduce((a, b) => a * b, 1) !== spec.numSegments * spec.cols)) {
    throw new Error(`gatv2 webgpu: segment reduce ${spec.name}: an addend needs op sum and ${spec.numSegments} x ${spec.cols} elements`);
  }
  return runSegmented(backend, {
    name: `seg_${spec.name}_${spec.op}${spec.addend ? '_add' : ''}`,
    segPtr: spec.segPtr,
    numSegments: spec.numSegments,
    cols: spec.cols,
    inputs: spec.addend ? [...spec.inputs, ['addend', spec.addend]] : spec.inputs,
    uniforms: spec.uniforms,
    outputShape: [spec.numSegments, spec.cols],
    light: lightCode(spec),
    heavy: heavyCode(spec),
  });
}
