/**
 * Preloaded (`node --import`) into a `gatv2 train --backend webgpu` child by
 * test/train-gpu-error.test.ts: once the run directory GATV2_FAULT_RUN_DIR holds a checkpoint
 * (last/), the next command buffer submitted is preceded by a request for a buffer larger than the
 * device's maxBufferSize. Dawn answers with a real GPU error, as it does when a GPU runs out of
 * memory mid-run; the run must stop with exit 1 and write nothing more.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { gatDevice } from '../kernels/webgpu/device.js';

// node --test also loads this file on its own (every file under dist/test/): then it does nothing.
const runDir = process.env['GATV2_FAULT_RUN_DIR'];
if (runDir) await injectAfterFirstCheckpoint(runDir);

async function injectAfterFirstCheckpoint(dir: string): Promise<void> {
  const { device } = await gatDevice();
  const proto = (globalThis as unknown as { GPUQueue: { prototype: GPUQueue } }).GPUQueue.prototype;
  const submit = proto.submit;
  let injected = false;
  proto.submit = function (this: GPUQueue, buffers: Iterable<GPUCommandBuffer>) {
    if (!injected && existsSync(join(dir, 'last'))) {
      injected = true;
      device.createBuffer({ size: device.limits.maxBufferSize + 4, usage: GPUBufferUsage.STORAGE });
    }
    return submit.call(this, buffers);
  };
}
