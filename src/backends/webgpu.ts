/**
 * The webgpu backend: TF.js's WebGPU backend on a device this project creates through Dawn for
 * Node (kernels/webgpu/device.ts), with this project's WGSL kernels registered on it.
 */
import * as tf from '@tensorflow/tfjs-core';
import { gatDevice, WebGPUUnavailable, type GatDevice } from '../../kernels/webgpu/device.js';
import { DEFAULT_HEAVY_THRESHOLD, pendingFlushBytes, setSplitRows, SPLIT_ROWS } from '../../kernels/webgpu/settings.js';
import { InputError } from '../util/errors.js';
import type { BackendReport } from './types.js';
import { versionsOf } from './versions.js';

const VERSIONS = ['@tensorflow/tfjs-backend-webgpu', 'webgpu'];

let registered = false;

/** "nvidia hopper (NVIDIA H200)": what the adapter says about itself. */
export function describeAdapter(d: GatDevice): string {
  const s = d.summary;
  const name = [s.vendor, s.architecture].filter((x) => x !== '').join(' ');
  const detail = s.description || s.device;
  const extra = [detail, s.software ? 'software adapter' : '', d.subgroups ? `subgroups ${s.subgroupMinSize}-${s.subgroupMaxSize}` : 'no subgroups']
    .filter((x) => x !== '');
  return `${name} (${extra.join('; ')})`;
}

/** The environment's settings of the webgpu kernels, read when the backend starts. */
export interface WebGPUEnvOptions {
  /** Rows per slice of the weight gradients (settings.ts SPLIT_ROWS; 0: one slice). */
  splitRows: number;
}

/**
 * GATV2_SPLIT_ROWS, where set: the weight gradients' slice (0: one slice of all rows, to measure
 * the split against none). Read only by a run on webgpu, so a bad value fails that run alone.
 */
export function readWebGPUEnv(env: NodeJS.ProcessEnv): WebGPUEnvOptions {
  const v = env['GATV2_SPLIT_ROWS'];
  if (v === undefined || v === '') return { splitRows: SPLIT_ROWS };
  const n = Number(v);
  if (!(Number.isInteger(n) && n >= 0)) throw new InputError(`GATV2_SPLIT_ROWS must be a non-negative integer, got "${v}"`);
  return { splitRows: n };
}

/** Registers the 'webgpu' backend factory (idempotent) and applies the environment's settings.
 * Throws WebGPUUnavailable. */
export async function registerWebGPU(): Promise<GatDevice> {
  const options = readWebGPUEnv(process.env);
  const dev = await gatDevice();
  setSplitRows(options.splitRows);
  if (registered) return dev;
  // TF.js's WebGPU package looks for navigator.gpu when it loads and when a backend is built.
  const g = globalThis as unknown as { navigator?: { gpu?: GPU } };
  if (!g.navigator) g.navigator = {};
  if (!g.navigator.gpu) g.navigator.gpu = dev.gpu;
  await import('@tensorflow/tfjs-backend-webgpu');
  const { GatWebGPUBackend } = await import('../../kernels/webgpu/backend.js');
  const { registerWebGPUKernels } = await import('../../kernels/webgpu/register.js');
  registerWebGPUKernels();
  // Replace the package's own factory (default limits, no subgroups) with one on our device.
  if (tf.findBackendFactory('webgpu')) tf.removeBackend('webgpu');
  tf.registerBackend('webgpu', () => new GatWebGPUBackend(dev.device, dev.info, dev.subgroups), 0);
  registered = true;
  return dev;
}

export async function probeWebGPU(): Promise<BackendReport> {
  const version = versionsOf(...VERSIONS);
  try {
    const dev = await gatDevice();
    const limits = dev.device.limits;
    return {
      name: 'webgpu', available: true, version, device: describeAdapter(dev), gpu: !dev.summary.software, software: dev.summary.software, reason: null,
      webgpu: {
        pendingFlushBytes: pendingFlushBytes(limits.maxBufferSize), heavyThreshold: DEFAULT_HEAVY_THRESHOLD, subgroups: dev.subgroups,
        maxBufferSize: limits.maxBufferSize, maxStorageBufferBindingSize: limits.maxStorageBufferBindingSize,
      },
    };
  } catch (e) {
    const reason = e instanceof WebGPUUnavailable ? e.message : `WebGPU failed to start: ${(e as Error).message}`;
    return { name: 'webgpu', available: false, version, device: null, gpu: false, software: false, reason };
  }
}
