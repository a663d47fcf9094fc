/**
 * A kernel worker thread (started by kernels/simd/threads.ts, one per thread beyond the first).
 * It keeps an instance of the SIMD module on each memory it is sent (the module's own memory,
 * tfjs-backend-wasm's heap), sleeps on the control block's job word (Atomics.wait) and, on each
 * new job, claims and runs tasks like the calling thread does, on the instance of the job's memory.
 * Memories arrive (and are dropped) as messages on `port`, read synchronously
 * (receiveMessageOnPort) before each look at the job.
 */
import { parentPort, receiveMessageOnPort, workerData, type MessagePort } from 'node:worker_threads';
import { instantiateKernels, type Exports } from './module.js';
import { controlSlot, controlViews, jobOpen, workOn, W_SLOT } from './threads.js';

interface Data {
  control: SharedArrayBuffer;
  module: WebAssembly.Module;
  port: MessagePort;
}

const data = workerData as Data;
const control = controlViews(data.control);
/** An instance per memory, by the epoch the loader gave it. */
const instances = new Map<number, Exports>();

/** Takes every memory message waiting: a memory to run on, or null to drop one. */
function syncMemories(): void {
  for (let got = receiveMessageOnPort(data.port); got !== undefined; got = receiveMessageOnPort(data.port)) {
    const msg = got.message as { epoch: number; memory: WebAssembly.Memory | null };
    if (msg.memory === null) instances.delete(msg.epoch);
    else if (!instances.has(msg.epoch)) instances.set(msg.epoch, instantiateKernels(data.module, msg.memory));
  }
}

const exportsFor = (epoch: number) => instances.get(epoch) ?? null;

parentPort!.postMessage('ready');
for (;;) {
  const w = controlSlot(control, 'W');
  syncMemories();
  if (jobOpen(control) && exportsFor(controlSlot(control, 'EPOCH')) !== null) workOn(control, exportsFor, true);
  else Atomics.wait(control.ctrl, W_SLOT, w);
}
