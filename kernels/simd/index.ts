/**
 * WebAssembly SIMD versions of the hot loops of kernels/loops.ts, with exactly their signatures
 * and semantics (outputs accumulate into what the caller passed, dE === 0 skips, ep / dEp null,
 * empty rows, E = 0), up to float32 rounding, run on several threads. Why: V8 runs the JS loops at
 * about 4.5 ns per multiply-add with no SIMD; the f32x4 loops of gat-kernels.wasm (built from
 * kernels/simd/assembly/gat-kernels.ts) are several times faster, and a training step on a large
 * graph has enough work per kernel to share it between cores.
 *
 * Where things are: ./module.ts loads the module (compiled and instantiated synchronously on
 * first use); ./memory.ts places a call's arrays (in place on tfjs-backend-wasm's heap where they
 * lie there, else copied into the module's own memory); ./threads.ts runs a call's tasks on the
 * calling thread and the workers. This file is the kernels' JS face: each function checks its
 * arrays, places them, cuts the call into tasks and runs them. Every output element belongs to
 * exactly one task and accumulates its terms in the JS loop's order within it (score_backward's
 * dL/da: per block of rows, then the blocks in order, blocks that depend on the graph only), so
 * results are bit-identical for any thread count and any assignment of tasks to threads.
 *
 * Every function falls back to its JS twin in loops.ts (single-threaded; said once on stderr) when:
 * - GATV2_NO_SIMD is set (to anything but "" or "0"), read once at first use;
 * - the .wasm is missing or the engine cannot compile it (no SIMD);
 * - an index or a length would make the JS read or write outside an array (the JS then yields NaN
 *   or drops the write; the wasm would touch another array), or an output overlaps another array:
 *   the JS is the reference for such input, so it runs it;
 * - the memory cannot grow enough.
 */
import * as js from '../loops.js';
import type { CsrArrays } from '../loops.js';
import { simdEnabled } from './module.js';
import { disjoint, Frame } from './memory.js';
import { evenSplit, rowSplit, taskCount, WALK_SHARE } from './threads.js';

export { simdDisabledReason, simdEnabled, type HostHeap } from './module.js';
export { hostHeapInUse, simdCopiedBytes, simdRunCount, useHostHeap } from './memory.js';
export {
  DEFAULT_MIN_PARALLEL_WORK, MAX_THREADS, minParallelWork, parseThreads, setMinParallelWork,
  setThreads, splitRunCounts, threadCount, threadSetting, threadsReady, workerTaskCount,
} from './threads.js';

type F32 = Float32Array;
type I32 = Int32Array;
type Arr = Float32Array | Int32Array;

/** Largest index bound in_range takes (its bound is an i32 compared unsigned). */
const NO_BOUND = 0x7fffffff;

function isCount(n: number): boolean {
  return Number.isInteger(n) && n >= 0;
}

/** How many whole rows of `stride` elements an array of `len` holds (any count when stride is 0). */
function rows(len: number, stride: number): number {
  return stride > 0 ? Math.min(Math.floor(len / stride), NO_BOUND) : NO_BOUND;
}

/** loops.ts sparseMatMul: y[i,:] += sum_t values[t] W[colIdx[t], :] (the projections X W_L, X W_R). */
export function sparseMatMul(rowPtr: I32, colIdx: I32, values: F32, w: F32, K: number, y: F32): void {
  if (!sparseProduct(false, rowPtr, colIdx, values, w, K, y)) js.sparseMatMul(rowPtr, colIdx, values, w, K, y);
}

/** loops.ts sparseMatMulGrad: dW[colIdx[t], :] += values[t] dY[i, :] (gradients.md "Projections"). */
export function sparseMatMulGrad(rowPtr: I32, colIdx: I32, values: F32, dy: F32, K: number, dw: F32): void {
  if (!sparseProduct(true, rowPtr, colIdx, values, dy, K, dw)) js.sparseMatMulGrad(rowPtr, colIdx, values, dy, K, dw);
}

