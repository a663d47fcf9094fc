/**
 * WebAssembly SIMD versions of the hot loops of kernels/loops.ts, with exactly their signatures
 * and semantics (outputs accumulate into what the caller passed, dE === 0 skips, ep / dEp null,
 * empty rows, E = 0), up to float32 rounding, run on several threads. Why: V8 runs the JS loops at
 * about 4.5 ns per multiply-add with no SIMD; the f32x4 loops of gat-kernels.wasm (built from
 * kernels/simd/assembly/gat-kernels.ts) are several times faster, and a training step on a large
 * graph has enough work per kernel to share it between cores.
 *
 * The module is compiled and instantiated synchronously on first use. It runs on one of two
 * shared memories:
 * - tfjs-backend-wasm's heap, when the wasm backend loaded the build's binary whose memory is
 *   shared (kernels/wasm/shared-heap.ts; useHostHeap): arrays that lie there (tensors' views) are
 *   read and written in place, and what does not (scratch, JS arrays) goes to one block of its
 *   allocator for the call. Before this, every call copied its inputs in and its outputs back: at
 *   the 1/10-ogbn-arxiv size of README "Threads" about 1 GB per training step, some 170 ms on the
 *   calling thread whatever the thread count (measured).
 * - its own growable memory otherwise (the cpu backend, plain arrays): each call copies its inputs
 *   in, runs, and copies the outputs back (about 19 MB in, 2-3 ms, per Cora step on cpu).
 *
 * Threads (`--threads N`, GATV2_THREADS, default os.availableParallelism()): a call with enough
 * work is cut into tasks by the ranges each kernel takes (destination rows, edges, source rows,
 * heads or output columns; see the assembly source). Every output element belongs to exactly one
 * task and accumulates its terms in the JS loop's order within it (score_backward's dL/da: per
 * block of rows, then the blocks in order, blocks that depend on the graph only), so results are
 * bit-identical for any thread count and any assignment of tasks to threads. Worker threads (./worker.js) share the
 * memory and a small control block; the calling thread publishes a job, takes tasks itself like
 * the workers do, and blocks (Atomics.wait) until all are done, so the kernels stay synchronous.
 * Workers start lazily; until they are up, the calling thread runs every task itself.
 *
 * Every function falls back to its JS twin in loops.ts (single-threaded; said once on stderr) when:
 * - GATV2_NO_SIMD is set (to anything but "" or "0"), read once at first use;
 * - the .wasm is missing or the engine cannot compile it (no SIMD);
 * - an index or a length would make the JS read or write outside an array (the JS then yields NaN
 *   or drops the write; the wasm would touch another array), or an output overlaps another array:
 *   the JS is the reference for such input, so it runs it;
 * - the memory cannot grow enough.
 */
import { existsSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { MessageChannel, Worker, type MessagePort } from 'node:worker_threads';
import * as js from '../loops.js';
import type { CsrArrays } from '../loops.js';

type F32 = Float32Array;
type I32 = Int32Array;
type Arr = Float32Array | Int32Array;

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
type KernelName = (typeof KERNELS)[number];

const PAGE = 65536;
/** wasm32's limit: 65536 pages of 64 KiB (a shared memory must declare its maximum). */
const MAX_PAGES = 65536;
/** After a call that needed more memory than this, drop the memory so a one-off big graph does not
 * keep it (wasm memory never shrinks); the next call instantiates afresh, which is cheap. */
const KEEP_BYTES = 256 * 1024 * 1024;
/** Largest index bound in_range takes (its bound is an i32 compared unsigned). */
const NO_BOUND = 0x7fffffff;

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

interface Instance {
  exports: Exports;
  memory: WebAssembly.Memory;
  /** Which memory this is (the workers keep an instance per number). */
  epoch: number;
  /** The host heap this memory is, or null for the module's own memory. */
  heap: HostHeap | null;
}

let module: WebAssembly.Module | null | undefined;
/** The module on its own memory (arrays are copied in and out), made on first use. */
let own: Instance | null = null;
/** The module on the host heap (arrays that live there are used in place), or null. */
let host: Instance | null = null;
/** The SharedArrayBuffers the host memory has shown (a new one after each growth): an array on
 * one of them lies in the host heap, at its byteOffset. */
let hostBuffers = new WeakSet<ArrayBufferLike>();
let epochs = 0;
let disabledBy: string | null | undefined;
let runs = 0;
let copiedBytes = 0;

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

/** Whether the exported functions run the SIMD module (false: they run the JS loops). */
export function simdEnabled(): boolean {
  return compiled() !== null;
}

/** How many calls have run in the wasm so far (not in the JS fallback): lets tests see which ran. */
export function simdRunCount(): number {
  return runs;
}

/** How many calls of each kernel ran as more than one task (for tests: which split ran). */
export function splitRunCounts(): Record<string, number> {
  return { ...splitRuns };
}

const splitRuns: Record<string, number> = {};

/** Bytes copied into and out of the kernels' memory so far (arrays used in place cost none). */
export function simdCopiedBytes(): number {
  return copiedBytes;
}

/** Why the SIMD module is not in use, or null when it is. */
export function simdDisabledReason(): string | null {
  compiled();
  return disabledBy ?? null;
}

// ---------------------------------------------------------------------------------------------
// Threads.

/** The most threads a call uses (a job holds at most 255 tasks). */
export const MAX_THREADS = 256;

/** Parses a thread count (`--threads`, GATV2_THREADS); throws a RangeError naming `what`. */
export function parseThreads(text: string, what: string): number {
  const n = Number(text.trim());
  if (!Number.isInteger(n) || n < 1 || n > MAX_THREADS) {
    throw new RangeError(`${what} must be a whole number from 1 to ${MAX_THREADS}, got "${text}"`);
  }
  return n;
}

let threadsSet: number | null = null;

/** Sets the number of threads the kernels use (1: the calling thread only). */
export function setThreads(n: number): void {
  parseThreads(String(n), 'the thread count');
  threadsSet = n;
}

/** The thread count in force and where it comes from: setThreads (--threads), GATV2_THREADS or
 * the cores available to this process. */
export function threadSetting(): { threads: number; source: 'option' | 'GATV2_THREADS' | 'cores' } {
  if (threadsSet !== null) return { threads: threadsSet, source: 'option' };
  const env = process.env['GATV2_THREADS'];
  if (env !== undefined && env !== '') return { threads: parseThreads(env, 'GATV2_THREADS'), source: 'GATV2_THREADS' };
  return { threads: Math.min(availableParallelism(), MAX_THREADS), source: 'cores' };
}

export function threadCount(): number {
  return threadSetting().threads;
}

/**
 * Below this much work (multiply-adds, roughly) a call runs on the calling thread. Waking a worker
 * and handing it a task cost more than splitting saves on small calls: on Cora (13k edges, 8 x 8
 * channels, wasm) a training step took 1.1-1.2x as long on 2 threads as on 1 with a threshold of
 * 65,536, and the same with 2^20 (measured, `gatv2 bench --dataset cora --threads 1 / 2`). Changing
 * it changes no result. GATV2_SPLIT_WORK sets it (tests set 0, so that small inputs are split).
 */
export const DEFAULT_MIN_PARALLEL_WORK = 1 << 20;

/** The threshold in force: setMinParallelWork's, else GATV2_SPLIT_WORK (read once; throws a
 * RangeError naming it when it is not a number >= 0), else the default. */
export function minParallelWork(): number {
  if (minWork !== null) return minWork;
  const v = process.env['GATV2_SPLIT_WORK'];
  const n = v === undefined || v === '' ? DEFAULT_MIN_PARALLEL_WORK : Number(v);
  if (!Number.isFinite(n) || n < 0) throw new RangeError(`GATV2_SPLIT_WORK must be a number >= 0, got "${v}"`);
  minWork = n;
  return n;
}

let minWork: number | null = null;

/** Sets that threshold (tests set 0 so that small inputs are split too). */
export function setMinParallelWork(work: number): void {
  minWork = work;
}

// The control block shared with the workers (a SharedArrayBuffer apart from the kernels' memory,
// which is replaced when it is dropped). Int32 slots:
const W = 0; // the job word: generation (8 bits) | task count (8) | next unclaimed task (16)
const DONE = 1; // tasks finished
const KERNEL = 2; // index in KERNELS
const EPOCH = 3; // the epoch of the memory the job runs on
const FAILED = 4; // 1 when a task threw
const NARGS = 5; // how many numbers in ARGS
const BY_WORKERS = 6; // tasks run by workers, all jobs (for tests)
const ARGS_BYTE = 64; // float64 arguments, then
const MAX_ARGS = 32;
const TASKS_BYTE = 512; // int32 quadruples: each task's range
const MAX_TASKS = 255;
const CONTROL_BYTES = TASKS_BYTE + MAX_TASKS * 16;

/** Views of a control block. */
export interface Control {
  ctrl: Int32Array;
  args: Float64Array;
  tasks: Int32Array;
}

export function controlViews(sab: SharedArrayBuffer): Control {
  return {
    ctrl: new Int32Array(sab, 0, 16),
    args: new Float64Array(sab, ARGS_BYTE, MAX_ARGS),
    tasks: new Int32Array(sab, TASKS_BYTE, MAX_TASKS * 4),
  };
}

/** Whether the current job has a task left to claim. */
export function jobOpen(c: Control): boolean {
  const w = Atomics.load(c.ctrl, W);
  return (w & 0xffff) < ((w >>> 16) & 0xff);
}

export function controlSlot(c: Control, slot: 'W' | 'EPOCH'): number {
  return slot === 'W' ? Atomics.load(c.ctrl, W) : Atomics.load(c.ctrl, EPOCH);
}

export const W_SLOT = W;

/**
 * Claims and runs tasks of the current job until none is left (the calling thread and every
 * worker run this). A claim is a compare-exchange of the whole job word, so it succeeds only while
 * that very job is open; the job's arguments are read after the claim (they cannot change before
 * the claimed task is done). The job's memory epoch is read before the claim: the caller publishes
 * it before the job word, so if the claim succeeds it was this job's. A thread without an instance
 * on that memory (`exportsFor` gives null: its message has not arrived) claims nothing.
 */
export function workOn(c: Control, exportsFor: (epoch: number) => Exports | null, worker: boolean): void {
  const { ctrl, args, tasks } = c;
  for (;;) {
    const w = Atomics.load(ctrl, W);
    const n = (w >>> 16) & 0xff, next = w & 0xffff;
    if (next >= n) return;
    const exports = exportsFor(Atomics.load(ctrl, EPOCH));
    if (exports === null) return;
    if (Atomics.compareExchange(ctrl, W, w, w + 1) !== w) continue;
    try {
      const a: number[] = Array.from(args.subarray(0, ctrl[NARGS]));
      a.push(tasks[next * 4], tasks[next * 4 + 1], tasks[next * 4 + 2], tasks[next * 4 + 3]);
      (exports[KERNELS[ctrl[KERNEL]]] as (...x: number[]) => void)(...a);
    } catch {
      Atomics.store(ctrl, FAILED, 1);
    }
    if (worker) Atomics.add(ctrl, BY_WORKERS, 1);
    if (Atomics.add(ctrl, DONE, 1) + 1 === n) Atomics.notify(ctrl, DONE);
  }
}

interface Pool {
  control: Control;
  workers: { worker: Worker; port: MessagePort }[];
  ready: Promise<void>[];
  gen: number;
  /** The memories every worker has been sent, by epoch. */
  sent: Set<number>;
  /** Why the workers cannot be used (the calling thread then runs every task). */
  broken: string | null;
}

let pool: Pool | null = null;
const WORKER_URL = new URL('./worker.js', import.meta.url);

function newPool(): Pool {
  const sab = new SharedArrayBuffer(CONTROL_BYTES);
  return { control: controlViews(sab), workers: [], ready: [], gen: 0, sent: new Set(), broken: null };
}

/** Grows (or shrinks) the pool to threads - 1 workers; null when the calling thread works alone. */
function poolFor(threads: number): Pool | null {
  if (threads <= 1) return null;
  if (pool === null) pool = newPool();
  const p = pool;
  if (p.broken !== null) return p;
  while (p.workers.length > threads - 1) {
    const w = p.workers.pop()!;
    p.ready.pop();
    void w.worker.terminate();
  }
  if (p.workers.length < threads - 1 && !existsSync(fileURLToPath(WORKER_URL))) {
    p.broken = `no ${fileURLToPath(WORKER_URL)}`;
    return p;
  }
  while (p.workers.length < threads - 1) {
    const { port1, port2 } = new MessageChannel();
    const worker = new Worker(WORKER_URL, {
      workerData: { control: p.control.ctrl.buffer, module: compiled(), port: port2 },
      transferList: [port2],
    });
    worker.unref();
    port1.unref();
    // The memories the other workers hold (own and host), so that `sent` stays true of all.
    for (const inst of [own, host]) {
      if (inst !== null && p.sent.has(inst.epoch)) port1.postMessage({ epoch: inst.epoch, memory: inst.memory });
    }
    p.ready.push(new Promise((resolve) => {
      worker.once('message', () => resolve());
      worker.once('error', (err) => {
        p.broken = `a kernel worker failed: ${err.message}`;
        resolve();
      });
    }));
    p.workers.push({ worker, port: port1 });
  }
  return p;
}

/** Resolves when the worker threads of the current thread count have started (for tests). */
export async function threadsReady(): Promise<void> {
  if (compiled() === null || threadCount() <= 1) return;
  const p = poolFor(threadCount());
  if (p) await Promise.all(p.ready);
}

/** How many tasks worker threads (not the calling thread) have run so far (for tests). */
export function workerTaskCount(): number {
  return pool ? Atomics.load(pool.control.ctrl, BY_WORKERS) : 0;
}

/** Sends the workers a memory to make an instance on (null: drop the one of that epoch). */
function sendMemory(p: Pool, epoch: number, memory: WebAssembly.Memory | null): void {
  for (const { port } of p.workers) port.postMessage({ epoch, memory });
  if (memory !== null) p.sent.add(epoch);
  else p.sent.delete(epoch);
}

/** Publishes a job of n tasks (0: only wakes the workers, e.g. to swap memories). */
function publish(p: Pool, n: number): void {
  const { ctrl } = p.control;
  Atomics.store(ctrl, DONE, 0);
  Atomics.store(ctrl, FAILED, 0);
  p.gen = (p.gen + 1) & 0xff;
  Atomics.store(ctrl, W, (p.gen << 24) | (n << 16));
  Atomics.notify(ctrl, W);
}

/** Runs `kernel` with `args` followed by each task's range, on this thread and the workers. */
function run(inst: Instance, kernel: KernelName, args: number[], tasks: number[][]): void {
  if (tasks.length > 1) splitRuns[kernel] = (splitRuns[kernel] ?? 0) + 1;
  const p = tasks.length > 1 ? poolFor(threadCount()) : null;
  if (p === null || p.broken !== null) {
    const fn = inst.exports[kernel] as (...x: number[]) => void;
    for (const t of tasks) fn(...args, ...t);
    return;
  }
  const c = p.control;
  if (!p.sent.has(inst.epoch)) sendMemory(p, inst.epoch, inst.memory);
  c.ctrl[KERNEL] = KERNELS.indexOf(kernel);
  c.ctrl[NARGS] = args.length;
  c.args.set(args);
  tasks.forEach((t, i) => c.tasks.set(t, i * 4));
  Atomics.store(c.ctrl, EPOCH, inst.epoch);
  publish(p, tasks.length);
  workOn(c, (epoch) => (epoch === inst.epoch ? inst.exports : null), false);
  for (let d = Atomics.load(c.ctrl, DONE); d < tasks.length; d = Atomics.load(c.ctrl, DONE)) Atomics.wait(c.ctrl, DONE, d);
  if (Atomics.load(c.ctrl, FAILED) !== 0) throw new Error(`${kernel}: a task failed in a kernel thread`);
}

/** Tells the workers to drop their instance on inst's memory, now (they are woken to read it). */
function retire(inst: Instance): void {
  if (pool !== null && pool.broken === null && pool.sent.has(inst.epoch)) {
    sendMemory(pool, inst.epoch, null);
    publish(pool, 0);
  }
}

/** Drops the module's own memory (and the workers' hold on it). */
function dropOwnMemory(): void {
  if (own !== null) retire(own);
  own = null;
}

/** How many tasks a call of `work` multiply-adds over `units` splittable units gets: 1 below the
 * threshold or with one thread, else a few per thread (claimed as they come, for balance). */
function taskCount(work: number, units: number, perThread = 4): number {
  const threads = threadCount();
  if (threads <= 1 || work < minParallelWork() || units <= 1) return 1;
  return Math.max(1, Math.min(units, threads * perThread, MAX_TASKS));
}

/**
 * What a kernel's work counts for where every task walks all of the call's edges (or nonzeros,
 * or rows) and keeps only its heads' or columns' share: each task pays the whole walk (index loads,
 * row addresses), so such a split needs more work to gain. Measured, 2 threads against 1 on wasm
 * (`gatv2 bench --kernels`): on Cora (13k edges, 8 x 8 channels) score_backward, then split by
 * heads, took 2.4x and sparse_matmul_grad 3.3x their one-thread time, and the sums over rows of
 * [100000, 16..64] gradients 1.7x; at 10^5 edges and more the edge walks gain (0.8x). Their work
 * is divided by this before it meets the threshold (2^20 x 8: 8.4M multiply-adds). Changes no
 * result.
 */
const WALK_SHARE = 8;

/** [lo, hi) of n items cut into k nearly equal parts, as [a, b, 0, 0] quadruples. */
function evenSplit(n: number, k: number): number[][] {
  const out: number[][] = [];
  for (let t = 0; t < k; t++) out.push([Math.floor((n * t) / k), Math.floor((n * (t + 1)) / k), 0, 0]);
  return out;
}

/** Rows 0..N-1 of a CSR cut into k ranges of about equal edges + rows (rows are whole: a hub's
 * edges stay in one task). Boundaries never go back, whatever rowPtr holds. */
function rowSplit(rowPtr: I32, N: number, k: number): number[][] {
  if (k <= 1) return [[0, N, 0, 0]];
  const cost = (i: number) => rowPtr[i] + i;
  const total = Math.max(cost(N) - cost(0), 0);
  const bounds = [0];
  for (let t = 1; t < k; t++) {
    const target = cost(0) + (total * t) / k;
    let lo = bounds[t - 1], hi = N;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (cost(mid) < target) lo = mid + 1;
      else hi = mid;
    }
    bounds.push(lo);
  }
  bounds.push(N);
  const out: number[][] = [];
  for (let t = 0; t < k; t++) out.push([bounds[t], bounds[t + 1], 0, 0]);
  return out;
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
function disjoint(outputs: Arr[], others: Arr[]): boolean {
  noteHostBuffer();
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
class Frame {
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
    const onHost = host !== null && (arrays.some((a) => a !== null && inHost(a)) || bs.some((b) => b.into !== undefined && inHost(b.into)));
    // Byte offsets (from the start of the copies) of what is not in place; -1: in place, or null.
    let top = 0;
    const at = (bytes: number) => {
      const o = top;
      top += (bytes + 15) & ~15;
      return o;
    };
    const rel = [
      ...arrays.map((a) => (a === null || (onHost && inHost(a)) ? -1 : at(a.byteLength))),
      ...bs.map((b) => (onHost && b.into !== undefined && b.into.byteLength >= b.bytes && inHost(b.into) ? -1 : at(b.bytes))),
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

  /** Runs a kernel on this frame's memory (see run). */
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
