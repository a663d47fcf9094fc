/**
 * WebAssembly SIMD versions of the hot loops of kernels/loops.ts, with exactly their signatures
 * and semantics (outputs accumulate into what the caller passed, dE === 0 skips, ep / dEp null,
 * empty rows, E = 0), up to float32 rounding. Why: V8 runs the JS loops at about 4.5 ns per
 * multiply-add with no SIMD; the f32x4 loops of gat-kernels.wat are several times faster.
 *
 * The module (dist/kernels/simd/gat-kernels.wasm, built by scripts/build-wasm.mjs) is compiled and
 * instantiated synchronously on first use. It works on its own growable memory: each call copies its
 * inputs and outputs in, runs, and copies the outputs back (about 19 MB in, 2-3 ms, per Cora
 * training step, measured). Working in place on tfjs-wasm's heap would save that, but needs that
 * heap's WebAssembly.Memory, which the backend does not hand to kernels (typed-array-kernel.ts).
 *
 * Every function falls back to its JS twin in loops.ts when:
 * - GATV2_NO_SIMD is set (to anything but "" or "0"), read once at first use;
 * - the .wasm is missing or the engine cannot compile it (no SIMD);
 * - an index or a length would make the JS read or write outside an array (the JS then yields NaN
 *   or drops the write; the wasm would touch another array), or an output overlaps another array:
 *   the JS is the reference for such input, so it runs it;
 * - the memory cannot grow enough.
 */
import { readFileSync } from 'node:fs';
import * as js from '../loops.js';
import type { CsrArrays } from '../loops.js';

type F32 = Float32Array;
type I32 = Int32Array;
type Arr = Float32Array | Int32Array;

/** The exports of gat-kernels.wat; every pointer is a byte address in the module's memory. */
interface Exports {
  in_range(p: number, n: number, hi: number): number;
  sparse_matmul(rowPtr: number, colIdx: number, values: number, w: number, K: number, y: number, N: number): void;
  sparse_matmul_grad(rowPtr: number, colIdx: number, values: number, dy: number, K: number, dw: number, N: number): void;
  score_forward(
    csrSrc: number, csrDst: number, xl: number, xr: number, att: number, ep: number, hasEp: number,
    H: number, C: number, slope: number, e: number, E: number,
  ): void;
  score_backward(
    csrSrc: number, csrDst: number, xl: number, xr: number, att: number, ep: number, hasEp: number,
    dE: number, H: number, C: number, slope: number,
    dxl: number, dxr: number, dAtt: number, dEp: number, hasDEp: number, E: number,
  ): void;
  aggregate_forward(rowPtr: number, csrSrc: number, alpha: number, xl: number, H: number, C: number, out: number, N: number): void;
  aggregate_backward(
    csrSrc: number, csrDst: number, alpha: number, xl: number, dOut: number,
    H: number, C: number, dAlpha: number, dxl: number, E: number,
  ): void;
  softmax_forward(rowPtr: number, e: number, H: number, alpha: number, N: number): void;
  softmax_backward(rowPtr: number, alpha: number, dAlpha: number, H: number, dE: number, N: number): void;
}

const PAGE = 65536;
/** wasm32's limit: 65536 pages of 64 KiB. */
const MAX_PAGES = 65536;
/** After a call that needed more memory than this, drop the memory so a one-off big graph does not
 * keep it (wasm memory never shrinks); the next call instantiates afresh, which is cheap. */
const KEEP_BYTES = 256 * 1024 * 1024;
/** Largest index bound in_range takes (its bound is an i32 compared unsigned). */
const NO_BOUND = 0x7fffffff;

interface Instance {
  exports: Exports;
  memory: WebAssembly.Memory;
}

let module: WebAssembly.Module | null | undefined;
let instance: Instance | null = null;
let disabledBy: string | null | undefined;
let runs = 0;

function envDisabled(): boolean {
  const v = process.env['GATV2_NO_SIMD'];
  return v !== undefined && v !== '' && v !== '0';
}

/** Compiles the module once; null (and the reason in `disabledBy`) when it cannot be used. */
function compiled(): WebAssembly.Module | null {
  if (module !== undefined) return module;
  module = null;
  if (envDisabled()) {
    disabledBy = 'GATV2_NO_SIMD is set';
    return module;
  }
  try {
    const bytes = readFileSync(new URL('./gat-kernels.wasm', import.meta.url));
    module = new WebAssembly.Module(bytes);
    disabledBy = null;
  } catch (err) {
    disabledBy = `cannot load gat-kernels.wasm: ${(err as Error).message}`;
  }
  return module;
}

