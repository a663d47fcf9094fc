/**
 * Threads (`--threads N`, GATV2_THREADS, default os.availableParallelism()): a kernel call with
 * enough work is cut into tasks by the ranges each kernel takes (destination rows, edges, source
 * rows, heads or output columns; see the assembly source). Worker threads (./worker.js) run the
 * same module on the same shared memory and share a small control block with the calling thread:
 * it publishes a job, takes tasks itself like the workers do, and blocks (Atomics.wait) until all
 * are done, so the kernels stay synchronous. Workers start lazily; until they are up, the calling
 * thread runs every task itself. Which task runs where never changes a result: every output
 * element belongs to one task (./index.ts says how each kernel is cut).
 */
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { MessageChannel, Worker, type MessagePort } from 'node:worker_threads';
import { compiled, KERNELS, type Exports, type Instance, type KernelName } from './module.js';

type I32 = Int32Array;

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
  sent: Map<number, WebAssembly.Memory>;
  /** Why the workers cannot be used (the calling thread then runs every task). */
  broken: string | null;
}

let pool: Pool | null = null;
const WORKER_URL = new URL('./worker.js', import.meta.url);

function newPool(): Pool {
  const sab = new SharedArrayBuffer(CONTROL_BYTES);
  return { control: controlViews(sab), workers: [], ready: [], gen: 0, sent: new Map(), broken: null };
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
    // The memories the other workers hold, so that `sent` stays true of all.
    for (const [epoch, memory] of p.sent) port1.postMessage({ epoch, memory });
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
  if (memory !== null) p.sent.set(epoch, memory);
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
export function run(inst: Instance, kernel: KernelName, args: number[], tasks: number[][]): void {
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
export function retire(inst: Instance): void {
  if (pool !== null && pool.broken === null && pool.sent.has(inst.epoch)) {
    sendMemory(pool, inst.epoch, null);
    publish(pool, 0);
  }
}

/** How many calls of each kernel ran as more than one task (for tests: which split ran). */
export function splitRunCounts(): Record<string, number> {
  return { ...splitRuns };
}

const splitRuns: Record<string, number> = {};

/** How many tasks a call of `work` multiply-adds over `units` splittable units gets: 1 below the
 * threshold or with one thread, else a few per thread (claimed as they come, for balance). */
export function taskCount(work: number, units: number, perThread = 4): number {
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
export const WALK_SHARE = 8;

/** [lo, hi) of n items cut into k nearly equal parts, as [a, b, 0, 0] quadruples. */
export function evenSplit(n: number, k: number): number[][] {
  const out: number[][] = [];
  for (let t = 0; t < k; t++) out.push([Math.floor((n * t) / k), Math.floor((n * (t + 1)) / k), 0, 0]);
  return out;
}

/** Rows 0..N-1 of a CSR cut into k ranges of about equal edges + rows (rows are whole: a hub's
 * edges stay in one task). Boundaries never go back, whatever rowPtr holds. */
export function rowSplit(rowPtr: I32, N: number, k: number): number[][] {
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
