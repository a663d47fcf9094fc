/**
 * A kernel worker thread (started by kernels/simd/index.ts, one per thread beyond the first).
 * It instantiates the SIMD module on the shared memory it is given, then sleeps on the control
 * block's job word (Atomics.wait) and, on each new job, claims and runs tasks like the calling
 * thread does. A new memory (the loader drops a memory that grew too big) arrives as a message on
 * `port`, read synchronously (receiveMessageOnPort) when the control block's epoch says so.
 */
import { parentPort, receiveMessageOnPort, workerData, type MessagePort } from 'node:worker_threads';
import { controlSlot, controlViews, instantiateKernels, jobOpen, workOn, W_SLOT, type Exports } from './index.js';

interface Data {
  control: SharedArrayBuffer;
  module: WebAssembly.Module;
  port: MessagePort;
  epoch: number;
  memory: WebAssembly.Memory;
}

const data = workerData as Data;
const control = controlViews(data.control);
let epoch = data.epoch;
let exports: Exports | null = instantiateKernels(data.module, data.memory);

/** Takes the memory the current job runs on (null: drop the one held). */
function syncMemory(): void {
  const want = controlSlot(control, 'EPOCH');
  while (epoch !== want) {
    const got = receiveMessageOnPort(data.port);
    if (got === undefined) return;
    const msg = got.message as { epoch: number; memory: WebAssembly.Memory | null };
    epoch = msg.epoch;
    exports = msg.memory ? instantiateKernels(data.module, msg.memory) : null;
  }
}

parentPort!.postMessage('ready');
for (;;) {
  const w = controlSlot(control, 'W');
  syncMemory();
  if (jobOpen(control) && exports !== null && epoch === controlSlot(control, 'EPOCH')) workOn(control, exports, true);
  else Atomics.wait(control.ctrl, W_SLOT, w);
}
