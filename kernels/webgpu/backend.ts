/**
 * TF.js's WebGPU backend, plus what this project's kernels need from it:
 *
 * - The host copy of int32 tensors. Kernel functions are synchronous and GPU data cannot be read
 *   synchronously in Node (no dataSync), yet choosing how to reduce a segment (a thread, or a
 *   workgroup for a hub) and sorting segment ids for a deterministic segment sum both need the
 *   index values. Every index tensor of this project is made on the host (the CSR layout, the
 *   sparse features), and TF.js keeps those values on the host until a program first uploads them:
 *   uploadToGPU() keeps a reference to them then (no copy; the layout holds the same arrays).
 * - Derived index data (light/heavy row plans, sorted segment indices), cached per source tensor
 *   and freed with it.
 * - The kernel options: whether reductions use subgroups, and the in-degree above which a segment
 *   gets a whole workgroup.
 * - Earlier release of freed buffers. TF.js records up to 15 programs before it submits them, and a
 *   tensor disposed meanwhile keeps its buffer until that submission if a recorded program uses
 *   it. On a large graph every such tensor is an [N, H*C] matrix, so a training step held several
 *   of them for nothing (measured: 426 MB in use at the peak of a 20,000-node step against 260 MB
 *   when each program is submitted at once). Once gat.pendingFlushBytes wait, the next program
 *   submits the queue first, so their buffers return to the pool and are reused; small graphs
 *   never reach it and keep TF.js's batching.
 */
