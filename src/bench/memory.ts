/**
 * Real memory of one measured step, for `gatv2 bench`.
 *
 * Why not tf.profile's peakBytes (kept as `peakTensorBytes`): it is the engine's `numBytes`, which
 * adds every tensor OBJECT's size, also when several tensors share one data buffer. The gradient
 * tape saves a kernel's inputs through clones (Identity kernels that return the input's dataId with
 * its refCount raised), reshape shares its input's buffer, and so on, so one buffer is counted two
 * or three times: a 3-layer model on a 20,000-node graph reported 1332 MB where the WebGPU buffer
 * manager had 1056 MB allocated. This meter reports instead:
 *
 *  - peakDataBytes: the high-water of the bytes of DISTINCT live data buffers (each dataId once).
 *  - on webgpu, peakGpuBytesInUse: the high-water of the backend's BufferManager.numBytesUsed (GPU
 *    buffers handed out, the analogue of torch.cuda.max_memory_allocated; TF.js releases a disposed
 *    tensor's buffer only at the next command submission, and this counts what the manager holds,
 *    uniform and staging buffers included), and gpuPoolBytes: the high-water of numBytesAllocated
 *    (buffers TF.js holds, its free pool included: the analogue of max_memory_reserved). Call
 *    releaseGpuPool() before a mode starts so that the pool is that mode's own.
 *
 * TF.js internals this relies on (pinned @tensorflow/tfjs-core and -backend-webgpu 4.22.0):
 *  - engine.state.tensorInfo: a WeakMap dataId -> {backend, dtype, shape, bytes}. Engine.trackTensor
 *    adds the tensor's bytes to state.numBytes, then set()s the dataId only if it is not there yet
 *    (has()); Engine.disposeTensor delete()s it (removeDataId) once backend.disposeData says the
 *    last reference is gone (the backend's refCount, raised by Identity/reshape/variables). The
 *    meter puts a forwarding object in its place that keeps a running sum of `bytes` over set() and
 *    delete(), and puts the original back afterwards. The entries stay in the original WeakMap, so
 *    nothing is lost when it is restored; if engine.state was replaced meanwhile (tf.engine().reset())
 *    the new state is left alone. Complex tensors count
 *    through their parts, as in the engine; a string tensor created while measuring counts 0 bytes.
 *  - the webgpu backend's `bufferManager` (BufferManager: acquireBuffer, releaseBuffer, numBytesUsed,
 *    numBytesAllocated, freeBuffers, numFreeBuffers) and its submitQueue / tensorDataPendingDisposal.
 *    acquireBuffer/releaseBuffer are shadowed by own properties while measuring.
 *
 * The step's starting bytes of distinct buffers are not visible (a WeakMap cannot be listed): they
 * are taken as state.numBytes at start, which is exact when no two live tensors share a buffer
 * (numTensors === numDataBuffers; `baselineExact`), and an upper bound otherwise.
 */
import * as tf from '@tensorflow/tfjs-core';

interface TensorInfoEntry {
  bytes: number;
}

/** The part of tfjs-core's EngineState this meter touches. */
interface EngineStateLike {
  tensorInfo: TensorInfoMapLike;
  numBytes: number;
  numTensors: number;
  numDataBuffers: number;
}

interface TensorInfoMapLike {
  get(k: object): TensorInfoEntry | undefined;
  has(k: object): boolean;
  set(k: object, v: TensorInfoEntry): unknown;
  delete(k: object): boolean;
}

/** The part of tfjs-backend-webgpu's BufferManager this meter touches. */
interface BufferManagerLike {
  numBytesUsed: number;
  numBytesAllocated: number;
  numFreeBuffers: number;
  freeBuffers: Map<string, { size: number; destroy(): void }[]>;
  acquireBuffer(...args: unknown[]): unknown;
  releaseBuffer(...args: unknown[]): unknown;
}

interface WebGPUBackendLike {
  bufferManager: BufferManagerLike;
  device?: { queue?: { onSubmittedWorkDone?(): Promise<void> } };
  tensorDataPendingDisposal?: unknown[];
  uniformPendingDisposal?: unknown[];
  stagingPendingDisposal?: unknown[];
  ensureCommandEncoderReady?(): void;
  endComputePassEncoder?(): void;
  submitQueue?(): void;
}