/** Both sparse products: `dense` is W (forward) or dY (grad), `out` is y or dW. */
function sparseProduct(grad: boolean, rowPtr: I32, colIdx: I32, values: F32, dense: F32, K: number, out: F32): boolean {
  const N = rowPtr.length - 1;
  if (N <= 0 || !isCount(K) || K === 0 || !simdEnabled()) return false;
  const nnz = Math.min(colIdx.length, values.length);
  // W rows are indexed by colIdx (forward), dW rows too (grad); y and dY rows by the row number.
  const indexed = grad ? out : dense, byRow = grad ? dense : out;
  if (byRow.length < N * K || !disjoint([out], [rowPtr, colIdx, values, dense])) return false;
  const f = Frame.open([rowPtr, colIdx, values, dense, out]);
  if (f === null) return false;
  if (!f.inRange(0, nnz + 1) || !f.inRange(1, rows(indexed.length, K))) {
    f.abandon();
    return false;
  }
  const [pRow, pCol, pVal, pDense, pOut] = f.ptr;
  const work = nnz * K;
  if (grad) {
    // dW's rows are scattered to: split its columns, in blocks of 16 (the kernel's widest loop).
    const blocks = Math.ceil(K / 16);
    const tasks = evenSplit(blocks, taskCount(work / WALK_SHARE, blocks, 2)).map(([a, b]) => [a * 16, Math.min(b * 16, K), 0, 0]);
    f.run('sparse_matmul_grad', [pRow, pCol, pVal, pDense, K, pOut, N], tasks);
  } else {
    f.run('sparse_matmul', [pRow, pCol, pVal, pDense, K, pOut], rowSplit(rowPtr, N, taskCount(work, N)));
  }
  f.close([4]);
  return true;
}

/** loops.ts scoreForward, gradients.md eq. 1: e[p,h] = sum_c a[h,c] LeakyReLU(xr[i] + xl[j] (+ ep[p]))[h,c]. */
export function scoreForward(
  g: CsrArrays, xl: F32, xr: F32, att: F32, ep: F32 | null,
  H: number, C: number, slope: number, e: F32,
): void {
  if (!scoreForwardSimd(g, xl, xr, att, ep, H, C, slope, e)) js.scoreForward(g, xl, xr, att, ep, H, C, slope, e);
}

function scoreForwardSimd(
  g: CsrArrays, xl: F32, xr: F32, att: F32, ep: F32 | null,
  H: number, C: number, slope: number, e: F32,
): boolean {
  const E = g.csrSrc.length, HC = H * C;
  if (E === 0 || !isCount(H) || !isCount(C) || !simdEnabled()) return false;
  if (g.csrDst.length < E || att.length < HC || e.length < E * H || (ep !== null && ep.length < E * HC)) return false;
  const inputs: Arr[] = [g.csrSrc, g.csrDst, xl, xr, att];
  if (ep !== null) inputs.push(ep);
  if (!disjoint([e], inputs)) return false;
  // e[0 .. E H) is overwritten, not accumulated into: reserved, not copied in.
  const f = Frame.open([g.csrSrc, g.csrDst, xl, xr, att, ep], [{ bytes: E * H * 4, into: e.subarray(0, E * H) }]);
  if (f === null) return false;
  if (!f.inRange(0, rows(xl.length, HC)) || !f.inRange(1, rows(xr.length, HC), E)) {
    f.abandon();
    return false;
  }
  const [pSrc, pDst, pXl, pXr, pAtt, pEp, pE] = f.ptr;
  const tasks = evenSplit(E, taskCount(E * HC, E));
  f.run('score_forward', [pSrc, pDst, pXl, pXr, pAtt, pEp, ep !== null ? 1 : 0, H, C, slope, pE], tasks);
  f.close([]);
  return true;
}

/** A graph's edges grouped by source (src/graph/layout.ts): j's outgoing edges are
 * srcOrder[srcPtr[j] .. srcPtr[j + 1]), in increasing CSR position. */
export interface BySource {
  srcPtr: I32;
  srcOrder: I32;
}

