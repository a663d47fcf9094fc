/**
 * UnsortedSegmentSum and GatherV2 on WebGPU for the autograd twin (src/ops: gathers by csrSrc /
 * csrDst, segment sums by csrDst, and TF.js's gather gradient, a segment sum by csrSrc).
 *
 * TF.js's own segment sum adds with atomics (float add emulated by compare-exchange): the order
 * of the additions, and so the result, changes from run to run, a hub serialises on one address,
 * and ids outside [0, numSegments) are not dropped (they land in other rows). Here the rows are grouped by segment id once, on the host (a stable counting sort of
 * the ids, plans.ts), and each output element sums its segment's rows in ascending row order,
 * with a workgroup for segments longer than the heavy threshold. Deterministic, no atomics.
 *
 * The stock kernel is kept for one case: segment ids that exist only on the GPU (produced by
 * another GPU op, never by this project). A kernel cannot read GPU data synchronously in Node
 * (dataSync throws there), so such ids cannot be grouped; a GPU-side stable sort would be the
 * alternative. Non-float32 data also goes to the stock kernel.
 *
 * Gather needs no index: each output row copies one input row, which is deterministic already;
 * this version is a plain row copy (one invocation per element) for axis 0.
 */
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { need, relabel, zeros, type KernelArgs } from './kernel-util.js';
import { segmentIndex } from './plans.js';
import { groupsFor, i32, runProgram } from './program.js';
import { segmentReduce } from './segment-reduce.js';
import { LIGHT_WG } from './wgsl.js';

const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

function unsortedSegmentSum(args: KernelArgs, stock: KernelFunc): TensorInfo {
  const x = need(args, 'x'), ids = need(args, 'segmentIds');
  const numSegments = args.attrs['numSegments'] as number;
  if (x.dtype !== 'float32' || ids.dtype !== 'int32' || ids.shape.length !== 1 || x.shape[0] !== ids.shape[0]) {
    return stock(args as never) as TensorInfo;
  }
  const outShape = [numSegments, ...x.shape.slice(1)];
  const inner = size(x.shape.slice(1));
  if (inner === 0 || numSegments === 0 || x.shape[0] === 0) return zeros(args.backend, outShape);
  const index = segmentIndex(args.backend, ids, numSegments);
  if (!index) return stock(args as never) as TensorInfo;
  if (index.kept === 0) return zeros(args.backend, outShape);
  const out = segmentReduce(args.backend, {
    name: 'segsum', segPtr: index.ptr, numSegments, cols: inner, op: 'sum',
    inputs: [['order', index.order], ['x', x]],
    uniforms: [],
    term: `fn term(seg : i32, t : i32, col : i32) -> f32 {
  return x[order[t] * uniforms.cols + col];
}`,
  });
  return relabel(out, outShape);
}

function gather(args: KernelArgs, stock: KernelFunc): TensorInfo {
  const x = need(args, 'x'), indices = need(args, 'indices');
  const rank = x.shape.length;
  const rawAxis = args.attrs['axis'] as number;
  const axis = rawAxis < 0 ? rawAxis + rank : rawAxis;
  const supported = x.dtype === 'float32' || x.dtype === 'int32' || x.dtype === 'bool';
  if (axis !== 0 || (args.attrs['batchDims'] as number) !== 0 || !supported || indices.dtype !== 'int32' || x.shape[0] === 0) {
    return stock(args as never) as TensorInfo;
  }
  const inner = size(x.shape.slice(1));
  const numIdx = size(indices.shape);
  const outShape = [...indices.shape, ...x.shape.slice(1)];
  const isFloat = x.dtype === 'float32';
  // out[r, :] = x[indices[r], :]; an index outside [0, rows) gives zeros (a GPU cannot throw;
  // the cpu and wasm kernels report it).
  return runProgram(args.backend, {
    key: `gather_${isFloat ? 'f32' : 'i32'}`,
    inputs: [['x', x], ['indices', indices]],
    outputShape: outShape,
    outputDtype: x.dtype,
    workgroupSize: LIGHT_WG,
    workgroups: groupsFor(numIdx * inner, LIGHT_WG),
    uniforms: [i32('numIdx', numIdx), i32('inner', inner), i32('rows', x.shape[0]!)],
    code: `
fn main(index : i32) {
  if (index >= uniforms.numIdx * uniforms.inner) {
    return;
  }
  let r = index / uniforms.inner;
  let c = index - r * uniforms.inner;
  let s = indices[r];
  if (s < 0 || s >= uniforms.rows) {
    result[index] = ${isFloat ? '0.0' : '0'};
    return;
  }
  result[index] = x[s * uniforms.inner + c];
}`,
  });
}

/** Kernel configs replacing the stock ones; `stock` returns the kernel each replaces. */
export function segmentSumKernels(stock: (name: string) => KernelFunc): KernelConfig[] {
  return [
    {
      kernelName: 'UnsortedSegmentSum',
      backendName: 'webgpu',
      kernelFunc: (a) => unsortedSegmentSum(a as unknown as KernelArgs, stock('UnsortedSegmentSum')),
    },
    {
      kernelName: 'GatherV2',
      backendName: 'webgpu',
      kernelFunc: (a) => gather(a as unknown as KernelArgs, stock('GatherV2')),
    },
  ];
}
