/**
 * What `--backend auto` picks, as a pure function of the probes: webgpu on a hardware adapter (a
 * software adapter such as lavapipe is slower than wasm), else wasm, else cpu. The reason names
 * the choice and why each better one was passed over. Never tensorflow: no test of this project
 * has run it (it cannot be installed where the tests run), so it is only used when asked for by
 * name (`--backend tensorflow`).
 */
import type { BackendChoice, BackendName, BackendReport } from './types.js';

/** The head of a message ("no Vulkan driver" of "no Vulkan driver: install ..."). */
function short(text: string | null, fallback: string): string {
  return (text ?? fallback).split(': ')[0]!;
}

/** Why auto never takes tensorflow (`gatv2 backends` says it too). */
export const TENSORFLOW_OPT_IN = 'tensorflow: only with --backend tensorflow (untested: no test of this project has run it)';

function whyNot(r: BackendReport): string {
  if (r.name === 'tensorflow') return TENSORFLOW_OPT_IN;
  if (!r.available) return `${r.name}: ${short(r.reason, 'not available')}`;
  if (r.name === 'webgpu' && r.software) return `webgpu: only a software adapter (${short(r.device, 'unknown').split(' (')[0]}), slower than wasm`;
  return `${r.name}: not preferred`;
}

function accepts(r: BackendReport): boolean {
  if (!r.available || r.name === 'tensorflow') return false;
  if (r.name === 'webgpu') return r.gpu && !r.software;
  return true;
}

/** The backends auto considers, in its order of preference. */
export const AUTO_ORDER: BackendName[] = ['webgpu', 'wasm', 'cpu'];

/** `reports` may miss backends auto never reached (it stops at the first acceptable one). */
export function chooseAuto(reports: BackendReport[]): BackendChoice {
  const byName = new Map(reports.map((r) => [r.name, r]));
  const passed: string[] = [TENSORFLOW_OPT_IN];
  for (const name of AUTO_ORDER) {
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