/**
 * loops.ts scoreBackward, gradients.md "Score stage": delta_k = dE_k a s_k; dL/da += dE_k u_k;
 * dxr[i] += delta_k; dxl[j] += delta_k; dep[k] = delta_k. With the source grouping (the kernels'
 * srcPtr and srcOrder inputs) the scatter to sources runs on several threads too.
 */
export function scoreBackward(
  g: CsrArrays & Partial<BySource>, xl: F32, xr: F32, att: F32, ep: F32 | null, dE: F32,
  H: number, C: number, slope: number,
  dxl: F32, dxr: F32, dAtt: F32, dEp: F32 | null,
): void {
  if (!scoreBackwardSimd(g, xl, xr, att, ep, dE, H, C, slope, dxl, dxr, dAtt, dEp)) {
    js.scoreBackward(g, xl, xr, att, ep, dE, H, C, slope, dxl, dxr, dAtt, dEp);
  }
}

/** Edges per block of score_backward's partial sums of dL/da (about: blocks are whole rows). */
let scoreBlockEdges = 4096;

/** Sets that block size (tests make it small, so that small graphs have several blocks). It
 * changes the rounding of dL/da, never with the thread count. */
export function setScoreBlockEdges(edges: number): void {
  scoreBlockEdges = Math.max(1, Math.floor(edges));
}

/**
 * score_backward's blocks: about E / scoreBlockEdges ranges of whole destination rows, as edge
 * boundaries (B + 1 of them, from 0 to E). They depend on the graph only, never on the thread
 * count: dL/da is summed per block, then the blocks in order.
 */
function scoreBlocks(rowPtr: I32, E: number): Int32Array {
  const N = rowPtr.length - 1;
  const k = Math.max(1, Math.ceil(E / scoreBlockEdges));
  const cut = N > 0 ? rowSplit(rowPtr, N, k) : [[0, 0, 0, 0]];
  const out = new Int32Array(cut.length + 1);
  for (let t = 1; t < cut.length; t++) out[t] = Math.min(Math.max(rowPtr[cut[t][0]] | 0, out[t - 1]), E);
  out[cut.length] = E;
  return out;
}

function scoreBackwardSimd(
  g: CsrArrays & Partial<BySource>, xl: F32, xr: F32, att: F32, ep: F32 | null, dE: F32,
  H: number, C: number, slope: number,
  dxl: F32, dxr: F32, dAtt: F32, dEp: F32 | null,
): boolean {
  const E = g.csrSrc.length, HC = H * C;
  if (E === 0 || !isCount(H) || !isCount(C) || !simdEnabled()) return false;
  if (g.csrDst.length < E || dE.length < E * H || att.length < HC || dAtt.length < HC) return false;
  if ((ep !== null && ep.length < E * HC) || (dEp !== null && dEp.length < E * HC)) return false;
  const bySource = g.srcPtr && g.srcOrder ? { srcPtr: g.srcPtr, srcOrder: g.srcOrder } : null;
  const inputs: Arr[] = [g.csrSrc, g.csrDst, xl, xr, att, dE];
  if (ep !== null) inputs.push(ep);
  if (bySource) inputs.push(bySource.srcPtr, bySource.srcOrder);
  const outputs: Arr[] = [dxl, dxr, dAtt];
  if (dEp !== null) outputs.push(dEp);
  if (!disjoint(outputs, inputs)) return false;
  const blocks = scoreBlocks(g.rowPtr, E), B = blocks.length - 1;
  // On several threads the first pass leaves a record per edge for the scatter by source: its H
  // values of dE, then the signs of z, a bit per channel, and a spare word (recordBytes there).
  const want = bySource !== null && taskCount(E * HC, B) > 1;
  const signBytes = want ? E * (H + Math.ceil(HC / 32) + 1) * 4 : 0;
  const f = Frame.open(
    [g.csrSrc, g.csrDst, xl, xr, att, ep, dE, dxl, dxr, dAtt, dEp, blocks, bySource?.srcPtr ?? null, bySource?.srcOrder ?? null],
    [B * HC * 4, 4, signBytes],
  );
  if (f === null) return false;
  const jRows = rows(Math.min(xl.length, dxl.length), HC), iRows = rows(Math.min(xr.length, dxr.length), HC);
  if (!f.inRange(0, jRows, E) || !f.inRange(1, iRows, E)) {
    f.abandon();
    return false;
  }
  const [pSrc, pDst, pXl, pXr, pAtt, pEp, pDE, pDxl, pDxr, pDAtt, pDEp, pBlocks, pPtr, pOrder, pPartials, pBad, pSigns] = f.ptr;
  const split = want && scoreSplitOk(f, g, bySource, blocks, E, jRows, pBad);
  f.run('score_backward', [
    pSrc, pDst, pXl, pXr, pAtt, pEp, ep !== null ? 1 : 0, pDE, H, C, slope,
    pDxl, split ? 0 : 1, pDxr, pPartials, pDEp, dEp !== null ? 1 : 0, pBlocks, pSigns, split ? 1 : 0,
  ], split ? evenSplit(B, taskCount(E * HC, B)) : [[0, B, 0, 0]]);
  if (split) {
    const sources = bySource!.srcPtr.length - 1;
    f.run('score_backward_dxl', [pPtr, pOrder, pSigns, pAtt, H, C, slope, pDxl], rowSplit(bySource!.srcPtr, sources, taskCount(E * HC, sources)));
  }
  const cols = Math.ceil(HC / 4);
  f.run('score_add_rows', [pPartials, B, HC, pDAtt],
    evenSplit(cols, taskCount(B * HC, cols, 1)).map(([a, b]) => [a * 4, Math.min(b * 4, HC), 0, 0]));
  f.close([7, 8, 9, 10]);
  return true;
}

