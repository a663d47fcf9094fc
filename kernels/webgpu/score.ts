/**
 * SCORE stage on WebGPU: GatV2Score (gradients.md eq. 1) and GatV2ScoreGrad ("Score stage"),
 * computing what kernels/loops.ts scoreForward / scoreBackward compute.
 *
 * The backward never stores the E x H x C pre-activations: each pass recomputes z from xl, xr
 * (and edgeProj). Its four outputs come from four programs (a program has one output):
 *   dxr[i]  = sum over i's incoming edges of delta_k    segment reduce over rowPtr
 *   dxl[j]  = sum over j's outgoing edges of delta_k    segment reduce over srcPtr / srcOrder
 *   dAtt[c] = sum over all edges of dE_k u_k[c]         two passes over chunks of edges (sumAll)
 *   dEdgeProj[k] = delta_k                              one invocation per element
 * Sums into source rows walk the edges grouped by source (srcOrder), so no atomics are needed.
 */
import type { TensorInfo } from '@tensorflow/tfjs-core';
import { GAT_SCORE, GAT_SCORE_GRAD, type ScoreGradOutputs } from '../names.js';
import { gatKernel, type AnyGatKernelImpl, type GatKernelArgs } from '../register-kernel.js';
import type { GatWebGPUBackend } from './backend.js';
import { headShape, headUniforms, relabel, zeros } from './kernel-util.js';
import { groupsFor, i32, runProgram, type Uniform } from './program.js';
import { segmentReduce, sumAll } from './segment-reduce.js';
import { addInOrder, edgeHeadPrologue, LEAKY, LIGHT_WG } from './wgsl.js';

/**
 * z_k[col] = xr[i] + xl[j] (+ edgeProj[k]), and delta_k[col] = dE_k a[col] s_k[col]. Without edge
 * features, uniforms.hasEdge is 0 and another input is bound as edgeProj (never read): one
 * pipeline serves both cases (lavapipe compiles each pipeline for a good fraction of a second).
 * `edgeBound` false: no edgeProj binding at all, for the dxl pass with dxlAdd, whose binding takes
 * that slot (REQUIRED_STORAGE_BUFFERS).
 */
function zAtCode(edgeBound: boolean): string {
  return `${LEAKY}
fn zAt(p : i32, i : i32, j : i32, col : i32) -> f32 {
  let HC = uniforms.heads * uniforms.channels;
  var z = xr[i * HC + col] + xl[j * HC + col];${edgeBound ? `
  if (uniforms.hasEdge != 0) {
    z = z + edgeProj[p * HC + col];
  }` : ''}
  return z;
}
`;
}
const Z_AT = zAtCode(true);
const deltaCode = (edgeBound: boolean) => `${zAtCode(edgeBound)}
fn deltaAt(p : i32, i : i32, j : i32, col : i32) -> f32 {
  let de = dE[p * uniforms.heads + col / uniforms.channels];
  // loops.ts skips edges with dE = 0 (so 0 * inf never makes a NaN there either).
  if (de == 0.0) {
    return 0.0;
  }
  return de * att[col] * leakyGrad(zAt(p, i, j, col));
}
`;
const Z_AND_DELTA = deltaCode(true);

/** Inputs edgeProj (or a stand-in) and uniform hasEdge. */
function edgeInput(ep: TensorInfo | undefined, standIn: TensorInfo): { input: [string, TensorInfo]; uniform: Uniform } {
  return { input: ['edgeProj', ep ?? standIn], uniform: i32('hasEdge', ep ? 1 : 0) };
}

function scoreForward(args: GatKernelArgs<typeof GAT_SCORE, GatWebGPUBackend>): TensorInfo {
  const { backend } = args;
  const xl = args.inputs.xl, xr = args.inputs.xr, att = args.inputs.att;
  const csrSrc = args.inputs.csrSrc, csrDst = args.inputs.csrDst;
  const ep = args.inputs.edgeProj;
  const s = headShape(args.attrs);
  const E = csrSrc.shape[0]!;
  if (E === 0) return zeros(backend, [0, s.H]);
  const edge = edgeInput(ep, xl);
  const inputs: Array<[string, TensorInfo]> = [['xl', xl], ['xr', xr], ['att', att], ['csrSrc', csrSrc], ['csrDst', csrDst], edge.input];
  const v4 = s.C % 4 === 0;
  return runProgram(backend, {
    key: v4 ? 'score_v4' : 'score',
    inputs,
    // The node and edge rows as vec4 where C allows: one invocation reads its head's C channels.
    components: v4 ? [4, 4, 4, 1, 1, 4] : undefined,
    outputShape: [E, s.H],
    workgroupSize: LIGHT_WG,
    workgroups: groupsFor(E * s.H, LIGHT_WG),
    uniforms: [i32('numEdges', E), ...headUniforms(s), edge.uniform],
    code: scoreCode(v4),
  });
}

