/**
 * GatV2WeightGrad on WebGPU (names.ts WEIGHT_GRAD): dW = x^T dy for x [N, F], dy [N, K], the
 * weight gradients of the projections (gradients.md "Projections": dW_L = x~^T dxl, and R).
 *
 * Why not TF.js's matmul: with transposeA it tiles the small [F, K] output by 32 x 32 and walks all
 * N rows (10^5) in each tile: 32 workgroups for 128 x 256, a sliver of a large GPU. Cutting the rows
 * into slices with TF.js ops (a batched product, then a sum) needs both operands padded to whole
 * slices first: two full copies per gradient. Here one program reads x and dy in place:
 *
 *   pass 1  one workgroup per (slice s, 64 x 64 tile of dW): partial[s] = x[rows of s]^T dy[rows of s].
 *           Per chunk of 16 rows, the 256 invocations load the chunk's 16 x 64 block of x and of
 *           dy into workgroup memory (neighbouring invocations on neighbouring columns: coalesced)
 *           and each adds the outer products of its 4 x 4 piece, rows in order.
 *   pass 2  the slices' partials summed in slice order (segment-reduce.ts sumAll, as column-sum.ts).
 *
 * Rows past N and columns past F or K load as zeros, so no operand is padded or copied. Every
 * element of dW is a sum in an order fixed by the shapes: deterministic, no atomics.
 *
 * With dropP > 0, x is read through the dropout mask of GatV2Dropout (kernels/dropout-hash.ts, by
 * x's flat index): a block's backward gets dW = dropout(x)^T dy without regenerating dropout(x),
 * an [N, F] tensor, for each of its weight gradients.
 */
import type { TensorInfo } from '@tensorflow/tfjs-core';
import { dropoutConstants, DROPOUT_WGSL } from '../dropout-hash.js';
import { WEIGHT_GRAD } from '../names.js';
import { sumRows } from './column-sum.js';
import { gatKernel, type AnyGatKernelImpl, type GatKernelArgs } from '../register-kernel.js';
import type { GatWebGPUBackend } from './backend.js';
import { relabel, zeros } from './kernel-util.js';
import { f32, i32, runProgram } from './program.js';
import { rowsPerSliceFor } from './settings.js';
import { HEAVY_WG, WORKGROUP_TASK } from './wgsl.js';

/** Side of the square dW tile of one workgroup; each of its HEAVY_WG (256) invocations owns 4 x 4. */
const TILE = 64;
/** Rows per chunk held in workgroup memory. */
const CHUNK = 16;
// One invocation per 4 x 4 piece of the tile, and per (row, vec4 column) of a chunk.
if (HEAVY_WG !== (TILE / 4) ** 2 || CHUNK !== TILE / 4) throw new Error('weight-grad.ts: TILE, CHUNK and HEAVY_WG disagree');

