/** Names and reports shared by backend probing, selection and the `gatv2 backends` command. */

export type BackendName = 'tensorflow' | 'webgpu' | 'wasm' | 'cpu';

export type BackendRequest = 'auto' | BackendName;

/** The values of --backend, in auto's order of preference after 'auto' itself. */
export const BACKENDS: BackendRequest[] = ['auto', 'tensorflow', 'webgpu', 'wasm', 'cpu'];

export const CONCRETE_BACKENDS: BackendName[] = ['tensorflow', 'webgpu', 'wasm', 'cpu'];

/** What `gatv2 backends` prints for one backend. */
export interface BackendReport {
  name: BackendName;
  available: boolean;
  /** Package versions, e.g. "@tensorflow/tfjs-backend-webgpu 4.22.0, webgpu (Dawn) 0.6.2". */
  version: string | null;
  /** The device it computes on: adapter vendor and architecture, CUDA GPU, or CPU. */
  device: string | null;
  /** Runs on a GPU (a CUDA device, or a hardware WebGPU adapter). */
  gpu: boolean;
  /** A software GPU adapter such as lavapipe: it works, but only as a correctness target. */
  software: boolean;
  /** Why it is not available, and how to get it. */
  reason: string | null;
  /** webgpu: the kernels' settings for this adapter and the limits they follow from. */
  webgpu?: WebGPUSettings;
  /** tensorflow: why `--backend auto` never picks it. */
  autoSkips?: string;
}

export interface WebGPUSettings {
  /** Bytes of disposed tensors waiting on unsubmitted programs that make TF.js submit early. */
  pendingFlushBytes: number;
  /** In-degree above which a segment is reduced by a workgroup of its own. */
  heavyThreshold: number;
  /** Reductions use subgroup operations. */
  subgroups: boolean;
  maxBufferSize: number;
  maxStorageBufferBindingSize: number;
}

/** The backend a run uses and why (the CLI prints the reason). */
export interface BackendChoice {
  name: BackendName;
  reason: string;
}
