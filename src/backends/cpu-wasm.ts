/** The cpu and wasm backends, with this project's typed-array kernels (kernels/cpu, kernels/wasm). */
import type { BackendReport } from './types.js';
import { versionsOf } from './versions.js';

const registered = new Set<string>();

export async function registerCpu(): Promise<void> {
  if (registered.has('cpu')) return;
  await import('@tensorflow/tfjs-backend-cpu');
  const { registerCpuKernels } = await import('../../kernels/cpu/register.js');
  registerCpuKernels();
  registered.add('cpu');
}

export async function registerWasm(): Promise<void> {
  if (registered.has('wasm')) return;
  const wasmBackend = await import('@tensorflow/tfjs-backend-wasm');
  // Its binaries with a shared memory, where the build made them (kernels/wasm/shared-heap.ts):
  // the SIMD kernels then work on its tensors in place.
  const { sharedHeapBinaryFolder } = await import('../../kernels/wasm/shared-heap.js');
  const folder = sharedHeapBinaryFolder();
  if (folder !== null) wasmBackend.setWasmPaths(folder);
  const { registerWasmKernels } = await import('../../kernels/wasm/register.js');
  registerWasmKernels();
  registered.add('wasm');
}

export async function probeWasm(): Promise<BackendReport> {
  const version = versionsOf('@tensorflow/tfjs-backend-wasm');
  try {
    await registerWasm();
  } catch (e) {
    return { name: 'wasm', available: false, version, device: null, gpu: false, software: false, reason: `@tensorflow/tfjs-backend-wasm failed to load: ${(e as Error).message}` };
  }
  return {
    name: 'wasm', available: true, version,
    device: 'CPU via WebAssembly (products, sums and this project\'s kernels on --threads; other ops XNNPACK on 1 thread: TF.js disables wasm threads in Node)',
    gpu: false, software: false, reason: null,
  };
}

export async function probeCpu(): Promise<BackendReport> {
  await registerCpu();
  return {
    name: 'cpu', available: true, version: versionsOf('@tensorflow/tfjs-backend-cpu'),
    device: 'CPU (plain JavaScript)', gpu: false, software: false, reason: null,
  };
}
