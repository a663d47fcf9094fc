/**
 * What `--backend auto` picks, as a pure function of the probes: tensorflow when it runs on a
 * CUDA GPU, else webgpu on a hardware adapter (a software adapter such as lavapipe is slower than
 * wasm), else wasm, else cpu. The reason names the choice and why each better one was passed over.
 */
import type { BackendChoice, BackendName, BackendReport } from './types.js';

/** The head of a message ("no Vulkan driver" of "no Vulkan driver: install ..."). */
function short(text: string | null, fallback: string): string {
  return (text ?? fallback).split(': ')[0]!;
}

function whyNot(r: BackendReport): string {
  if (!r.available) return `${r.name}: ${short(r.reason, 'not available')}`;
  if (r.name === 'tensorflow') return 'tensorflow: no CUDA GPU (TensorFlow on the CPU is not preferred)';
  if (r.name === 'webgpu' && r.software) return `webgpu: only a software adapter (${short(r.device, 'unknown').split(' (')[0]}), slower than wasm`;
  return `${r.name}: not preferred`;
}

function accepts(r: BackendReport): boolean {
  if (!r.available) return false;
  if (r.name === 'tensorflow' || r.name === 'webgpu') return r.gpu && !r.software;
  return true;
}

const ORDER: BackendName[] = ['tensorflow', 'webgpu', 'wasm', 'cpu'];

/** `reports` may miss backends auto never reached (it stops at the first acceptable one). */
export function chooseAuto(reports: BackendReport[]): BackendChoice {
  const byName = new Map(reports.map((r) => [r.name, r]));
  const passed: string[] = [];
  for (const name of ORDER) {
    const r = byName.get(name);
    if (!r) continue;
    if (accepts(r)) {
      const what = r.gpu && r.device ? `${name} on ${r.device}` : name;
      return { name, reason: passed.length > 0 ? `auto: ${what} (${passed.join('; ')})` : `auto: ${what}` };
    }
    passed.push(whyNot(r));
  }
  throw new Error(`no backend is available: ${passed.join('; ')}`);
}
