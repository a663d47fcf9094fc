/**
 * `gatv2 backends [--json]`: for each TF.js backend, whether it is available, its version, the
 * device it computes on (WebGPU adapter vendor and architecture, CUDA GPU, CPU) and, when it is
 * not available, why and how to get it; then what `--backend auto` would pick and why.
 */
import type { Argv, CommandModule } from 'yargs';
import { chooseAuto, TENSORFLOW_OPT_IN } from '../backends/auto.js';
import { probeAll } from '../backends/index.js';
import type { BackendChoice, BackendReport } from '../backends/types.js';
import { simdEnabled, threadSetting } from '../../kernels/simd/index.js';
import { sharedHeapBinaryFolder } from '../../kernels/wasm/shared-heap.js';

interface BackendsArgs {
  json: boolean;
}

export interface BackendsListing {
  backends: BackendReport[];
  auto: BackendChoice | null;
  /** Threads of the cpu and wasm kernels, where the number comes from, whether they run as
   * WebAssembly SIMD (else the single-threaded JS loops), and whether on wasm they work on the
   * backend's heap in place (its shared-memory binary is there and GATV2_NO_SHARED_HEAP unset). */
  threads?: { threads: number; source: string; simd: boolean; wasmHeapShared: boolean };
}

export async function listBackends(): Promise<BackendsListing> {
  const backends = (await probeAll()).map((b) => (b.name === 'tensorflow' ? { ...b, autoSkips: TENSORFLOW_OPT_IN.replace(/^tensorflow: /, '') } : b));
  let auto: BackendChoice | null = null;
  try {
    auto = chooseAuto(backends);
  } catch {
    auto = null;
  }
  const simd = simdEnabled();
  return { backends, auto, threads: { ...threadSetting(), simd, wasmHeapShared: simd && sharedHeapBinaryFolder() !== null } };
}

export function formatBackends(l: BackendsListing): string {
  const width = Math.max(...l.backends.map((b) => b.name.length)) + 2;
  const pad = ' '.repeat(width);
  const lines: string[] = [];
  for (const b of l.backends) {
    const status = !b.available ? 'not available' : b.software ? 'available (software adapter: auto skips it)' : 'available';
    lines.push(`${b.name.padEnd(width)}${status}`);
    lines.push(`${pad}version  ${b.version ?? '-'}`);
    if (b.available) lines.push(`${pad}device   ${b.device ?? '-'}`);
    else lines.push(`${pad}why      ${b.reason ?? 'unknown'}`);
    if (b.autoSkips) lines.push(`${pad}auto     never: ${b.autoSkips}`);
    if (b.webgpu) {
      const MiB = 1024 * 1024;
      lines.push(`${pad}kernels  submit early once ${b.webgpu.pendingFlushBytes / MiB} MiB of freed tensors wait (1/256 of maxBufferSize ` +
        `${(b.webgpu.maxBufferSize / MiB).toFixed(0)} MiB); a workgroup per segment above ${b.webgpu.heavyThreshold} entries; ` +
        `${b.webgpu.subgroups ? 'subgroup' : 'shared-memory'} reductions`);
    }
  }
  lines.push('');
  lines.push(l.auto ? `--backend auto picks ${l.auto.name}: ${l.auto.reason}` : '--backend auto finds no backend');
  if (l.threads) {
    const from = { option: '--threads', GATV2_THREADS: 'GATV2_THREADS', cores: 'the available cores' }[l.threads.source] ?? l.threads.source;
    lines.push(l.threads.simd
      ? `cpu/wasm kernels: ${l.threads.threads} thread${l.threads.threads === 1 ? '' : 's'} (from ${from}), WebAssembly SIMD; ` +
        (l.threads.wasmHeapShared ? 'on wasm in place on its heap (shared memory)' : 'on wasm with copies in and out (stock heap: GATV2_NO_SHARED_HEAP, or a build without dist/kernels/wasm/tfjs-wasm)')
      : 'cpu/wasm kernels: 1 thread, JS loops (no WebAssembly SIMD here, or GATV2_NO_SIMD)');
  }
  return lines.join('\n') + '\n';
}

export const backendsCommand: CommandModule<object, BackendsArgs> = {
  command: 'backends',
  describe: 'List the TF.js backends: available or not (and how to get them), version, device',
  builder: (y: Argv) => y.option('json', { type: 'boolean', default: false, describe: 'Print one JSON object' }) as Argv<BackendsArgs>,
  handler: async (args) => {
    const listing = await listBackends();
    process.stdout.write(args.json ? `${JSON.stringify(listing, null, 2)}\n` : formatBackends(listing));
  },
};
