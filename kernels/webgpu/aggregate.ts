/**
 * AGGREGATION stage on WebGPU: GatV2Aggregate (gradients.md eq. 3) and GatV2AggregateGrad
 * ("Aggregation stage"), computing what kernels/loops.ts aggregateForward / aggregateBackward do.
 *
 *   out[i, col]  = sum over i's incoming edges of alpha_k xl[j, col]   segment reduce over rowPtr
 *   dAlpha[k, h] = < G_i, xl[j] > over head h's channels               one invocation per (edge, head)
 *   dxl[j, col]  = sum over j's outgoing edges of alpha_k G_i[col]     segment reduce over srcPtr
 */
import type { TensorInfo } from '@tensorflow/tfjs-core';
import { GAT_AGGREGATE, GAT_AGGREGATE_GRAD } from '../names.js';
import { gatKernel, type AnyGatKernelImpl, type GatKernelArgs } from '../register-kernel.js';
import type { GatWebGPUBackend } from './backend.js';
import { headShape, headUniforms, zeros } from './kernel-util.js';
import { groupsFor, i32, runProgram } from './program.js';
import { segmentReduce } from './segment-reduce.js';
import { addInOrder, edgeHeadPrologue, LIGHT_WG } from './wgsl.js';

function aggregateForward(args: GatKernelArgs<typeof GAT_AGGREGATE, GatWebGPUBackend>): TensorInfo {
  const alpha = args.inputs.alpha, xl = args.inputs.xl, rowPtr = args.inputs.rowPtr, csrSrc = args.inputs.csrSrc;
  const s = headShape(args.attrs);
  const N = rowPtr.shape[0]! - 1, HC = s.H * s.C;
  if (csrSrc.shape[0] === 0) return zeros(args.backend, [N, HC]);
  return segmentReduce(args.backend, {
    name: 'aggregate', segPtr: rowPtr, numSegments: N, cols: HC, op: 'sum',
    inputs: [['csrSrc', csrSrc], ['alpha', alpha], ['xl', xl]],
    uniforms: headUniforms(s),
    term: `fn term(seg : i32, t : i32, col : i32) -> f32 {
  return alpha[t * uniforms.heads + col / uniforms.channels] * xl[csrSrc[t] * uniforms.cols + col];
}`,
  });
}

function aggregateBackward(args: GatKernelArgs<typeof GAT_AGGREGATE_GRAD, GatWebGPUBackend>): [TensorInfo, TensorInfo] {
  const { backend } = args;
  const alpha = args.inputs.alpha, xl = args.inputs.xl, dOut = args.inputs.dOut;
  const csrSrc = args.inputs.csrSrc, csrDst = args.inputs.csrDst;
  const srcPtr = args.inputs.srcPtr, srcOrder = args.inputs.srcOrder;
  const s = headShape(args.attrs);
  const N = xl.shape[0]!, HC = s.H * s.C, E = csrSrc.shape[0]!;
  if (E === 0) return [zeros(backend, [0, s.H]), zeros(backend, [N, HC])];
  // A_k = <G_i, xl[j]> per head: C products summed in channel order (rows read as vec4 where C
  // is a multiple of 4: a quarter of the loads, as in score.ts).
  const v4 = s.C % 4 === 0;
  const dAlpha = runProgram(backend, {
    key: v4 ? 'aggregategrad_dalpha_v4' : 'aggregategrad_dalpha',
    inputs: [['csrSrc', csrSrc], ['csrDst', csrDst], ['xl', xl], ['dOut', dOut]],
    components: v4 ? [1, 1, 4, 4] : undefined,
    outputShape: [E, s.H],
    workgroupSize: LIGHT_WG,
    workgroups: groupsFor(E * s.H, LIGHT_WG),
    uniforms: [i32('numEdges', E), ...headUniforms(s)],
    code: `
fn main(index : i32) {${edgeHeadPrologue(v4)}
  var dot = 0.0;
  for (var c = 0; c < C; c = c + 1) {
    let w = dOut[io + c] * xl[jo + c];
${addInOrder('dot', 'w', v4)}
  }
  result[index] = dot;
}`,
  });
  // dL/dxl[j] = sum over j's outgoing edges (srcOrder) of alpha_k G_i: no atomics.
  const dxl = segmentReduce(backend, {
    name: 'aggregategrad_dxl', segPtr: srcPtr, numSegments: N, cols: HC, op: 'sum',
    inputs: [['srcOrder', srcOrder], ['csrDst', csrDst], ['alpha', alpha], ['dOut', dOut]],
    uniforms: headUniforms(s),
    term: `fn term(seg : i32, t : i32, col : i32) -> f32 {
  let p = srcOrder[t];
  return alpha[p * uniforms.heads + col / uniforms.channels] * dOut[csrDst[p] * uniforms.cols + col];
}`,
  });
  return [dAlpha, dxl];
}

export function aggregateKernels(): Array<AnyGatKernelImpl<GatWebGPUBackend>> {
  return [gatKernel(GAT_AGGREGATE, aggregateForward), gatKernel(GAT_AGGREGATE_GRAD, aggregateBackward)];
}