export interface StepMemory {
  /** High-water of the engine's numBytes (every tensor object counted; tf.profile's peakBytes). */
  peakTensorBytes: number;
  /** Distinct data buffers' bytes when the meter started (see baselineExact). */
  startDataBytes: number;
  /** High-water of the bytes of distinct live data buffers. */
  peakDataBytes: number;
  /** Distinct data buffers' bytes when the meter stopped. */
  endDataBytes: number;
  /** False when tensors shared buffers at the start: startDataBytes (and the peak) may then be high. */
  baselineExact: boolean;
  /** webgpu: high-water of BufferManager.numBytesUsed (GPU buffers in use). */
  peakGpuBytesInUse?: number;
  /** webgpu: high-water of BufferManager.numBytesAllocated (held by TF.js, free pool included). */
  gpuPoolBytes?: number;
}

function engineState(): EngineStateLike {
  return (tf.engine() as unknown as { state: EngineStateLike }).state;
}

/** The active backend's BufferManager, when it has one (webgpu). */
function bufferManagerOf(backend: unknown): BufferManagerLike | null {
  const bm = (backend as Partial<WebGPUBackendLike> | null)?.bufferManager;
  return bm && typeof bm.acquireBuffer === 'function' && typeof bm.numBytesUsed === 'number' ? bm : null;
}

export class MemoryMeter {
  private readonly state: EngineStateLike;
  private readonly original: TensorInfoMapLike;
  private readonly wrapper: TensorInfoMapLike;
  private live: number;
  private peak: number;
  private peakTensors: number;
  private readonly start: number;
  private readonly exact: boolean;
  private bm: BufferManagerLike | null;
  private bmSaved: { acquire?: PropertyDescriptor; release?: PropertyDescriptor } = {};
  private bmAcquire?: BufferManagerLike['acquireBuffer'];
  private bmRelease?: BufferManagerLike['releaseBuffer'];
  private gpuPeak = 0;
  private poolPeak = 0;
  private result: StepMemory | null = null;

  private constructor() {
    const state = engineState();
    this.state = state;
    this.original = state.tensorInfo;
    this.start = state.numBytes;
    this.exact = state.numTensors === state.numDataBuffers;
    this.live = this.start;
    this.peak = this.start;
    this.peakTensors = state.numBytes;
    const orig = this.original;
    // Bytes as set() saw them (the engine fixes a string tensor's entry afterwards), so that a
    // buffer created and freed while measuring leaves the sum where it was.
    const added = new WeakMap<object, number>();
    this.wrapper = {
      get: (k) => orig.get(k),
      has: (k) => {
        // Engine.trackTensor has just added the new tensor's bytes to numBytes: sample the peak.
        if (state.numBytes > this.peakTensors) this.peakTensors = state.numBytes;
        return orig.has(k);
      },
      set: (k, v) => {
        const before = added.get(k) ?? orig.get(k)?.bytes ?? 0;
        orig.set(k, v);
        added.set(k, v.bytes);
        this.add(v.bytes - before);
        return this.wrapper;
      },
      delete: (k) => {
        const bytes = added.get(k) ?? orig.get(k)?.bytes ?? 0;
        const removed = orig.delete(k);
        if (removed) this.add(-bytes);
        added.delete(k);
        return removed;
      },
    };
    state.tensorInfo = this.wrapper;

    this.bm = bufferManagerOf(tf.engine().backend);
    if (this.bm) this.wrapBufferManager(this.bm);
  }

  /** Starts measuring now (distinct buffers; on webgpu also the buffer manager). */
  static start(): MemoryMeter {
    return new MemoryMeter();
  }

  private add(bytes: number): void {
    this.live += bytes;
    if (this.live > this.peak) this.peak = this.live;
  }

  private sampleGpu(bm: BufferManagerLike): void {
    if (bm.numBytesUsed > this.gpuPeak) this.gpuPeak = bm.numBytesUsed;
    if (bm.numBytesAllocated > this.poolPeak) this.poolPeak = bm.numBytesAllocated;
  }

