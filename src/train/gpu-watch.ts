/**
 * Stops a run at the first GPU error. WebGPU reports errors (out of memory, validation, internal,
 * a lost device) asynchronously and TF.js does not look at them: after an out-of-memory error a
 * run went on, wrote checkpoints of numbers that were never computed, and exited 0. A run is
 * watched from start to end by error scopes of all three kinds; after each epoch's numbers are
 * computed and before anything of the epoch is written, check() pops them (and pushes new ones):
 * any error they caught, or that arrived outside them (device.ts records those, and a lost
 * device), becomes a DeviceError with the GPU's message, so the CLI exits 1 and the epoch's
 * checkpoint is never written. On other backends this does nothing.
 */
import * as tf from '@tensorflow/tfjs-core';
import { takeWebGPUErrors } from '../../kernels/webgpu/device.js';
import { DeviceError } from '../util/errors.js';

const FILTERS: GPUErrorFilter[] = ['validation', 'out-of-memory', 'internal'];

export interface GpuWatch {
  /** Throws a DeviceError if the GPU reported an error since the last check; watches on. */
  check(what: string): Promise<void>;
  /** Stops watching (for a `finally`). */
  release(): Promise<void>;
}

/** Starts watching for GPU errors. */
export function watchGpu(): GpuWatch {
  if (tf.getBackend() !== 'webgpu') return { check: async () => {}, release: async () => {} };
  const device = (tf.backend() as unknown as { device: GPUDevice }).device;
  const push = () => {
    for (const f of FILTERS) device.pushErrorScope(f);
  };
  let open = true;
  const pop = async (): Promise<string[]> => {
    if (!open) return [];
    open = false;
    const caught: string[] = [];
    for (let k = 0; k < FILTERS.length; k++) {
      const e = await device.popErrorScope();
      if (e) caught.push(e.message);
    }
    // Popped in reverse: the order pushed.
    return caught.reverse();
  };
  push();
  return {
    release: async () => {
      await pop();
    },
    check: async (what) => {
      const messages = [...takeWebGPUErrors(), ...(await pop())];
      if (messages.length > 0) {
        const first = messages[0]!.split('\n')[0]!.trim().replace(/\.$/, '');
        const more = messages.length > 1 ? ` (and ${messages.length - 1} more)` : '';
        throw new DeviceError(`the GPU reported an error during ${what}: ${first}${more}; the run stopped without writing this epoch's checkpoint`);
      }
      push();
      open = true;
    },
  };
}