function instantiate(m: WebAssembly.Module): Instance {
  const memory = new WebAssembly.Memory({ initial: 16, maximum: MAX_PAGES });
  const inst = new WebAssembly.Instance(m, { env: { memory } });
  return { exports: inst.exports as unknown as Exports, memory };
}

/** Whether the exported functions run the SIMD module (false: they run the JS loops). */
export function simdEnabled(): boolean {
  return compiled() !== null;
}

/** How many calls have run in the wasm so far (not in the JS fallback): lets tests see which ran. */
export function simdRunCount(): number {
  return runs;
}

/** Why the SIMD module is not in use, or null when it is. */
export function simdDisabledReason(): string | null {
  compiled();
  return disabledBy ?? null;
}

function overlaps(a: Arr, b: Arr): boolean {
  return a !== b
    ? a.buffer === b.buffer && a.byteLength > 0 && b.byteLength > 0 &&
        a.byteOffset < b.byteOffset + b.byteLength && b.byteOffset < a.byteOffset + a.byteLength
    : a.byteLength > 0;
}

/** True when no output shares memory with another array (the JS defines what aliasing does). */
function disjoint(outputs: Arr[], others: Arr[]): boolean {
  for (let i = 0; i < outputs.length; i++) {
    for (const o of others) if (overlaps(outputs[i], o)) return false;
    for (let j = i + 1; j < outputs.length; j++) if (overlaps(outputs[i], outputs[j])) return false;
  }
  return true;
}

function isCount(n: number): boolean {
  return Number.isInteger(n) && n >= 0;
}

/** How many whole rows of `stride` elements an array of `len` holds (any count when stride is 0). */
function rows(len: number, stride: number): number {
  return stride > 0 ? Math.min(Math.floor(len / stride), NO_BOUND) : NO_BOUND;
}

/** The arrays of one call, copied into the module's memory. */
class Frame {
  readonly ptr: number[] = [];
  private constructor(readonly inst: Instance, private readonly arrays: (Arr | null)[]) {}

  /** Lays the arrays out 16-byte aligned, grows the memory, copies them in; null if it cannot grow. */
  static open(arrays: (Arr | null)[]): Frame | null {
    const m = compiled();
    if (m === null) return null;
    let top = 16;
    const ptr: number[] = [];
    for (const a of arrays) {
      ptr.push(a ? top : 0);
      if (a) top += (a.byteLength + 15) & ~15;
    }
    const pages = Math.ceil(top / PAGE);
    if (pages > MAX_PAGES) return null;
    if (instance === null) instance = instantiate(m);
    const have = instance.memory.buffer.byteLength / PAGE;
    if (pages > have) {
      try {
        instance.memory.grow(pages - have);
      } catch {
        return null;
      }
    }
    const f = new Frame(instance, arrays);
    f.ptr.push(...ptr);
    const heap = new Uint8Array(instance.memory.buffer);
    arrays.forEach((a, i) => {
      if (a) heap.set(new Uint8Array(a.buffer, a.byteOffset, a.byteLength), ptr[i]);
    });
    return f;
  }

  /** 1 when every int32 of array k lies in [0, hi), over its first n entries (all by default). */
  inRange(k: number, hi: number, n?: number): boolean {
    const a = this.arrays[k]!;
    return this.inst.exports.in_range(this.ptr[k], n ?? a.length, hi) === 1;
  }

  /** Copies the given arrays back out and releases a memory that grew too big to keep. */
  close(outputs: number[]): void {
    runs++;
    const buf = this.inst.memory.buffer;
    for (const k of outputs) {
      const a = this.arrays[k];
      if (a) a.set(new Float32Array(buf, this.ptr[k], a.length));
    }
    if (buf.byteLength > KEEP_BYTES) instance = null;
  }