/** The program; `drop`: x is read through the dropout mask (uniforms seed, key, threshold, scale). */
const code = (drop: boolean) => `
${WORKGROUP_TASK}${drop ? DROPOUT_WGSL : ''}
var<workgroup> xs : array<vec4<f32>, ${CHUNK * (TILE / 4)}>;
var<workgroup> ds : array<vec4<f32>, ${CHUNK * (TILE / 4)}>;

${['x', 'dy'].map((m) => `
/** Row r (below rEnd), columns c..c+3 of ${m}, zeros outside it. */
fn load_${m}(r : i32, c : i32, rEnd : i32, cols : i32) -> vec4<f32> {
  var v = vec4<f32>(0.0);
  if (r < rEnd) {
    let base = r * cols;
    for (var q = 0; q < 4; q = q + 1) {
      if (c + q < cols) {
        v[q] = ${m}[base + c + q]${drop && m === 'x' ? ' * select(0.0, uniforms.scale, dropoutKeep(base + c + q))' : ''};
      }
    }
  }
  return v;
}`).join('\n')}

fn main(_index : i32) {
  let task = workgroupTask();
  if (task >= uniforms.numTasks) {
    return;
  }
  let tiles = uniforms.tilesF * uniforms.tilesK;
  let s = task / tiles;
  let t = task - s * tiles;
  let f0 = (t / uniforms.tilesK) * ${TILE};
  let k0 = (t - (t / uniforms.tilesK) * uniforms.tilesK) * ${TILE};
  let r0 = s * uniforms.rowsPerSlice;
  let rEnd = min(r0 + uniforms.rowsPerSlice, uniforms.rows);
  let li = i32(localIndex);
  // This invocation's 4 x 4 piece of the tile (rows pf*4.., columns pk*4..), and per chunk the
  // chunk row pf, columns pk*4.. it loads (CHUNK = TILE / 4, so the same pair serves both).
  let pf = li / ${TILE / 4};
  let pk = li - pf * ${TILE / 4};
  let lc = pk * 4;
  var acc : array<vec4<f32>, 4>;
  for (var r = r0; r < rEnd; r = r + ${CHUNK}) {
    xs[li] = load_x(r + pf, f0 + lc, rEnd, uniforms.F);
    ds[li] = load_dy(r + pf, k0 + lc, rEnd, uniforms.K);
    workgroupBarrier();
    for (var rr = 0; rr < ${CHUNK}; rr = rr + 1) {
      let a = xs[rr * ${TILE / 4} + pf];
      let b = ds[rr * ${TILE / 4} + pk];
      acc[0] = acc[0] + a.x * b;
      acc[1] = acc[1] + a.y * b;
      acc[2] = acc[2] + a.z * b;
      acc[3] = acc[3] + a.w * b;
    }
    workgroupBarrier();
  }
  let out0 = s * uniforms.F * uniforms.K;
  for (var i = 0; i < 4; i = i + 1) {
    let f = f0 + pf * 4 + i;
    if (f < uniforms.F) {
      for (var j = 0; j < 4; j = j + 1) {
        let k = k0 + pk * 4 + j;
        if (k < uniforms.K) {
          result[out0 + f * uniforms.K + k] = acc[i][j];
        }
      }
    }
  }
}
`;

function weightGrad(args: GatKernelArgs<typeof WEIGHT_GRAD, GatWebGPUBackend>): TensorInfo {
  const { backend } = args;
  const { x, dy } = args.inputs;
  if (x.shape.length !== 2 || dy.shape.length !== 2 || x.shape[0] !== dy.shape[0] || x.dtype !== 'float32' || dy.dtype !== 'float32') {
    throw new Error(`${WEIGHT_GRAD}: x [N, F] and dy [N, K] of float32 with the same N, got [${x.shape}] and [${dy.shape}]`);
  }
  const [N, F] = x.shape as [number, number];
  const K = dy.shape[1]!;
  // Absent: the slice set at the backend's start (settings.ts), fewer than two slices' rows: one.
  const rowsPerSlice = args.attrs.rowsPerSlice ?? rowsPerSliceFor(N);
  if (!(Number.isInteger(rowsPerSlice) && rowsPerSlice > 0)) throw new Error(`${WEIGHT_GRAD}: rowsPerSlice must be a positive integer`);
  if (N === 0 || F === 0 || K === 0) return zeros(backend, [F, K]);
  const dropP = args.attrs.dropP ?? 0;
  const drop = dropP > 0 ? dropoutConstants(dropP, args.attrs.dropSeed ?? 0) : null;
  const slices = Math.ceil(N / rowsPerSlice);
  const tilesF = Math.ceil(F / TILE), tilesK = Math.ceil(K / TILE);
  const numTasks = slices * tilesF * tilesK;
  const partial = runProgram(backend, {
    key: drop ? 'wgrad_drop' : 'wgrad',
    inputs: [['x', x], ['dy', dy]],
    outputShape: slices === 1 ? [F, K] : [slices, F * K],
    workgroupSize: HEAVY_WG,
    workgroups: numTasks,
    indexing: 'workgroup',
    uniforms: [
      i32('rows', N), i32('F', F), i32('K', K), i32('rowsPerSlice', rowsPerSlice),
      i32('tilesF', tilesF), i32('tilesK', tilesK), i32('numTasks', numTasks),
      ...(drop ? [i32('seed', drop.seed | 0), i32('key', drop.key | 0), i32('threshold', drop.threshold), f32('scale', drop.scale)] : []),
    ],
    code: code(drop !== null),
  });
  if (slices === 1) return partial;
  const sum = sumRows(backend, partial, slices, F * K);
  backend.disposeData(partial.dataId);
  return relabel(sum, [F, K]);
}

export function weightGradKernels(): Array<AnyGatKernelImpl<GatWebGPUBackend>> {
  return [gatKernel(WEIGHT_GRAD, weightGrad)];
}
