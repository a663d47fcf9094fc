/**
 * tfjs-backend-wasm on a shared heap, so that this project's SIMD kernels run on its tensors in
 * place. Why: its memory is not shared as shipped, so the kernels' worker threads could not see
 * it, and every call copied its inputs into the kernels' own memory and its outputs back: at the
 * 1/10-ogbn-arxiv size of README "Threads" about 1 GB per training step, some 170 ms on the
 * calling thread whatever the thread count (measured), the largest part of a step that threads
 * could not share.
 *
 * How: `npm run build` (scripts/build-wasm.mjs) writes tfjs-backend-wasm's three binaries to
 * dist/kernels/wasm/tfjs-wasm/, the SIMD one with its memory's limits flag set to shared (one byte:
 * the same minimum and maximum, 65536 pages; the code is untouched, and a memory that is shared
 * but never used by two threads at once behaves as before). registerWasm points tfjs-backend-wasm
 * there (setWasmPaths) before it starts; attachWasmHeap hands its memory and allocator to the
 * kernels (kernels/simd/memory.ts useHostHeap) on the first kernel call of each backend. TF.js runs
 * nothing while a kernel call is in progress, so its heap is never read and written at once.
 *
 * Without the binaries (a build without this step), with GATV2_NO_SHARED_HEAP set, or when the
 * memory turns out not to be shared, everything works as before, copies included.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { useHostHeap } from '../simd/index.js';

/** The folder of the patched binaries, beside this module (and beside the bundled CLI). */
const BINARIES = new URL('./tfjs-wasm/', import.meta.url);
/** The binary that must be there (the one tfjs-backend-wasm loads where SIMD is supported). */
export const SHARED_SIMD_BINARY = 'tfjs-backend-wasm-simd.wasm';

function envDisabled(): boolean {
  const v = process.env['GATV2_NO_SHARED_HEAP'];
  return v !== undefined && v !== '' && v !== '0';
}

/** The folder to give setWasmPaths (with a trailing slash), or null to keep the stock binaries. */
export function sharedHeapBinaryFolder(): string | null {
  if (envDisabled()) return null;
  const folder = fileURLToPath(BINARIES);
  return existsSync(folder + SHARED_SIMD_BINARY) ? folder : null;
}

interface EmscriptenModule {
  asm?: { memory?: WebAssembly.Memory };
  _malloc?: (bytes: number) => number;
  _free?: (ptr: number) => void;
}

const attached = new WeakSet<object>();

/** Hands a wasm backend's heap to the SIMD kernels, once per backend (a no-op when it is not shared). */
export function attachWasmHeap(backend: object): void {
  if (attached.has(backend)) return;
  attached.add(backend);
  const wasm = (backend as { wasm?: EmscriptenModule }).wasm;
  const memory = wasm?.asm?.memory, malloc = wasm?._malloc, free = wasm?._free;
  // With GATV2_NO_SHARED_HEAP the stock binary ran: its memory is not shared, so useHostHeap
  // ignores it.
  if (!memory || !malloc || !free) return;
  useHostHeap({ memory, malloc: (n) => malloc(n), free: (p) => free(p) });
}