  private wrapBufferManager(bm: BufferManagerLike): void {
    this.gpuPeak = bm.numBytesUsed;
    this.poolPeak = bm.numBytesAllocated;
    this.bmSaved = {
      acquire: Object.getOwnPropertyDescriptor(bm, 'acquireBuffer'),
      release: Object.getOwnPropertyDescriptor(bm, 'releaseBuffer'),
    };
    const acquire = bm.acquireBuffer;
    const release = bm.releaseBuffer;
    this.bmAcquire = (...args: unknown[]) => {
      const r = acquire.apply(bm, args);
      this.sampleGpu(bm);
      return r;
    };
    this.bmRelease = (...args: unknown[]) => {
      const r = release.apply(bm, args);
      this.sampleGpu(bm);
      return r;
    };
    bm.acquireBuffer = this.bmAcquire;
    bm.releaseBuffer = this.bmRelease;
  }

  private unwrapBufferManager(bm: BufferManagerLike): void {
    const restore = (name: 'acquireBuffer' | 'releaseBuffer', ours: unknown, saved?: PropertyDescriptor) => {
      if (bm[name] !== ours) return; // someone wrapped it after us: leave theirs in place
      if (saved) Object.defineProperty(bm, name, saved);
      else delete (bm as Partial<BufferManagerLike>)[name];
    };
    restore('acquireBuffer', this.bmAcquire, this.bmSaved.acquire);
    restore('releaseBuffer', this.bmRelease, this.bmSaved.release);
  }

  /** Distinct live data bytes right now (while measuring). */
  get liveDataBytes(): number {
    return this.live;
  }

  /** Stops measuring, puts TF.js back as it was, and returns the step's numbers (idempotent). */
  stop(): StepMemory {
    if (this.result) return this.result;
    if (this.state.tensorInfo === this.wrapper) this.state.tensorInfo = this.original;
    if (this.state.numBytes > this.peakTensors) this.peakTensors = this.state.numBytes;
    const r: StepMemory = {
      peakTensorBytes: this.peakTensors,
      startDataBytes: this.start,
      peakDataBytes: this.peak,
      endDataBytes: this.live,
      baselineExact: this.exact,
    };
    if (this.bm) {
      this.sampleGpu(this.bm);
      this.unwrapBufferManager(this.bm);
      r.peakGpuBytesInUse = this.gpuPeak;
      r.gpuPoolBytes = this.poolPeak;
    }
    this.result = r;
    return r;
  }
}

/**
 * webgpu: submits pending work (which releases the buffers of tensors disposed since the last
 * submission), waits for the GPU, then destroys the buffers in the BufferManager's free pool and
 * takes their sizes off numBytesAllocated, as releaseBuffer(buffer, false) would. The freeBuffers
 * keys stay (emptied): releaseBuffer returns early, losing track of the buffer, when that map has no
 * keys. Returns the bytes freed (0 on other backends).
 */
export async function releaseGpuPool(): Promise<number> {
  const backend = tf.engine().backend as unknown as Partial<WebGPUBackendLike>;
  const bm = bufferManagerOf(backend);
  if (!bm) return 0;
  const pending = (backend.tensorDataPendingDisposal?.length ?? 0) + (backend.uniformPendingDisposal?.length ?? 0) +
    (backend.stagingPendingDisposal?.length ?? 0);
  if (pending > 0 && backend.ensureCommandEncoderReady && backend.endComputePassEncoder && backend.submitQueue) {
    backend.ensureCommandEncoderReady();
    backend.endComputePassEncoder();
    backend.submitQueue();
  }
  await backend.device?.queue?.onSubmittedWorkDone?.();
  let freed = 0;
  for (const buffers of bm.freeBuffers.values()) {
    for (const b of buffers) {
      freed += b.size;
      b.destroy();
    }
    bm.numFreeBuffers -= buffers.length;
    buffers.length = 0;
  }
  bm.numBytesAllocated -= freed;
  return freed;
}
