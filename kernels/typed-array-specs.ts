/**
 * The typed-array kernels (cpu and wasm share them): this project's GATv2 kernels and fast
 * replacements for TF.js's UnsortedSegmentSum and GatherV2, whose stock versions are unusable on
 * cpu (minutes at Cora size) and absent on wasm (docs/platform-notes.md).
 */
import type { TensorInfo } from '@tensorflow/tfjs-core';
import * as K from './names.js';
import * as loops from './loops.js';
import { dropoutConstants, dropoutLoop } from './dropout-hash.js';
// The hot loops run as WebAssembly SIMD when it loads (kernels/simd), else as these same JS loops.
import * as simd from './simd/index.js';

import { gatSpec, type AnyGatTypedKernelSpec, type TypedKernelSpec } from './typed-array-kernel.js';

type F32 = Float32Array;
type I32 = Int32Array;

const f32 = (shape: number[]) => ({ shape, dtype: 'float32' as const });

/** dxl += dxlAdd after dxl's own sum is complete (names.ts GAT_SCORE_GRAD: this order of the sum). */
function addInto(dxl: F32, add: F32): void {
  if (add.length !== dxl.length) throw new Error(`${K.GAT_SCORE_GRAD}: dxlAdd must be shaped like xl`);
  for (let k = 0; k < dxl.length; k++) dxl[k] += add[k]!;
}

const score = gatSpec({
  kernelName: K.GAT_SCORE,
  outputs: (i, a) => [f32([i.csrSrc.shape[0]!, a.heads])],
  run: (i, [e], _s, a) =>
    simd.scoreForward(i, i.xl, i.xr, i.att, i.edgeProj ?? null, a.heads, a.channels, a.negativeSlope, e!),
});

const scoreGrad = gatSpec({
  kernelName: K.GAT_SCORE_GRAD,
  outputs: (i) => {
    const outs = [f32(i.xl.shape), f32(i.xr.shape), f32(i.att.shape)];
    if (i.edgeProj) outs.push(f32(i.edgeProj.shape));
    return outs;
  },
  run: (i, [dxl, dxr, dAtt, dEp], _s, a) => {
    simd.scoreBackward(
      i, i.xl, i.xr, i.att, i.edgeProj ?? null, i.dE, a.heads, a.channels, a.negativeSlope, dxl!, dxr!, dAtt!, dEp ?? null,
    );
    if (i.dxlAdd) addInto(dxl!, i.dxlAdd);
  },
});

const softmax = gatSpec({
  kernelName: K.SEGMENT_SOFTMAX,
  outputs: (i) => [f32(i.e.shape)],
  run: (i, [alpha], s) => simd.softmaxForward(i.rowPtr, i.e, s['e']![1]!, alpha!),
});

const softmaxGrad = gatSpec({
  kernelName: K.SEGMENT_SOFTMAX_GRAD,
  outputs: (i) => [f32(i.alpha.shape)],
  run: (i, [dE], s) => simd.softmaxBackward(i.rowPtr, i.alpha, i.dAlpha, s['alpha']![1]!, dE!),
});

const segmentMax = gatSpec({
  kernelName: K.SEGMENT_MAX,
  outputs: (i) => [f32([i.rowPtr.shape[0]! - 1, i.e.shape[1]!])],
  run: (i, [m], s) => loops.segmentMax(i.rowPtr, i.e, s['e']![1]!, m!),
});

const aggregate = gatSpec({
  kernelName: K.GAT_AGGREGATE,
  outputs: (i) => [f32(i.xl.shape)],
  run: (i, [out], _s, a) =>
    simd.aggregateForward({ rowPtr: i.rowPtr, csrSrc: i.csrSrc, csrDst: EMPTY }, i.alpha, i.xl, a.heads, a.channels, out!),
});

const aggregateGrad = gatSpec({
  kernelName: K.GAT_AGGREGATE_GRAD,
  outputs: (i) => [f32(i.alpha.shape), f32(i.xl.shape)],
  run: (i, [dAlpha, dxl], _s, a) => simd.aggregateBackward(i, i.alpha, i.xl, i.dOut, a.heads, a.channels, dAlpha!, dxl!),
});

