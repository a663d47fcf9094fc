/**
 * The memories the SIMD kernels run on, and how one call's arrays get there (Frame). Two shared
 * memories:
 * - tfjs-backend-wasm's heap, when the wasm backend loaded the build's binary whose memory is
 *   shared (kernels/wasm/shared-heap.ts; useHostHeap): arrays that lie there (tensors' views) are
 *   read and written in place, and what does not (scratch, JS arrays) goes to one block of its
 *   allocator for the call. Before this, every call copied its inputs in and its outputs back: at
 *   the 1/10-ogbn-arxiv size of README "Threads" about 1 GB per training step, some 170 ms on the
 *   calling thread whatever the thread count (measured).
 * - the module's own growable memory otherwise (the cpu backend, plain arrays): each call copies
 *   its inputs in, runs, and copies the outputs back (about 19 MB in, 2-3 ms, per Cora step on
 *   cpu).
 */
import { compiled, instantiateKernels, type HostHeap, type Instance, type KernelName } from './module.js';
import { retire, run } from './threads.js';

type F32 = Float32Array;
type Arr = Float32Array | Int32Array;

const PAGE = 65536;
/** wasm32's limit: 65536 pages of 64 KiB (a shared memory must declare its maximum). */
const MAX_PAGES = 65536;
/** After a call that needed more memory than this, drop the memory so a one-off big graph does not
 * keep it (wasm memory never shrinks); the next call instantiates afresh, which is cheap. */
const KEEP_BYTES = 256 * 1024 * 1024;
/** The module on its own memory (arrays are copied in and out), made on first use. */
let own: Instance | null = null;
/** The module on the host heap (arrays that live there are used in place), or null. */
let host: Instance | null = null;
/** The SharedArrayBuffers the host memory has shown (a new one after each growth): an array on
 * one of them lies in the host heap, at its byteOffset. */
let hostBuffers = new WeakSet<ArrayBufferLike>();
let epochs = 0;
let runs = 0;
let copiedBytes = 0;

function instantiate(m: WebAssembly.Module): Instance {
  const memory = new WebAssembly.Memory({ initial: 16, maximum: MAX_PAGES, shared: true });
  return { exports: instantiateKernels(m, memory), memory, epoch: ++epochs, heap: null };
}

function ownInstance(m: WebAssembly.Module): Instance {
  if (own === null) own = instantiate(m);
  return own;
}

/**
 * Runs the kernels on tfjs-backend-wasm's heap from now on (null: no longer). Arrays that lie in
 * it are then read and written in place: at the 1/10-ogbn-arxiv size of README "Threads" that
 * saves about 1 GB of copies per training step (some 170 ms on one thread). A heap whose memory is
 * not shared is ignored: worker threads could not see it.
 */
export function useHostHeap(heap: HostHeap | null): void {
  if (host !== null && heap !== null && host.memory === heap.memory) return;
  if (host !== null) retire(host);
  host = null;
  hostBuffers = new WeakSet();
  const m = compiled();
  if (heap === null || m === null || !(heap.memory.buffer instanceof SharedArrayBuffer)) return;
  host = { exports: instantiateKernels(m, heap.memory), memory: heap.memory, epoch: ++epochs, heap };
  noteHostBuffer();
}

/** Whether the kernels run on a host heap (for tests and `gatv2 backends`). */
export function hostHeapInUse(): boolean {
  return host !== null;
}

/** Remembers the host memory's current buffer (a growth makes a new one; old ones stay valid). */
function noteHostBuffer(): void {
  if (host !== null) hostBuffers.add(host.memory.buffer);
}

/** Whether `a` lies in the host heap with 16 bytes of memory after it (tiles may read up to 12
 * bytes past an operand's end; see gemm). */
function inHost(a: Arr): boolean {
  return host !== null && hostBuffers.has(a.buffer) && a.byteOffset + a.byteLength + 16 <= host.memory.buffer.byteLength;
}

/** How many calls have run in the wasm so far (not in the JS fallback): lets tests see which ran. */
export function simdRunCount(): number {
  return runs;
}

/** Bytes copied into and out of the kernels' memory so far (arrays used in place cost none). */
export function simdCopiedBytes(): number {
  return copiedBytes;
}

/** Drops the module's own memory (and the workers' hold on it). */
function dropOwnMemory(): void {
  if (own !== null) retire(own);
  own = null;
}

/** Whether a and b lie in one memory: one buffer, or two buffers of the host memory. */
function sameMemory(a: Arr, b: Arr): boolean {
  return a.buffer === b.buffer || (hostBuffers.has(a.buffer) && hostBuffers.has(b.buffer));
}

function overlaps(a: Arr, b: Arr): boolean {
  return a !== b
    ? sameMemory(a, b) && a.byteLength > 0 && b.byteLength > 0 &&
        a.byteOffset < b.byteOffset + b.byteLength && b.byteOffset < a.byteOffset + a.byteLength
    : a.byteLength > 0;
}

/** True when no output shares memory with another array (the JS defines what aliasing does). */
export function disjoint(outputs: Arr[], others: Arr[]): boolean {
  noteHostBuffer();
  for (let i = 0; i < outputs.length; i++) {
    for (const o of others) if (overlaps(outputs[i], o)) return false;
    for (let j = i + 1; j < outputs.length; j++) if (overlaps(outputs[i], outputs[j])) return false;
  }
  return true;
}

/** A block a kernel writes before it reads it: scratch, or an output it overwrites. `into`
 * receives the block's first into.length floats at the end, or is the block itself where it lies
 * in the host heap and is big enough. */
