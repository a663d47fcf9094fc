/**
 * SOFTMAX stage on WebGPU: GatV2SegmentSoftmax (gradients.md eq. 2), GatV2SegmentSoftmaxGrad
 * ("Softmax stage") and GatV2SegmentMax (the shift the autograd twin subtracts), computing what
 * kernels/loops.ts softmaxForward / softmaxBackward / segmentMax compute.
 *
 * A destination's incoming edges are one CSR row. The softmax programs own whole rows: a light
 * row (at most the plan's threshold of edges) is done by one invocation per head, which walks the
 * row for the max, again for the sum, and again to write alpha; a heavy row (a hub) is done by
 * one workgroup, its invocations across the heads, whose row lanes stride through the row and are
 * combined in lane order (wgsl.ts heavyLanes).
 */
import type { TensorInfo } from '@tensorflow/tfjs-core';
import { SEGMENT_MAX, SEGMENT_SOFTMAX, SEGMENT_SOFTMAX_GRAD } from '../names.js';
import { gatKernel, type AnyGatKernelImpl } from '../register-kernel.js';
import type { GatWebGPUBackend } from './backend.js';
import { need, zeros, type KernelArgs } from './kernel-util.js';
import { i32 } from './program.js';
import { HEAVY_SEGMENT, runSegmented, segmentReduce } from './segment-reduce.js';
import { LANE_REDUCTIONS, WORKGROUP_TASK } from './wgsl.js';

/**
 * A per-row program in both forms. `body(loop, reduceSum, reduceMax)` writes the WGSL after the
 * row bounds `start`, `end` and the head `h` are known (`H` is uniforms.heads); `loop` opens a
 * loop over the row's positions `p` (in order, or strided over the workgroup).
 */
interface RowProgram {
  name: string;
  body: (loop: string, sum: (v: string) => string, max: (v: string) => string) => string;
}

function lightRowCode(r: RowProgram): string {
  return `
fn main(index : i32) {
  if (index >= uniforms.numSegs * uniforms.heads) {
    return;
  }
  let H = uniforms.heads;
  let i = index / H;
  let h = index - i * H;
  let start = segPtr[i];
  let end = segPtr[i + 1];
  if (end - start > uniforms.threshold) {
    return;
  }
  ${r.body('for (var p = start; p < end; p = p + 1)', (v) => v, (v) => v)}
}
`;
}

/** One workgroup per hub row: its invocations across the heads, row lanes striding the edges. */
function heavyRowCode(r: RowProgram): string {
  return `
${LANE_REDUCTIONS}
${WORKGROUP_TASK}
fn main(_index : i32) {
  let k = workgroupTask();
  if (k >= uniforms.numTasks) {
    return;
  }
  let H = uniforms.heads;
  let i = ${HEAVY_SEGMENT};
  let start = segPtr[i];
  let end = segPtr[i + 1];
  for (var h0 = 0; h0 < H; h0 = h0 + uniforms.colLanes) {
    let h = h0 + laneCol();
    // Lanes past the last head walk nothing, but take part in the reductions' barriers.
    let last = select(start, end, h < H);
    ${r.body('for (var p = start + laneRow(); p < last; p = p + uniforms.rowLanes)', (v) => `lanesSum(${v})`, (v) => `lanesMax(${v})`)}
  }
}
`;
}

function runRows(args: KernelArgs, r: RowProgram, inputs: Array<[string, TensorInfo]>, edgeShape: number[]): TensorInfo {
  const rowPtr = need(args, 'rowPtr');
  const [E, H] = edgeShape as [number, number];
  if (E === 0) return zeros(args.backend, edgeShape);
  return runSegmented(args.backend, {
    name: `rows_${r.name}`,
    segPtr: rowPtr,
    numSegments: rowPtr.shape[0]! - 1,
    cols: H,
    inputs,
    uniforms: [i32('heads', H)],
    outputShape: edgeShape,
    light: lightRowCode(r),
    heavy: heavyRowCode(r),
  });
}

/** gradients.md eq. 2: alpha = exp(e - m_i) / sum_row exp(e - m_i), m_i the row max. */
const SOFTMAX: RowProgram = {
  name: 'softmax',
  body: (loop, sum, max) => `
  var m = -uniforms.INFINITY;
  ${loop} {
    m = max(m, e[p * H + h]);
  }
  m = ${max('m')};
  var s = 0.0;
  ${loop} {
    s = s + exp(e[p * H + h] - m);
  }
  s = ${sum('s')};
  let inv = 1.0 / s;
  ${loop} {
    result[p * H + h] = exp(e[p * H + h] - m) * inv;
  }`,
};

/** gradients.md "Softmax stage": dE = alpha (dAlpha - sum_row alpha dAlpha). */
const SOFTMAX_GRAD: RowProgram = {
  name: 'softmaxgrad',
  body: (loop, sum) => `
  var dot = 0.0;
  ${loop} {
    dot = dot + alpha[p * H + h] * dAlpha[p * H + h];
  }
  dot = ${sum('dot')};
  ${loop} {
    result[p * H + h] = alpha[p * H + h] * (dAlpha[p * H + h] - dot);
  }`,
};

export function softmaxKernels(): Array<AnyGatKernelImpl<GatWebGPUBackend>> {
  return [
    gatKernel(SEGMENT_SOFTMAX, (args) => runRows(args, SOFTMAX, [['e', args.inputs.e]], args.inputs.e.shape)),
    gatKernel(SEGMENT_SOFTMAX_GRAD, (args) => {
      const { alpha, dAlpha } = args.inputs;
      return runRows(args, SOFTMAX_GRAD, [['alpha', alpha], ['dAlpha', dAlpha]], alpha.shape);
    }),
    gatKernel(SEGMENT_MAX, (args) => {
      // m[i,h] = max over row i of e[p,h], 0 for an empty row (loops.ts segmentMax).
      const { e, rowPtr } = args.inputs;
      const N = rowPtr.shape[0]! - 1, H = e.shape[1]!;
      if (e.shape[0] === 0) return zeros(args.backend, [N, H]);
      return segmentReduce(args.backend, {
        name: 'segmax', segPtr: rowPtr, numSegments: N, cols: H, op: 'max',
        inputs: [['e', e]], uniforms: [],
        term: `fn term(seg : i32, t : i32, col : i32) -> f32 {
  return e[t * uniforms.cols + col];
}`,
      });
    }),
  ];
}
