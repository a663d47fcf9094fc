/**
 * Starts a TF.js backend and registers this project's kernels on it.
 * (webgpu and tensorflow join in src/backends/ when their kernels exist.)
 */
import * as tf from '@tensorflow/tfjs-core';
// The stock gradients: tfjs-core's node build leaves them out; the union package registers them.
import '@tensorflow/tfjs';
import { InputError } from './errors.js';

export type BackendName = 'cpu' | 'wasm';
export const BACKENDS: BackendName[] = ['cpu', 'wasm'];

const started = new Set<string>();

export async function useBackend(name: string): Promise<BackendName> {
  if (!(BACKENDS as string[]).includes(name)) {
    throw new InputError(`unknown backend "${name}": choose one of ${BACKENDS.join(', ')}`);
  }
  const backend = name as BackendName;
  if (!started.has(backend)) {
    if (backend === 'cpu') {
      await import('@tensorflow/tfjs-backend-cpu');
      const { registerCpuKernels } = await import('../kernels/cpu/register.js');
      registerCpuKernels();
    } else {
      await import('@tensorflow/tfjs-backend-wasm');
      const { registerWasmKernels } = await import('../kernels/wasm/register.js');
      registerWasmKernels();
    }
    started.add(backend);
  }
  const ok = await tf.setBackend(backend);
  if (!ok) throw new InputError(`backend "${backend}" could not be started`);
  await tf.ready();
  // The cpu backend greets Node users with an advert for tfjs-node on first use; this tool says
  // itself which backend it runs on and why.
  if (backend === 'cpu') (tf.backend() as unknown as { firstUse: boolean }).firstUse = false;
  return backend;
}