/**
 * Whether score_backward may run on several threads: its blocks must own their destination rows
 * (csrDst sorted, no row across a block boundary) and the source grouping must list every edge
 * once, by source, in increasing order (what src/graph/layout.ts builds); else one task runs it
 * all, with the same result. Costs a pass over csrDst and one over srcOrder (split over the
 * threads), a few percent of the kernel.
 */
function scoreSplitOk(f: Frame, g: CsrArrays, s: BySource | null, blocks: Int32Array, E: number, jRows: number, pBad: number): boolean {
  if (s === null) return false;
  const N = s.srcPtr.length - 1;
  if (N < 0 || N > jRows || s.srcOrder.length < E || s.srcPtr[0] !== 0 || s.srcPtr[N] !== E) return false;
  for (let j = 0; j < N; j++) if (s.srcPtr[j + 1] < s.srcPtr[j]) return false;
  for (let t = 1; t < blocks.length - 1; t++) {
    const p = blocks[t];
    if (p > 0 && p < E && g.csrDst[p - 1] === g.csrDst[p]) return false;
  }
  if (f.inst.exports.non_decreasing(f.ptr[1], E) !== 1 || !f.inRange(13, E, E)) return false;
  new Int32Array(f.inst.memory.buffer, pBad, 1)[0] = 0;
  f.run('source_order_check', [f.ptr[12], f.ptr[13], f.ptr[0], pBad], rowSplit(s.srcPtr, N, taskCount(E, N)));
  return new Int32Array(f.inst.memory.buffer, pBad, 1)[0] === 0;
}

/** loops.ts aggregateForward, gradients.md eq. 3: out[i,h,:] += sum_{k: j->i} alpha_k xl[j,h,:]. */
export function aggregateForward(g: CsrArrays, alpha: F32, xl: F32, H: number, C: number, out: F32): void {
  if (!aggregateForwardSimd(g, alpha, xl, H, C, out)) js.aggregateForward(g, alpha, xl, H, C, out);
}