/**
 * gradients.md eq. 1: one invocation per (edge, head) sums its C channels in order. With `vec4`
 * (C a multiple of 4) the rows are read four channels at a time: a quarter of the loads, each of
 * 16 bytes (an invocation's channels are contiguous, but neighbouring invocations read other rows,
 * so loads do not coalesce; wider loads are what helps); the products are still added one by one.
 */
function scoreCode(vec4: boolean): string {
  const t = vec4 ? 'vec4<f32>' : 'f32';
  return `
fn leakyN(z : ${t}) -> ${t} {
  return select(uniforms.slope * z, z, z > ${t}(0.0));
}
fn main(index : i32) {${edgeHeadPrologue(vec4)}
  var s = 0.0;
  for (var c = 0; c < C; c = c + 1) {
    var z = xr[io + c] + xl[jo + c];
    if (uniforms.hasEdge != 0) {
      z = z + edgeProj[p * HC + h * C + c];
    }
    let w = att[h * C + c] * leakyN(z);
${addInOrder('s', 'w', vec4)}
  }
  result[index] = s;
}
`;
}

/** a + b elementwise (dxl's own sum, then dxlAdd: the order names.ts GAT_SCORE_GRAD fixes). */
function addTensors(backend: GatWebGPUBackend, a: TensorInfo, b: TensorInfo): TensorInfo {
  const n = a.shape.reduce((x, y) => x * y, 1);
  return runProgram(backend, {
    key: 'add_same_shape',
    inputs: [['a', relabel(a, [n])], ['b', relabel(b, [n])]],
    outputShape: a.shape,
    workgroupSize: LIGHT_WG,
    workgroups: groupsFor(n, LIGHT_WG),
    uniforms: [i32('size', n)],
    code: `
fn main(index : i32) {
  if (index >= uniforms.size) {
    return;
  }
  result[index] = a[index] + b[index];
}`,
  });
}

/**
 * dL/dxl[j] = sum of delta_k over j's outgoing edges, in srcOrder, plus dxlAdd[j] (the other
 * share). Without edge features dxlAdd is bound in place of the edge input, as this pass binds the
 * most buffers of any (REQUIRED_STORAGE_BUFFERS); with both, dxlAdd is added by a second program.
 */
function scoreGradDxl(
  args: GatKernelArgs<typeof GAT_SCORE_GRAD, GatWebGPUBackend>, common: Array<[string, TensorInfo]>, uniforms: Uniform[],
): TensorInfo {
  const { backend } = args;
  const { srcPtr, srcOrder, csrDst, edgeProj: ep, dxlAdd, xl } = args.inputs;
  const bound = dxlAdd && !ep ? dxlAdd : undefined;
  const dxl = segmentReduce(backend, {
    name: 'scoregrad_dxl',
    segPtr: srcPtr, numSegments: xl.shape[0]!, cols: xl.shape[1]!, op: 'sum',
    ...(bound ? { addend: bound } : {}),
    inputs: [['srcOrder', srcOrder], ['csrDst', csrDst], ...(bound ? common.slice(0, -1) : common)],
    uniforms,
    term: `${bound ? deltaCode(false) : Z_AND_DELTA}
fn term(seg : i32, t : i32, col : i32) -> f32 {
  let p = srcOrder[t];
  return deltaAt(p, csrDst[p], seg, col);
}`,
  });
  if (!dxlAdd || bound) return dxl;
  const sum = addTensors(backend, dxl, dxlAdd);
  backend.disposeData(dxl.dataId);
  return sum;
}