  /** Gives up without writing anything back. */
  abandon(): void {
    if (this.inst.memory.buffer.byteLength > KEEP_BYTES) instance = null;
  }
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
  if (grad) f.inst.exports.sparse_matmul_grad(pRow, pCol, pVal, pDense, K, pOut, N);
  else f.inst.exports.sparse_matmul(pRow, pCol, pVal, pDense, K, pOut, N);
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
  const f = Frame.open([g.csrSrc, g.csrDst, xl, xr, att, ep, e]);
  if (f === null) return false;
  if (!f.inRange(0, rows(xl.length, HC)) || !f.inRange(1, rows(xr.length, HC), E)) {
    f.abandon();
    return false;
  }
  const [pSrc, pDst, pXl, pXr, pAtt, pEp, pE] = f.ptr;
  f.inst.exports.score_forward(pSrc, pDst, pXl, pXr, pAtt, pEp, ep !== null ? 1 : 0, H, C, slope, pE, E);
  f.close([6]);
  return true;
}

/**
 * loops.ts scoreBackward, gradients.md "Score stage": delta_k = dE_k a s_k; dL/da += dE_k u_k;
 * dxr[i] += delta_k; dxl[j] += delta_k; dep[k] = delta_k.
 */
export function scoreBackward(
  g: CsrArrays, xl: F32, xr: F32, att: F32, ep: F32 | null, dE: F32,
  H: number, C: number, slope: number,
  dxl: F32, dxr: F32, dAtt: F32, dEp: F32 | null,
): void {
  if (!scoreBackwardSimd(g, xl, xr, att, ep, dE, H, C, slope, dxl, dxr, dAtt, dEp)) {
    js.scoreBackward(g, xl, xr, att, ep, dE, H, C, slope, dxl, dxr, dAtt, dEp);
  }
}

function scoreBackwardSimd(
  g: CsrArrays, xl: F32, xr: F32, att: F32, ep: F32 | null, dE: F32,
  H: number, C: number, slope: number,
  dxl: F32, dxr: F32, dAtt: F32, dEp: F32 | null,
): boolean {
  const E = g.csrSrc.length, HC = H * C;
  if (E === 0 || !isCount(H) || !isCount(C) || !simdEnabled()) return false;
  if (g.csrDst.length < E || dE.length < E * H || att.length < HC || dAtt.length < HC) return false;
  if ((ep !== null && ep.length < E * HC) || (dEp !== null && dEp.length < E * HC)) return false;
  const inputs: Arr[] = [g.csrSrc, g.csrDst, xl, xr, att, dE];
  if (ep !== null) inputs.push(ep);
  const outputs: Arr[] = [dxl, dxr, dAtt];
  if (dEp !== null) outputs.push(dEp);
  if (!disjoint(outputs, inputs)) return false;
  const f = Frame.open([g.csrSrc, g.csrDst, xl, xr, att, ep, dE, dxl, dxr, dAtt, dEp]);
  if (f === null) return false;
  const jRows = rows(Math.min(xl.length, dxl.length), HC), iRows = rows(Math.min(xr.length, dxr.length), HC);
  if (!f.inRange(0, jRows) || !f.inRange(1, iRows, E)) {
    f.abandon();
    return false;
  }
  const [pSrc, pDst, pXl, pXr, pAtt, pEp, pDE, pDxl, pDxr, pDAtt, pDEp] = f.ptr;
  f.inst.exports.score_backward(
    pSrc, pDst, pXl, pXr, pAtt, pEp, ep !== null ? 1 : 0, pDE, H, C, slope,
    pDxl, pDxr, pDAtt, pDEp, dEp !== null ? 1 : 0, E,
  );
  f.close([7, 8, 9, 10]);
  return true;
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
  f.inst.exports.aggregate_forward(pRow, pSrc, pAlpha, pXl, H, C, pOut, N);
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
  const f = Frame.open([g.csrSrc, g.csrDst, alpha, xl, dOut, dAlpha, dxl]);
  if (f === null) return false;
  if (!f.inRange(0, rows(Math.min(xl.length, dxl.length), HC)) || !f.inRange(1, rows(dOut.length, HC), E)) {
    f.abandon();
    return false;
  }
  const [pSrc, pDst, pAlpha, pXl, pDOut, pDAlpha, pDxl] = f.ptr;
  f.inst.exports.aggregate_backward(pSrc, pDst, pAlpha, pXl, pDOut, H, C, pDAlpha, pDxl, E);
  f.close([5, 6]);
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
  f.inst.exports.softmax_forward(pRow, pE, H, pAlpha, N);
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
  f.inst.exports.softmax_backward(pRow, pAlpha, pDAlpha, H, pDE, N);
  f.close([3]);
  return true;
}