function aggregateForwardSimd(g: CsrArrays, alpha: F32, xl: F32, H: number, C: number, out: F32): boolean {
  const N = g.rowPtr.length - 1, HC = H * C;
  if (N <= 0 || !isCount(H) || !isCount(C) || !simdEnabled()) return false;
  if (out.length < N * HC || !disjoint([out], [g.rowPtr, g.csrSrc, alpha, xl])) return false;
  const f = Frame.open([g.rowPtr, g.csrSrc, alpha, xl, out]);
  if (f === null) return false;
  // Edge p reads csrSrc[p] and alpha[p*H .. p*H+H); rowPtr bounds p.
  const edges = Math.min(g.csrSrc.length, rows(alpha.length, H));
  if (!f.inRange(0, edges + 1) || !f.inRange(1, rows(xl.length, HC))) {
    f.abandon();
    return false;
  }
  const [pRow, pSrc, pAlpha, pXl, pOut] = f.ptr;
  f.run('aggregate_forward', [pRow, pSrc, pAlpha, pXl, H, C, pOut], rowSplit(g.rowPtr, N, taskCount(edges * HC, N)));
  f.close([4]);
  return true;
}

/** loops.ts aggregateBackward, gradients.md "Aggregation stage": A_k = <G_i, xl[j]>; dxl[j] += alpha_k G_i. */
export function aggregateBackward(
  g: CsrArrays, alpha: F32, xl: F32, dOut: F32, H: number, C: number, dAlpha: F32, dxl: F32,
): void {
  if (!aggregateBackwardSimd(g, alpha, xl, dOut, H, C, dAlpha, dxl)) {
    js.aggregateBackward(g, alpha, xl, dOut, H, C, dAlpha, dxl);
  }
}

function aggregateBackwardSimd(
  g: CsrArrays, alpha: F32, xl: F32, dOut: F32, H: number, C: number, dAlpha: F32, dxl: F32,
): boolean {
  const E = g.csrSrc.length, HC = H * C;
  if (E === 0 || !isCount(H) || !isCount(C) || !simdEnabled()) return false;
  if (g.csrDst.length < E || alpha.length < E * H || dAlpha.length < E * H) return false;
  if (!disjoint([dAlpha, dxl], [g.csrSrc, g.csrDst, alpha, xl, dOut])) return false;
  // dAlpha[0 .. E H) is overwritten (every head's task stores its heads): reserved, not copied in.
  const f = Frame.open([g.csrSrc, g.csrDst, alpha, xl, dOut, dxl], [{ bytes: E * H * 4, into: dAlpha.subarray(0, E * H) }]);
  if (f === null) return false;
  if (!f.inRange(0, rows(Math.min(xl.length, dxl.length), HC)) || !f.inRange(1, rows(dOut.length, HC), E)) {
    f.abandon();
    return false;
  }
  const [pSrc, pDst, pAlpha, pXl, pDOut, pDxl, pDAlpha] = f.ptr;
  // dxl's rows are scattered to: split the heads (dAlpha[p, h] needs all of a head's channels).
  f.run('aggregate_backward', [pSrc, pDst, pAlpha, pXl, pDOut, H, C, pDAlpha, pDxl, E], evenSplit(H, taskCount((E * HC) / WALK_SHARE, H, 1)));
  f.close([5]);
  return true;
}

/**
 * loops.ts softmaxForward, gradients.md eq. 2: alpha = softmax of e over each destination row, per
 * head, with the row max subtracted. The wasm does the JS's steps in float64 where the JS does (only
 * exp is its own polynomial, within 3e-13 of Math.exp), so results match to the last float32 bit
 * but for rare ties.
 */
export function softmaxForward(rowPtr: I32, e: F32, H: number, alpha: F32): void {
  if (!softmaxForwardSimd(rowPtr, e, H, alpha)) js.softmaxForward(rowPtr, e, H, alpha);
}

