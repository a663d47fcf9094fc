/**
 * The typed-array kernels (cpu and wasm share them): this project's GATv2 kernels and fast
 * replacements for TF.js's UnsortedSegmentSum and GatherV2, whose stock versions are unusable on
 * cpu (minutes at Cora size) and absent on wasm (docs/platform-notes.md).
 */
import type { NamedAttrMap, TensorInfo } from '@tensorflow/tfjs-core';
import * as K from './names.js';
import * as loops from './loops.js';
import { dropoutConstants, dropoutLoop } from './dropout-hash.js';
// The hot loops run as WebAssembly SIMD when it loads (kernels/simd), else as these same JS loops.
import * as simd from './simd/index.js';
import type { TypedArray, TypedKernelSpec } from './typed-array-kernel.js';

type F32 = Float32Array;
type I32 = Int32Array;

function gatAttrs(attrs: NamedAttrMap): { H: number; C: number; slope: number } {
  return { H: attrs['heads'] as number, C: attrs['channels'] as number, slope: attrs['negativeSlope'] as number };
}

function csr(a: Record<string, TypedArray>): loops.CsrArrays {
  return { rowPtr: a['rowPtr'] as I32, csrSrc: a['csrSrc'] as I32, csrDst: a['csrDst'] as I32 };
}

const f32 = (shape: number[]) => ({ shape, dtype: 'float32' as const });

export const TYPED_ARRAY_KERNELS: TypedKernelSpec[] = [
  {
    kernelName: K.GAT_SCORE,
    outputs: (i, a) => [f32([i['csrSrc'].shape[0], a['heads'] as number])],
    run: (i, [e], _s, a) => {
      const { H, C, slope } = gatAttrs(a);
      simd.scoreForward(csr(i), i['xl'] as F32, i['xr'] as F32, i['att'] as F32, (i['edgeProj'] as F32) ?? null, H, C, slope, e as F32);
    },
  },
  {
    kernelName: K.GAT_SCORE_GRAD,
    outputs: (i) => {
      const outs = [f32(i['xl'].shape), f32(i['xr'].shape), f32(i['att'].shape)];
      if (i['edgeProj']) outs.push(f32(i['edgeProj'].shape));
      return outs;
    },
    run: (i, o, _s, a) => {
      const { H, C, slope } = gatAttrs(a);
      simd.scoreBackward(
        csr(i), i['xl'] as F32, i['xr'] as F32, i['att'] as F32, (i['edgeProj'] as F32) ?? null, i['dE'] as F32,
        H, C, slope, o[0] as F32, o[1] as F32, o[2] as F32, (o[3] as F32) ?? null,
      );
      const add = i['dxlAdd'] as F32 | undefined;
      if (add) {
        const dxl = o[0] as F32;
        if (add.length !== dxl.length) throw new Error(`${K.GAT_SCORE_GRAD}: dxlAdd must be shaped like xl`);
        for (let k = 0; k < dxl.length; k++) dxl[k] += add[k]!;
      }
    },
  },
  {
    kernelName: K.SEGMENT_SOFTMAX,
    outputs: (i) => [f32(i['e'].shape)],
    run: (i, [alpha], s) => simd.softmaxForward(i['rowPtr'] as I32, i['e'] as F32, s['e'][1], alpha as F32),
  },
  {
    kernelName: K.SEGMENT_SOFTMAX_GRAD,
    outputs: (i) => [f32(i['alpha'].shape)],
    run: (i, [dE], s) =>
      simd.softmaxBackward(i['rowPtr'] as I32, i['alpha'] as F32, i['dAlpha'] as F32, s['alpha'][1], dE as F32),
  },
  {
    kernelName: K.SEGMENT_MAX,
    outputs: (i) => [f32([i['rowPtr'].shape[0] - 1, i['e'].shape[1]])],
    run: (i, [m], s) => loops.segmentMax(i['rowPtr'] as I32, i['e'] as F32, s['e'][1], m as F32),
  },
  {
    kernelName: K.GAT_AGGREGATE,
    outputs: (i) => [f32(i['xl'].shape)],
    run: (i, [out], _s, a) => {
      const { H, C } = gatAttrs(a);
      simd.aggregateForward(csr(i), i['alpha'] as F32, i['xl'] as F32, H, C, out as F32);
    },
  },
  {
    kernelName: K.GAT_AGGREGATE_GRAD,
    outputs: (i) => [f32(i['alpha'].shape), f32(i['xl'].shape)],
    run: (i, [dAlpha, dxl], _s, a) => {
      const { H, C } = gatAttrs(a);
      simd.aggregateBackward(csr(i), i['alpha'] as F32, i['xl'] as F32, i['dOut'] as F32, H, C, dAlpha as F32, dxl as F32);
    },
  },
  {
    kernelName: K.SPARSE_MATMUL,
    outputs: (i) => [f32([i['rowPtr'].shape[0] - 1, i['w'].shape[1]])],
    run: (i, [y], s) =>
      simd.sparseMatMul(i['rowPtr'] as I32, i['colIdx'] as I32, i['values'] as F32, i['w'] as F32, s['w'][1], y as F32),
  },
  {
    kernelName: K.SPARSE_MATMUL_GRAD,
    outputs: (i, a) => [f32([a['numFeatures'] as number, i['dy'].shape[1]])],
    run: (i, [dw], s) =>
      simd.sparseMatMulGrad(i['rowPtr'] as I32, i['colIdx'] as I32, i['values'] as F32, i['dy'] as F32, s['dy'][1], dw as F32),
  },
  {
    kernelName: K.ADAM_UPDATE,
    outputs: (i) => {
      const shape = i['param'].shape, n = shape.reduce((x, y) => x * y, 1);
      for (const k of ['param', 'm', 'v', 'grad']) {
        const t = i[k];
        if (!t || t.dtype !== 'float32' || t.shape.reduce((x, y) => x * y, 1) !== n) {
          throw new Error(`${K.ADAM_UPDATE}: ${k} must be float32 of ${n} elements like param`);
        }
      }
      return [f32(shape), f32(shape), f32(shape)];
    },
    run: (i, [p, m, v], _s, a) =>
      loops.adamUpdate(
        i['param'] as F32, i['m'] as F32, i['v'] as F32, i['grad'] as F32,
        a['beta1'] as number, a['beta2'] as number, a['epsilon'] as number, (a['weightDecay'] as number | undefined) ?? 0, a['stepSize'] as number, a['sqrtBc2'] as number,
        p as F32, m as F32, v as F32,
      ),
  },
  {
    kernelName: K.DROPOUT,
    outputs: (i) => (i['x'].dtype === 'float32' ? [f32(i['x'].shape)] : null),
    run: (i, [y], _s, a) => {
      const c = dropoutConstants(a['p'] as number, a['seed'] as number);
      if (!simd.dropout(i['x'] as F32, c.key, c.seed, c.threshold, c.scale, y as F32)) dropoutLoop(i['x'] as F32, c, y as F32);
    },
  },
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