const sparseMatMul = gatSpec({
  kernelName: K.SPARSE_MATMUL,
  outputs: (i) => [f32([i.rowPtr.shape[0]! - 1, i.w.shape[1]!])],
  run: (i, [y], s) => simd.sparseMatMul(i.rowPtr, i.colIdx, i.values, i.w, s['w']![1]!, y!),
});

const sparseMatMulGrad = gatSpec({
  kernelName: K.SPARSE_MATMUL_GRAD,
  outputs: (i, a) => [f32([a.numFeatures, i.dy.shape[1]!])],
  run: (i, [dw], s) => simd.sparseMatMulGrad(i.rowPtr, i.colIdx, i.values, i.dy, s['dy']![1]!, dw!),
});

const adamUpdate = gatSpec({
  kernelName: K.ADAM_UPDATE,
  outputs: (i) => {
    const shape = i.param.shape, n = shape.reduce((x, y) => x * y, 1);
    for (const k of ['param', 'm', 'v', 'grad'] as const) {
      const t = i[k];
      if (!t || t.dtype !== 'float32' || t.shape.reduce((x, y) => x * y, 1) !== n) {
        throw new Error(`${K.ADAM_UPDATE}: ${k} must be float32 of ${n} elements like param`);
      }
    }
    return [f32(shape), f32(shape), f32(shape)];
  },
  run: (i, [p, m, v], _s, a) =>
    loops.adamUpdate(
      i.param, i.m, i.v, i.grad, a.beta1, a.beta2, a.epsilon, a.weightDecay ?? 0, a.stepSize, a.sqrtBc2, p!, m!, v!,
    ),
});

const dropout = gatSpec({
  kernelName: K.DROPOUT,
  outputs: (i) => {
    if (i.x.dtype !== 'float32') throw new Error(`${K.DROPOUT}: x must be float32, got ${i.x.dtype}`);
    return [f32(i.x.shape)];
  },
  run: (i, [y], _s, a) => {
    const c = dropoutConstants(a.p, a.seed);
    if (!simd.dropout(i.x, c.key, c.seed, c.threshold, c.scale, y!)) dropoutLoop(i.x, c, y!);
  },
});

/** The aggregation reads no csrDst; the loop's CSR argument gets an empty one. */
const EMPTY = new Int32Array(0);

/** This project's kernels on cpu and wasm (WEIGHT_GRAD, optional, is left out: names.ts). */
export const GAT_TYPED_ARRAY_KERNELS: AnyGatTypedKernelSpec[] = [
  score, scoreGrad, softmax, softmaxGrad, segmentMax, aggregate, aggregateGrad, sparseMatMul, sparseMatMulGrad, adamUpdate, dropout,
];

/** Fast loops in place of TF.js's own UnsortedSegmentSum and GatherV2. */
export const STOCK_TYPED_ARRAY_KERNELS: TypedKernelSpec[] = [
  {
    kernelName: 'UnsortedSegmentSum',
    outputs: (i, a) => {
      const x = i['x'], ids = i['segmentIds'];
      if (ids.shape.length !== 1 || x.shape[0] !== ids.shape[0] || x.dtype === 'complex64' || x.dtype === 'string') return null;
      return [{ shape: [a['numSegments'] as number, ...x.shape.slice(1)], dtype: x.dtype }];
    },
    run: (i, [out], s, a) => {
      const inner = s['x'].slice(1).reduce((p, q) => p * q, 1);
      loops.unsortedSegmentSum(i['x'], i['segmentIds'] as I32, inner, a['numSegments'] as number, out);
    },
  },
  {
    kernelName: 'GatherV2',
    outputs: (i, a) => {
      const x = i['x'], idx = i['indices'];
      const axis = (a['axis'] as number) < 0 ? (a['axis'] as number) + x.shape.length : (a['axis'] as number);
      if (axis !== 0 || (a['batchDims'] as number) !== 0 || x.dtype === 'complex64' || x.dtype === 'string') return null;
      return [{ shape: [...idx.shape, ...x.shape.slice(1)], dtype: x.dtype }];
    },
    run: (i, [out], s) => {
      const inner = s['x'].slice(1).reduce((p, q) => p * q, 1);
      loops.gatherRows(i['x'], i['indices'] as I32, inner, s['x'][0], out);
    },
  },
];

export type { TensorInfo };