interface Block {
  bytes: number;
  into?: F32;
}

/** Where a frame put one array or block: its byte address, and whether it is a copy. */
interface Placed {
  ptr: number;
  copy: boolean;
}

/**
 * The arrays and blocks of one call in the module's memory. On the host heap (when any of them
 * lies there) those that lie there are used in place and the rest go to one block of its
 * allocator; else everything is copied into the module's own memory.
 */
export class Frame {
  readonly ptr: number[];
  private constructor(
    readonly inst: Instance,
    private readonly arrays: (Arr | null)[],
    private readonly blocks: Block[],
    private readonly placed: Placed[],
    /** The host-heap block to free at the end (0: none). */
    private readonly held: number,
  ) {
    this.ptr = placed.map((p) => p.ptr);
  }

  /**
   * Places the arrays, then the blocks (their pointers follow the arrays' in `ptr`), 16-byte
   * aligned, and copies in the arrays that are not in place; null when the memory cannot hold them.
   */
  static open(arrays: (Arr | null)[], blocks: (number | Block)[] = []): Frame | null {
    const m = compiled();
    if (m === null) return null;
    const bs = blocks.map((b) => (typeof b === 'number' ? { bytes: b } : b));
    noteHostBuffer();
    // Which arrays, and which blocks' targets (big enough to be the block), lie in the host heap.
    const here = [
      ...arrays.map((a) => a !== null && inHost(a)),
      ...bs.map((b) => b.into !== undefined && b.into.byteLength >= b.bytes && inHost(b.into)),
    ];
    const onHost = here.includes(true);
    // Byte offsets (from the start of the copies) of what is not in place; -1: in place, or null.
    let top = 0;
    const at = (bytes: number) => {
      const o = top;
      top += (bytes + 15) & ~15;
      return o;
    };
    const rel = [
      ...arrays.map((a, i) => (a === null || here[i] ? -1 : at(a.byteLength))),
      ...bs.map((b, i) => (here[arrays.length + i] ? -1 : at(b.bytes))),
    ];
    const inst = onHost ? host! : ownInstance(m);
    // [aligned start of the copies, the allocator's pointer to free (0: none)]
    const block = onHost ? hostBlock(top) : ownBlock(inst, top);
    if (block === null) return null;
    const [base, held] = block;
    const placed = rel.map((o, i): Placed => {
      if (o >= 0) return { ptr: base + o, copy: true };
      const a = i < arrays.length ? arrays[i] : bs[i - arrays.length].into!;
      return { ptr: a ? a.byteOffset : 0, copy: false };
    });
    const heap = new Uint8Array(inst.memory.buffer);
    arrays.forEach((a, i) => {
      if (a && placed[i].copy) {
        heap.set(new Uint8Array(a.buffer, a.byteOffset, a.byteLength), placed[i].ptr);
        copiedBytes += a.byteLength;
      }
    });
    return new Frame(inst, arrays, bs, placed, held);
  }

  /** Runs a kernel on this frame's memory (threads.ts run). */
  run(kernel: KernelName, args: number[], tasks: number[][]): void {
    run(this.inst, kernel, args, tasks);
  }

  /** 1 when every int32 of array k lies in [0, hi), over its first n entries (all by default). */
  inRange(k: number, hi: number, n?: number): boolean {
    const a = this.arrays[k]!;
    return this.inst.exports.in_range(this.ptr[k], n ?? a.length, hi) === 1;
  }

  /** Copies out the given arrays and every block with an `into` (those that are copies) and
   * releases the frame's memory. */
  close(outputs: number[]): void {
    runs++;
    const buf = this.inst.memory.buffer;
    for (const k of outputs) {
      const a = this.arrays[k];
      if (a && this.placed[k].copy) {
        a.set(new Float32Array(buf, this.placed[k].ptr, a.length));
        copiedBytes += a.byteLength;
      }
    }
    this.blocks.forEach((b, i) => {
      const p = this.placed[this.arrays.length + i];
      if (b.into !== undefined && p.copy) {
        b.into.set(new Float32Array(buf, p.ptr, b.into.length));
        copiedBytes += b.into.byteLength;
      }
    });
    this.abandon();
  }

  /** Releases the frame's memory without writing anything back. */
  abandon(): void {
    if (this.held !== 0) this.inst.heap!.free(this.held);
    else if (this.inst.heap === null && this.inst.memory.buffer.byteLength > KEEP_BYTES) dropOwnMemory();
  }
}

/** A host-heap block for `bytes` of copies: [its 16-byte aligned start, the pointer to free]
 * ([0, 0]: nothing needed), or null when the allocator has no room. */
function hostBlock(bytes: number): [number, number] | null {
  if (bytes === 0) return [0, 0];
  let p = 0;
  try {
    p = host!.heap!.malloc(bytes + 16);
  } catch {
    return null;
  }
  noteHostBuffer();
  return p === 0 ? null : [(p + 15) & ~15, p];
}

/** Grows the own memory to hold `bytes` of copies from byte 16 on: [16, 0], or null when it
 * cannot grow. */
function ownBlock(inst: Instance, bytes: number): [number, number] | null {
  const pages = Math.ceil((16 + bytes) / PAGE);
  if (pages > MAX_PAGES) return null;
  const have = inst.memory.buffer.byteLength / PAGE;
  if (pages > have) {
    try {
      inst.memory.grow(pages - have);
    } catch {
      return null;
    }
  }
  return [16, 0];
}