function softmaxForwardSimd(rowPtr: I32, e: F32, H: number, alpha: F32): boolean {
  const N = rowPtr.length - 1;
  if (N <= 0 || !isCount(H) || H === 0 || !simdEnabled()) return false;
  if (!disjoint([alpha], [rowPtr, e])) return false;
  const f = Frame.open([rowPtr, e, alpha]);
  if (f === null) return false;
  if (!f.inRange(0, rows(Math.min(e.length, alpha.length), H) + 1)) {
    f.abandon();
    return false;
  }
  const [pRow, pE, pAlpha] = f.ptr;
  // About 30 operations per (edge, head) for exp.
  f.run('softmax_forward', [pRow, pE, H, pAlpha], rowSplit(rowPtr, N, taskCount(e.length * 30, N)));
  f.close([2]);
  return true;
}

/** loops.ts softmaxBackward, gradients.md "Softmax stage": dE_k = alpha_k (dAlpha_k - sum_{k'->i} alpha_k' dAlpha_k'). */
export function softmaxBackward(rowPtr: I32, alpha: F32, dAlpha: F32, H: number, dE: F32): void {
  if (!softmaxBackwardSimd(rowPtr, alpha, dAlpha, H, dE)) js.softmaxBackward(rowPtr, alpha, dAlpha, H, dE);
}

function softmaxBackwardSimd(rowPtr: I32, alpha: F32, dAlpha: F32, H: number, dE: F32): boolean {
  const N = rowPtr.length - 1;
  if (N <= 0 || !isCount(H) || H === 0 || !simdEnabled()) return false;
  if (!disjoint([dE], [rowPtr, alpha, dAlpha])) return false;
  const f = Frame.open([rowPtr, alpha, dAlpha, dE]);
  if (f === null) return false;
  if (!f.inRange(0, rows(Math.min(alpha.length, dAlpha.length, dE.length), H) + 1)) {
    f.abandon();
    return false;
  }
  const [pRow, pAlpha, pDAlpha, pDE] = f.ptr;
  f.run('softmax_backward', [pRow, pAlpha, pDAlpha, H, pDE], rowSplit(rowPtr, N, taskCount(alpha.length * 4, N)));
  f.close([3]);
  return true;
}

/** gemm's epilogue activations, numbered as tfjs-backend-wasm's FusableActivation. */
export const GEMM_ACTIVATIONS = { linear: 0, relu: 1, relu6: 2, prelu: 3, leakyrelu: 4, sigmoid: 5, elu: 6 } as const;
export type GemmActivation = keyof typeof GEMM_ACTIVATIONS;

/** One (batched) dense product out = act(A B + bias), TF.js's BatchMatMul / _FusedMatMul. */
export interface DenseProduct {
  /** A: batchA blocks of [M, K], or of [K, M] when transA. */
  a: F32;
  transA: boolean;
  /** B: batchB blocks of [K, N], or of [N, K] when transB. */
  b: F32;
  transB: boolean;
  M: number;
  K: number;
  N: number;
  /** Batch counts: each 1 (broadcast to every batch) or the output's batch count. */
  batchA: number;
  batchB: number;
  /** Added to every row: N floats, or 1 for all columns. */
  bias?: F32 | null;
  activation?: GemmActivation;
  /** PReLU's weights (activation 'prelu'): N floats, or 1. */
  prelu?: F32 | null;
  /** LeakyReLU's slope (activation 'leakyrelu'). */
  leakyreluAlpha?: number;
}

/**
 * out = act(A B + bias) for a DenseProduct, out [batch, M, N], on the kernels' threads (the
 * gemm of gat-kernels.ts: B packed into panels of 8 columns by gemm_pack_b, then 4 x 8 tiles of
 * out, k in cache-sized chunks; see there). Every element of out is computed by one task and sums
 * its K terms in k order from 0, one f32 multiply and one f32 add each, so the result is the same
 * to the bit for any thread count (and any task split). Returns false (nothing written) when the
 * SIMD module is off, the shapes do not fit the arrays, out overlaps an input, or the memory
 * cannot grow; the caller then runs another product (TF.js's own).
 */