function scoreBackward(args: GatKernelArgs<typeof GAT_SCORE_GRAD, GatWebGPUBackend>): ScoreGradOutputs<TensorInfo> {
  const { backend } = args;
  const xl = args.inputs.xl, xr = args.inputs.xr, att = args.inputs.att, dE = args.inputs.dE;
  const rowPtr = args.inputs.rowPtr, csrSrc = args.inputs.csrSrc, csrDst = args.inputs.csrDst;
  const ep = args.inputs.edgeProj;
  const s = headShape(args.attrs);
  const N = xl.shape[0]!, HC = s.H * s.C, E = csrSrc.shape[0]!;
  const dxlAdd = args.inputs.dxlAdd;
  if (dxlAdd && (dxlAdd.dtype !== 'float32' || dxlAdd.shape.reduce((a, b) => a * b, 1) !== N * HC)) {
    throw new Error(`${GAT_SCORE_GRAD}: dxlAdd must be float32 shaped like xl`);
  }
  if (E === 0) {
    // No edges: dxl is the addend alone (shared, as TF.js's Identity shares its input).
    if (dxlAdd) backend.incRef(dxlAdd.dataId);
    const dxl = dxlAdd ? relabel(dxlAdd, [N, HC]) : zeros(backend, [N, HC]);
    const outs: ScoreGradOutputs<TensorInfo> = [dxl, zeros(backend, [N, HC]), zeros(backend, [HC])];
    if (ep) outs.push(zeros(backend, [0, HC]));
    return outs;
  }
  const edge = edgeInput(ep, xl);
  // The edge input last (the dxl pass with dxlAdd leaves it out).
  const common: Array<[string, TensorInfo]> = [['xl', xl], ['xr', xr], ['att', att], ['dE', dE], edge.input];
  const uniforms = [...headUniforms(s), edge.uniform];

  const dxl = scoreGradDxl(args, common, uniforms);
  // dL/dxr[i] += delta_k over i's incoming edges (a CSR row).
  const dxr = segmentReduce(backend, {
    name: 'scoregrad_dxr',
    segPtr: rowPtr, numSegments: N, cols: HC, op: 'sum',
    inputs: [['csrSrc', csrSrc], ...common],
    uniforms,
    term: `${Z_AND_DELTA}
fn term(seg : i32, t : i32, col : i32) -> f32 {
  return deltaAt(t, seg, csrSrc[t], col);
}`,
  });
  // dL/da[c] = sum_k dE_k u_k[c] over every edge (gradients.md "Score stage"). One sum per
  // column over all E edges: sumAll splits it into chunks of consecutive edges so the whole GPU
  // takes part (a single segment would get only H*C workgroups).
  const dAtt = sumAll(backend, {
    name: 'scoregrad_datt',
    cols: HC,
    inputs: [['csrSrc', csrSrc], ['csrDst', csrDst], ['xl', xl], ['xr', xr], ['dE', dE], edge.input],
    uniforms,
    term: `${Z_AT}
fn term(t : i32, col : i32) -> f32 {
  let de = dE[t * uniforms.heads + col / uniforms.channels];
  if (de == 0.0) {
    return 0.0;
  }
  return de * leaky(zAt(t, csrDst[t], csrSrc[t], col));
}`,
  }, E);
  const outs: ScoreGradOutputs<TensorInfo> = [dxl, dxr, dAtt];
  if (ep) {
    // dL/dedgeProj_k = delta_k, one invocation per element.
    outs.push(runProgram(backend, {
      key: 'scoregrad_dep',
      inputs: [['csrSrc', csrSrc], ['csrDst', csrDst], ...common],
      outputShape: [E, HC],
      workgroupSize: LIGHT_WG,
      workgroups: groupsFor(E * HC, LIGHT_WG),
      uniforms: [i32('numEdges', E), ...uniforms],
      code: `${Z_AND_DELTA}
fn main(index : i32) {
  let HC = uniforms.heads * uniforms.channels;
  if (index >= uniforms.numEdges * HC) {
    return;
  }
  let p = index / HC;
  result[index] = deltaAt(p, csrDst[p], csrSrc[p], index - p * HC);
}`,
    }));
  }
  return outs;
}

export function scoreKernels(): Array<AnyGatKernelImpl<GatWebGPUBackend>> {
  return [gatKernel(GAT_SCORE, scoreForward), gatKernel(GAT_SCORE_GRAD, scoreBackward)];
}