import type { DataType, TensorInfo } from '@tensorflow/tfjs-core';
import { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu';
import { DEFAULT_HEAVY_THRESHOLD, pendingFlushBytes } from './settings.js';

type DataId = object;

export { DEFAULT_HEAVY_THRESHOLD };

/** The fields of TF.js's WebGPUBackend (4.22) the early release reads. */
interface QueueInternals {
  commandEncoder: GPUCommandEncoder | null;
  tensorDataPendingDisposal: DataId[];
  endComputePassEncoder(): void;
  submitQueue(): void;
}

export interface GatKernelOptions {
  /** Use subgroup operations in workgroup reductions (only when the device has them). */
  subgroups: boolean;
  /** Segments with more entries than this are reduced by a workgroup. */
  heavyThreshold: number;
  /**
   * The largest dispatch and bindings any program may have (checkDispatch): the limits of 32-bit
   * indexing, and the adapter's maxStorageBufferBindingSize. Tests lower them to reach the
   * refusals with small tensors; nothing else changes them.
   */
  limits: DispatchLimits;
  /** Bytes of disposed tensors waiting on unsubmitted programs that make the next program submit
   * (pendingFlushBytes: a fraction of the adapter's maxBufferSize). */
  pendingFlushBytes: number;
}

export interface DispatchLimits {
  /** Invocations of a program indexed by TF.js's flat invocation index (an i32). */
  invocations: number;
  /** Workgroups of a program indexed by its workgroup id (wgsl.ts workgroupTask, an i32 from u32). */
  workgroups: number;
  /** Elements of any tensor a program binds: every array index in WGSL is an i32. */
  elements: number;
  /** Bytes of any tensor a program binds. */
  bindingBytes: number;
}

/** 2^31 - 1: the largest i32. */
export const I32_MAX = 2 ** 31 - 1;

export class GatWebGPUBackend extends WebGPUBackend {
  readonly subgroupsAvailable: boolean;
  readonly gat: GatKernelOptions;
  private readonly hostInts = new WeakMap<DataId, Int32Array>();
  private readonly derived = new WeakMap<DataId, Map<string, Derived>>();
  /** Bytes of tensors disposed since the last submission whose buffers wait for it. */
  private pendingBytes = 0;
  /**
   * Names of the programs run so far that write with atomics (TF.js marks them `atomic`): float
   * atomic adds make the order of a sum, hence its bits, change from run to run. The determinism
   * test asserts a training step runs none (kernels/webgpu/README.md lists the ones TF.js has).
   */
  readonly atomicPrograms = new Set<string>();

  constructor(device: GPUDevice, info: GPUAdapterInfo, subgroups: boolean) {
    super(device, info);
    this.subgroupsAvailable = subgroups;
    this.gat = {
      subgroups,
      heavyThreshold: DEFAULT_HEAVY_THRESHOLD,
      limits: {
        invocations: I32_MAX, workgroups: I32_MAX, elements: I32_MAX,
        bindingBytes: device.limits.maxStorageBufferBindingSize,
      },
      pendingFlushBytes: pendingFlushBytes(device.limits.maxBufferSize),
    };
    const self = this as unknown as { pipelineCache: Record<string, unknown> };
    self.pipelineCache = canonicalKeys(self.pipelineCache);
  }

  override runWebGPUProgram(...args: Parameters<WebGPUBackend['runWebGPUProgram']>): TensorInfo {
    checkBindingSizes(this.gat.limits, args[0], args[1]);
    checkDispatch(this.gat.limits, args[0] as unknown as DispatchedProgram);
    if ((args[0] as { atomic?: boolean }).atomic === true) this.atomicPrograms.add(programName(args[0]));
    const queue = this as unknown as QueueInternals;
    if (this.pendingBytes >= this.gat.pendingFlushBytes && queue.commandEncoder) {
      queue.endComputePassEncoder();
      queue.submitQueue();
    }
    return super.runWebGPUProgram(...args);
  }

  override submitQueue(): void {
    super.submitQueue();
    this.pendingBytes = 0;
  }

  /** Whether reductions use subgroups now (tests switch them off to check the other path). */
  get useSubgroups(): boolean {
    return this.gat.subgroups && this.subgroupsAvailable;
  }

  override uploadToGPU(dataId: DataId): void {
    const d = this.tensorMap.get(dataId);
    if (d && d.resource == null && d.dtype === 'int32' && d.values instanceof Int32Array) {
      this.hostInts.set(dataId, d.values);
    }
    super.uploadToGPU(dataId);
  }

  /** The values of an int32 tensor made on the host, or null when only the GPU has them. */
  hostInt32(t: TensorInfo): Int32Array | null {
    if (t.dtype !== 'int32') return null;
    const d = this.tensorMap.get(t.dataId);
    if (d?.values instanceof Int32Array) return d.values;
    return this.hostInts.get(t.dataId) ?? null;
  }

  /** Data derived from `source` under `key`, built once and freed when `source` is. */
  derive<T extends Derived>(source: TensorInfo, key: string, build: () => T): T {
    let byKey = this.derived.get(source.dataId);
    if (!byKey) {
      byKey = new Map();
      this.derived.set(source.dataId, byKey);
    }
    let d = byKey.get(key) as T | undefined;
    if (!d) {
      d = build();
      byKey.set(key, d);
    }
    return d;
  }

  /** An int32 tensor for index data this backend owns (not tracked by the engine). */
  indexTensor(values: Int32Array): TensorInfo {
    return this.makeTensorInfo([values.length], 'int32' as DataType, values);
  }

  override disposeData(dataId: DataId, force = false): boolean {
    const queue = this as unknown as QueueInternals;
    const waiting = queue.tensorDataPendingDisposal.length;
    const resource = this.tensorMap.get(dataId)?.resource as { size?: number } | undefined;
    const released = super.disposeData(dataId, force);
    if (queue.tensorDataPendingDisposal.length > waiting) this.pendingBytes += resource?.size ?? 0;
    if (released) {
      const byKey = this.derived.get(dataId);
      if (byKey) {
        this.derived.delete(dataId);
        // Through this method again: derived data can have its own (a segment index's plan).
        for (const d of byKey.values()) for (const t of d.tensors) this.disposeData(t.dataId, true);
      }
    }
    return released;
  }
}

/**
 * TF.js caches pipelines under its shader key, which appends to the program's key, among
 * others, which input dimensions are 1 (broadcast) and which input shapes equal the output's.
 * For this project's programs those only change helper functions the programs never call, yet
 * every new combination (one hub or several, one head or several) compiles a new pipeline, and
 * lavapipe takes a third of a second per pipeline. Our keys (program.ts) already hold all that
 * changes the code (ranks, dtypes, dispatch layout) and end in '#': the cache keeps them up to
 * the '#'. Other programs' keys pass unchanged.
 */
function canonicalKeys(cache: Record<string, unknown>): Record<string, unknown> {
  const canon = (key: string | symbol): string | symbol => {
    if (typeof key !== 'string' || !key.startsWith(GAT_KEY_PREFIX)) return key;
    const end = key.indexOf('#');
    return end < 0 ? key : key.slice(0, end + 1);
  };
  return new Proxy(cache, {
    has: (target, key) => Reflect.has(target, canon(key)),
    get: (target, key) => Reflect.get(target, canon(key)),
    set: (target, key, value) => Reflect.set(target, canon(key), value),
    deleteProperty: (target, key) => Reflect.deleteProperty(target, canon(key)),
  });
}

/** Prefix of this project's shader keys (program.ts). */
export const GAT_KEY_PREFIX = 'gatv2_';

/**
 * Every tensor a program binds (its inputs and its output) must fit the adapter's
 * maxStorageBufferBindingSize; past it Dawn reports a validation error and TF.js goes on with a
 * program that never ran (wrong numbers). The autograd twin on an ogbn-arxiv-sized graph makes
 * [E, H*C] tensors of 1.4 GB: this stops it with the sizes named instead. Every WGSL array index
 * is an i32, so no binding may hold 2^31 elements either (on Vulkan, whose storage bindings are
 * under 4 GiB, the byte limit already keeps float32 tensors under 2^30 elements).
 */
function checkBindingSizes(limits: DispatchLimits, program: { outputShape: number[]; variableNames?: string[] }, inputs: TensorInfo[]): void {
  const MB = 1024 * 1024;
  const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);
  // Every dtype this backend stores is 4 bytes per element (bool as int32).
  const bytes = (shape: number[]) => size(shape) * 4;
  const bound = [
    { shape: program.outputShape, what: 'the output' },
    ...inputs.map((t, i) => ({ shape: t.shape, what: `input ${program.variableNames?.[i] ?? i}` })),
  ];
  const largest = bound.reduce((a, b) => (bytes(b.shape) > bytes(a.shape) ? b : a));
  const tensor = `a [${largest.shape.join(', ')}] tensor (${largest.what} of ${programName(program)}`;
  if (bytes(largest.shape) > limits.bindingBytes) {
    throw new Error(
      `${tensor}, ${(bytes(largest.shape) / MB).toFixed(0)} MiB) is larger than this WebGPU adapter binds ` +
      `(maxStorageBufferBindingSize ${(limits.bindingBytes / MB).toFixed(0)} MiB): the graph is too large for this computation on this GPU ` +
      `(the analytic mode keeps node-sized tensors only)`,
    );
  }
  if (size(largest.shape) > limits.elements) {
    throw new Error(
      `${tensor}) has more elements than a WebGPU program can index (${limits.elements}): ` +
      `the graph is too large for this computation`,
    );
  }
}