export function denseProduct(p: DenseProduct, out: F32): boolean {
  const { M, K, N } = p;
  const batch = Math.max(p.batchA, p.batchB);
  if (!productFits(p, out) || !simdEnabled()) return false;
  if (batch * M * N === 0) return true;
  const NP = Math.ceil(N / 8), Np = NP * 8;
  const bBatches = p.batchB === batch ? batch : 1;
  // C [batch, M, Np] is out itself where out lies in the host heap and N is a multiple of 8. A
  // copied A is followed by B, the padded vectors and the blocks, so the 12 bytes a tile past row
  // M of a transposed A reads past A's end stay inside the frame (an A in place has 16 bytes of
  // memory after it: inHost).
  const outView = out.length === batch * M * N ? out : out.subarray(0, batch * M * N);
  const f = Frame.open([p.a, p.b, padded(p.bias, Np), padded(p.prelu, Np)], [bBatches * NP * K * 32, { bytes: batch * M * Np * 4, into: outView }]);
  if (f === null) return false;
  const [pA, pB, pBias, pPrelu, pPacked, pC] = f.ptr;
  f.run('gemm_pack_b', [pB, p.transB ? 1 : N, p.transB ? K : 1, K * N, K, N, pPacked],
    evenSplit(bBatches * NP, taskCount(bBatches * K * Np, bBatches * NP, 1)));
  const act = GEMM_ACTIVATIONS[p.activation ?? 'linear'];
  f.run('gemm', [
    pA, p.transA ? 1 : K, p.transA ? M : 1, p.batchA === batch ? M * K : 0, pPacked, bBatches > 1 ? 1 : 0, pC,
    M, K, N, pBias, act, p.leakyreluAlpha ?? 0, act === GEMM_ACTIVATIONS.prelu ? pPrelu : 0,
  ], gemmTasks(batch * Math.ceil(M / 4), NP, (batch * M * K * N) / GEMM_MACS_PER_WORK));
  if (Np !== N) f.inst.exports.gemm_unpad(pC, batch, M, N);
  f.close([]);
  return true;
}

/** gemm's multiply-adds per unit of the split threshold's work: the threshold counts scalar
 * multiply-adds of the stage kernels (a few ns each); gemm's run about 8 to the ns. */
const GEMM_MACS_PER_WORK = 8;

/** Whether a DenseProduct's counts are whole, its arrays hold them and out overlaps no input. */
function productFits(p: DenseProduct, out: F32): boolean {
  const { M, K, N, batchA, batchB } = p;
  const batch = Math.max(batchA, batchB);
  if (![M, K, N, batchA, batchB].every(isCount) || !Object.hasOwn(GEMM_ACTIVATIONS, p.activation ?? 'linear')) return false;
  if ((batchA !== 1 && batchA !== batch) || (batchB !== 1 && batchB !== batch)) return false;
  if (p.a.length < batchA * M * K || p.b.length < batchB * K * N || out.length < batch * M * N) return false;
  const vec = (v: F32 | null | undefined) => !v || v.length === N || v.length === 1;
  if (!vec(p.bias) || !vec(p.prelu) || (p.activation === 'prelu' && !p.prelu)) return false;
  if (batch * M * K * N > Number.MAX_SAFE_INTEGER) return false;
  const inputs: Arr[] = [p.a, p.b];
  if (p.bias) inputs.push(p.bias);
  if (p.prelu) inputs.push(p.prelu);
  return disjoint([out], inputs);
}

/** A per-column vector of N or 1 floats as Np floats (zero past N), or null. */
function padded(v: F32 | null | undefined, Np: number): F32 | null {
  if (!v) return null;
  const out = new Float32Array(Np);
  if (v.length === 1) out.fill(v[0], 0, Np);
  else out.set(v);
  return out;
}

/**
 * gemm's tasks: `units` 4-row units (all batches) by NP 8-column panels cut into a grid. A task
 * reads its rows of A and its columns of B once per k chunk, so of the grids with about the
 * wanted number of tasks this takes the one with the least reading per multiply-add,
 * 1 / rows + 1 / columns per task: row strips for a tall A (x W), squarer blocks for a short
 * one (x^T dy, where B is the long operand).
 */
