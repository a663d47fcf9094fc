/**
 * The `tensorflow` backend: @tensorflow/tfjs-node-gpu (CUDA) or @tensorflow/tfjs-node (CPU), used
 * when the user has installed one. Neither is a dependency of this project: their install script
 * downloads libtensorflow, which fails where Google's storage is unreachable. Loaded with a
 * dynamic import that turns every failure into a reason. UNTESTED in this project's CI.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { BackendReport } from './types.js';
import { packageVersion } from './versions.js';

const PACKAGES = ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node'] as const;

export const TENSORFLOW_HINT =
  'install @tensorflow/tfjs-node-gpu@4.22.0 on a machine with an NVIDIA driver, CUDA 11.2 and cuDNN 8.1 '
  + '(`npm install @tensorflow/tfjs-node-gpu@4.22.0`; see README)';

export interface TensorflowInfo {
  pkg: string;
  version: string;
  gpu: boolean;
}

let loaded: Promise<TensorflowInfo> | null = null;

export class TensorflowUnavailable extends Error {}

/** Loads the first installed package, registers this project's kernels; throws TensorflowUnavailable. */
export function loadTensorflow(): Promise<TensorflowInfo> {
  if (!loaded) {
    loaded = load();
    loaded.catch(() => {
      loaded = null;
    });
  }
  return loaded;
}

async function load(): Promise<TensorflowInfo> {
  for (const pkg of PACKAGES) {
    const version = packageVersion(pkg);
    if (version === null) continue;
    // Otherwise TensorFlow reserves all GPU memory at start-up (docs/platform-notes.md).
    process.env['TF_FORCE_GPU_ALLOW_GROWTH'] ??= 'true';
    try {
      await import(pkg);
    } catch (e) {
      throw new TensorflowUnavailable(`${pkg} ${version} is installed but failed to load (${firstLine(e)}): ${TENSORFLOW_HINT}`);
    }
    const backend = tf.findBackend('tensorflow') as unknown as { isUsingGpuDevice?: boolean } | null;
    if (!backend) throw new TensorflowUnavailable(`${pkg} ${version} loaded but registered no 'tensorflow' backend`);
    const { registerTensorflowKernels } = await import('../../kernels/tensorflow/register.js');
    registerTensorflowKernels();
    return { pkg, version, gpu: backend.isUsingGpuDevice === true };
  }
  throw new TensorflowUnavailable(`@tensorflow/tfjs-node-gpu is not installed: ${TENSORFLOW_HINT}`);
}

function firstLine(e: unknown): string {
  return String(e instanceof Error ? e.message : e).split('\n')[0]!.trim();
}

export async function probeTensorflow(): Promise<BackendReport> {
  try {
    const t = await loadTensorflow();
    return {
      name: 'tensorflow', available: true, version: `${t.pkg} ${t.version}`,
      device: t.gpu ? 'CUDA GPU (TensorFlow 2.9)' : 'CPU (TensorFlow 2.9; no CUDA GPU visible)',
      gpu: t.gpu, software: false, reason: null,
    };
  } catch (e) {
    return { name: 'tensorflow', available: false, version: null, device: null, gpu: false, software: false, reason: (e as Error).message };
  }
}
