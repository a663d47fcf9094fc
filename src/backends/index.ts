/**
 * Starts a TF.js backend with this project's kernels registered on it: cpu, wasm, webgpu
 * (WGSL kernels on a device we create), or tensorflow (tfjs-node-gpu, when installed), or the
 * best available one for 'auto'. Asking for one that cannot start is an InputError that says
 * how to get it.
 */
import * as tf from '@tensorflow/tfjs-core';
// The stock gradients: tfjs-core's node build leaves them out; the union package registers them.
import '@tensorflow/tfjs';
import { InputError } from '../util/errors.js';
import { AUTO_ORDER, chooseAuto } from './auto.js';
import { probeCpu, probeWasm, registerCpu, registerWasm } from './cpu-wasm.js';
import { loadTensorflow, probeTensorflow } from './tensorflow.js';
import { BACKENDS, type BackendChoice, type BackendName, type BackendReport } from './types.js';
import { describeAdapter, probeWebGPU, registerWebGPU } from './webgpu.js';

export { BACKENDS, CONCRETE_BACKENDS } from './types.js';
export type { BackendChoice, BackendName, BackendReport, BackendRequest } from './types.js';

let lastChoice: BackendChoice | null = null;

/** Probes one backend (loads it, and for webgpu creates the device, but switches to nothing). */
export async function probeBackend(name: BackendName): Promise<BackendReport> {
  switch (name) {
    case 'tensorflow':
      return probeTensorflow();
    case 'webgpu':
      return probeWebGPU();
    case 'wasm':
      return probeWasm();
    case 'cpu':
      return probeCpu();
  }
}

export async function probeAll(): Promise<BackendReport[]> {
  const out: BackendReport[] = [];
  for (const name of ['tensorflow', 'webgpu', 'wasm', 'cpu'] as const) out.push(await probeBackend(name));
  return out;
}

/** Probes in auto's order (tensorflow is never probed: auto never takes it) and stops at the
 * first backend auto accepts. */
async function autoChoice(): Promise<BackendChoice> {
  const reports: BackendReport[] = [];
  for (const name of AUTO_ORDER) {
    reports.push(await probeBackend(name));
    try {
      return chooseAuto(reports);
    } catch {
      // none accepted yet: probe the next
    }
  }
  return chooseAuto(reports);
}

async function register(name: BackendName): Promise<string> {
  switch (name) {
    case 'cpu':
      await registerCpu();
      return 'cpu as asked';
    case 'wasm':
      await registerWasm();
      return 'wasm as asked';
    case 'webgpu': {
      const dev = await registerWebGPU();
      const note = dev.summary.software ? '; a software adapter: correct but slow' : '';
      return `webgpu as asked, on ${describeAdapter(dev)}${note}`;
    }
    case 'tensorflow': {
      const t = await loadTensorflow();
      return `tensorflow as asked (${t.pkg} ${t.version} on ${t.gpu ? 'a CUDA GPU' : 'the CPU'})`;
    }
  }
}

/** Starts the backend `request` names ('auto' included) and returns it with the reason. */
export async function selectBackend(request: string): Promise<BackendChoice> {
  if (!(BACKENDS as readonly string[]).includes(request)) {
    throw new InputError(`unknown backend "${request}": choose one of ${BACKENDS.join(', ')}`);
  }
  let choice: BackendChoice;
  if (request === 'auto') {
    choice = await autoChoice();
    await register(choice.name);
  } else {
    const name = request as BackendName;
    let reason: string;
    try {
      reason = await register(name);
    } catch (e) {
      // Not there (no package, no driver): say how to get it. There, yet it failed to register:
      // a bug, which keeps its stack (exit 70).
      const report = await probeBackend(name).catch(() => null);
      if (report?.available !== false) throw e;
      throw new InputError(`backend "${name}" is not available: ${report.reason ?? (e as Error).message}`);
    }
    choice = { name, reason };
  }
  const ok = await tf.setBackend(choice.name);
  if (!ok) throw new InputError(`backend "${choice.name}" could not be started (see the messages above)`);
  await tf.ready();
  // The cpu backend greets Node users with an advert for tfjs-node on first use; this tool says
  // itself which backend it runs on and why.
  if (choice.name === 'cpu') (tf.backend() as unknown as { firstUse: boolean }).firstUse = false;
  lastChoice = choice;
  return choice;
}

/** Starts a backend ('auto' included) and returns its name; backendReason() says why. */
export async function useBackend(request: string): Promise<BackendName> {
  return (await selectBackend(request)).name;
}

/** Why the last useBackend / selectBackend took the backend it took. */
export function backendReason(): string | null {
  return lastChoice?.reason ?? null;
}

export function lastBackendChoice(): BackendChoice | null {
  return lastChoice;
}