/** A program as runWebGPUProgram gets it, before TF.js folds its dispatch. */
interface DispatchedProgram {
  dispatch: [number, number, number];
  workgroupSize: [number, number, number];
  outputShape: number[];
  gatIndexing?: 'invocation' | 'workgroup';
}

/**
 * TF.js's flat invocation index is an i32 computed in 32 bits from the workgroup id: past 2^31
 * invocations it wraps to negative values, which pass `index >= size` bounds checks and write
 * elsewhere (wrong sums, no error). A program indexed that way (TF.js's own and our light ones)
 * may not dispatch that many; one indexed by workgroup (wgsl.ts workgroupTask) may not dispatch
 * 2^31 workgroups. Either is refused here with the sizes named.
 */
function checkDispatch(limits: DispatchLimits, program: DispatchedProgram): void {
  const groups = program.dispatch[0] * program.dispatch[1] * program.dispatch[2];
  const perGroup = program.workgroupSize[0] * program.workgroupSize[1] * program.workgroupSize[2];
  if (program.gatIndexing === 'workgroup') {
    if (groups > limits.workgroups) {
      throw new Error(`${programName(program)} would dispatch ${groups} workgroups, more than its workgroup index can count (${limits.workgroups}): the graph is too large for this GPU program`);
    }
  } else if (groups * perGroup > limits.invocations) {
    throw new Error(
      `${programName(program)} would dispatch ${groups * perGroup} invocations for a [${program.outputShape.join(', ')}] output, ` +
      `more than its 32-bit invocation index can count (${limits.invocations}): the graph is too large for this GPU program`,
    );
  }
}

/** This project's program key (program.ts), else TF.js's program class. */
function programName(program: object): string {
  const name = (program as { gatName?: string }).gatName;
  if (name !== undefined) return `program ${name}`;
  return `TF.js program ${program.constructor.name}`;
}

/** Anything cached by derive(): its tensors are disposed with the source. */
export interface Derived {
  tensors: TensorInfo[];
}
