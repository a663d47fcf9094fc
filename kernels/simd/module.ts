/**
 * The SIMD module (gat-kernels.wasm, built from ./assembly/gat-kernels.ts): its exports, compiled
 * once, and what an instance of it on one memory is. The module imports its memory (shared: the
 * worker threads run the same module on it); ./memory.ts makes the instances, ./threads.ts runs
 * their kernels on several threads, ./index.ts is the kernels' JS face.
 */
import { readFileSync } from 'node:fs';

/** The exports of gat-kernels.wasm; every pointer is a byte address in the module's memory. Each
 * kernel's last parameters are the range it covers (see the assembly source). */
export interface Exports {
  in_range(p: number, n: number, hi: number): number;
  sparse_matmul(rowPtr: number, colIdx: number, values: number, w: number, K: number, y: number, i0: number, i1: number): void;
  sparse_matmul_grad(rowPtr: number, colIdx: number, values: number, dy: number, K: number, dw: number, N: number, k0: number, k1: number): void;
  score_forward(
    csrSrc: number, csrDst: number, xl: number, xr: number, att: number, ep: number, hasEp: number,
    H: number, C: number, slope: number, e: number, p0: number, p1: number,
  ): void;
  score_backward(
    csrSrc: number, csrDst: number, xl: number, xr: number, att: number, ep: number, hasEp: number,
    dE: number, H: number, C: number, slope: number,
    dxl: number, withDxl: number, dxr: number, partials: number, dEp: number, hasDEp: number, blocks: number,
    signs: number, hasSigns: number, b0: number, b1: number,
  ): void;
  score_backward_dxl(
    srcPtr: number, srcOrder: number, signs: number, att: number, H: number, C: number, slope: number, dxl: number, j0: number, j1: number,
  ): void;
  score_add_rows(rows: number, R: number, C: number, out: number, c0: number, c1: number): void;
  non_decreasing(p: number, n: number): number;
  source_order_check(srcPtr: number, srcOrder: number, csrSrc: number, bad: number, j0: number, j1: number): void;
  aggregate_forward(rowPtr: number, csrSrc: number, alpha: number, xl: number, H: number, C: number, out: number, i0: number, i1: number): void;
  aggregate_backward(
    csrSrc: number, csrDst: number, alpha: number, xl: number, dOut: number,
    H: number, C: number, dAlpha: number, dxl: number, E: number, h0: number, h1: number,
  ): void;
  softmax_forward(rowPtr: number, e: number, H: number, alpha: number, i0: number, i1: number): void;
  softmax_backward(rowPtr: number, alpha: number, dAlpha: number, H: number, dE: number, i0: number, i1: number): void;
  gemm_pack_b(b: number, sbk: number, sbn: number, sbb: number, K: number, N: number, bp: number, p0: number, p1: number): void;
  gemm(
    a: number, sam: number, sak: number, sab: number, bp: number, bBatched: number, c: number, M: number, K: number, N: number,
    bias: number, act: number, alpha: number, prelu: number, u0: number, u1: number, j0: number, j1: number,
  ): void;
  gemm_unpad(c: number, batch: number, M: number, N: number): void;
  column_sum(x: number, R: number, C: number, out: number, n0: number, n1: number): void;
  row_sum(x: number, C: number, out: number, r0: number, r1: number): void;
  dropout(x: number, key: number, seed: number, threshold: number, scale: number, out: number, i0: number, i1: number): void;
}

/** The kernels a job can name (by index in the control block). */
export const KERNELS = [
  'sparse_matmul', 'sparse_matmul_grad', 'score_forward', 'score_backward',
  'aggregate_forward', 'aggregate_backward', 'softmax_forward', 'softmax_backward', 'gemm_pack_b', 'gemm', 'dropout', 'column_sum', 'row_sum',
  'score_backward_dxl', 'score_add_rows', 'source_order_check',
] as const;
export type KernelName = (typeof KERNELS)[number];

/**
 * tfjs-backend-wasm's heap when its memory is shared (kernels/wasm/shared-heap.ts loads its binary
 * with the memory flagged shared): the kernels then run on the tensors where they lie, and take
 * the blocks they need from its allocator.
 */
export interface HostHeap {
  memory: WebAssembly.Memory;
  malloc(bytes: number): number;
  free(ptr: number): void;
}

export interface Instance {
  exports: Exports;
  memory: WebAssembly.Memory;
  /** Which memory this is (the workers keep an instance per number). */
  epoch: number;
  /** The host heap this memory is, or null for the module's own memory. */
  heap: HostHeap | null;
}

let module: WebAssembly.Module | null | undefined;
let disabledBy: string | null | undefined;

function envDisabled(): boolean {
  const v = process.env['GATV2_NO_SIMD'];
  return v !== undefined && v !== '' && v !== '0';
}

/** Compiles the module once; null (and the reason in `disabledBy`) when it cannot be used. */
export function compiled(): WebAssembly.Module | null {
  if (module !== undefined) return module;
  module = null;
  if (envDisabled()) {
    disabledBy = 'GATV2_NO_SIMD is set';
  } else {
    try {
      const bytes = readFileSync(new URL('./gat-kernels.wasm', import.meta.url));
      module = new WebAssembly.Module(bytes);
      disabledBy = null;
    } catch (err) {
      disabledBy = `cannot load gat-kernels.wasm: ${(err as Error).message}`;
    }
  }
  // Once per process: the JS loops are several times slower and single-threaded, which a user
  // timing a run should know.
  if (module === null) process.stderr.write(`gatv2: using the JS kernel loops (single-threaded): ${disabledBy}\n`);
  return module;
}

/** An instance of the kernels on `memory` (the worker threads make theirs with this too). */
export function instantiateKernels(m: WebAssembly.Module, memory: WebAssembly.Memory): Exports {
  return new WebAssembly.Instance(m, { env: { memory } }).exports as unknown as Exports;
}

/** Whether the exported functions run the SIMD module (false: they run the JS loops). */
export function simdEnabled(): boolean {
  return compiled() !== null;
}

/** Why the SIMD module is not in use, or null when it is. */
export function simdDisabledReason(): string | null {
  compiled();
  return disabledBy ?? null;
}