function gemmTasks(units: number, NP: number, work: number): number[][] {
  const want = taskCount(work, units * NP, 2);
  let best = [Math.min(units, want), 1], bestCost = Infinity;
  for (let gc = 1; gc <= Math.min(NP, want); gc++) {
    const gr = Math.min(units, Math.ceil(want / gc));
    const cost = 1 / (Math.ceil(units / gr) * 4) + 1 / (Math.ceil(NP / gc) * 8);
    if (cost < bestCost - 1e-12) [best, bestCost] = [[gr, gc], cost];
  }
  const tasks: number[][] = [];
  for (const [u0, u1] of evenSplit(units, best[0])) {
    for (const [j0, j1] of evenSplit(NP, best[1])) tasks.push([u0, u1, j0, j1]);
  }
  return tasks;
}

/**
 * out [M, N] = A B, A [M, K] (or, transA, stored as [K, M]), B [K, N]: denseProduct of one
 * batch (x W, x^T dy, dy W^T). Returns false (nothing written) when the SIMD module is off.
 */
export function denseMatMul(a: F32, M: number, K: number, transA: boolean, b: F32, N: number, out: F32): boolean {
  return denseProduct({ a, transA, b, transB: false, M, K, N, batchA: 1, batchB: 1 }, out);
}

/**
 * Sums of x viewed as [R, C]: over its rows (byRows: out [C], the sum over leading axes) or over
 * its columns (out [R], over trailing axes), each element's terms added one at a time in index
 * order from 0, as tfjs-backend-wasm's Sum loop does, so the bits are the stock kernel's for any
 * thread count. Threads split the columns (by rows) or the rows. Returns false (nothing written)
 * when the SIMD module is off or the arrays do not fit.
 */
export function sumAxes(x: F32, R: number, C: number, byRows: boolean, out: F32): boolean {
  if (!isCount(R) || !isCount(C) || x.length < R * C || out.length < (byRows ? C : R) || !simdEnabled()) return false;
  if (!disjoint([out], [x])) return false;
  const n = byRows ? C : R;
  if (n === 0) return true;
  const f = Frame.open([x], [{ bytes: n * 4, into: out.length === n ? out : out.subarray(0, n) }]);
  if (f === null) return false;
  const [pX, pOut] = f.ptr;
  if (byRows) {
    // Blocks of four columns (the vector loop), the last task taking the tail.
    const blocks = Math.ceil(C / 4);
    f.run('column_sum', [pX, R, C, pOut], evenSplit(blocks, taskCount((R * C) / WALK_SHARE, blocks, 1)).map(([a, b]) => [a * 4, Math.min(b * 4, C), 0, 0]));
  } else {
    f.run('row_sum', [pX, C, pOut], evenSplit(R, taskCount(R * C, R, 1)));
  }
  f.close([]);
  return true;
}

/**
 * kernels/dropout-hash.ts dropoutLoop (the caller passes its constants: key and seed as uint32,
 * threshold, scale): out[i] = x[i] * (keep_i ? scale : 0), split by element ranges. Same bits as
 * the JS (the hash is integer arithmetic; a float32 times a float32 rounds once in both). Returns
 * false (nothing written) when the SIMD module cannot run it; the caller then runs the JS loop.
 */
export function dropout(x: F32, key: number, seed: number, threshold: number, scale: number, out: F32): boolean {
  const n = x.length;
  if (n === 0 || out.length < n || !simdEnabled() || !disjoint([out], [x])) return false;
  // out is overwritten: reserved, not copied in.
  const f = Frame.open([x], [{ bytes: n * 4, into: out.subarray(0, n) }]);
  if (f === null) return false;
  const [pX, pOut] = f.ptr;
  // Tasks of whole multiples of 4 elements (the vector loop; the last task takes the tail).
  const tasks = evenSplit(Math.ceil(n / 4), taskCount(n * 8, Math.ceil(n / 4))).map(([a, b]) => [a * 4, Math.min(b * 4, n), 0, 0]);
  f.run('dropout', [pX, key | 0, seed | 0, threshold, scale, pOut], tasks);
  f.close([]);
  return true;
}
