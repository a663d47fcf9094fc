/**
 * `gatv2 bench`: full training steps, analytic against autograd, on a dataset or a synthetic
 * graph; `--sweep` grows a synthetic graph from 10^4 to 10^7 edges to show how time and memory
 * scale with E. Numbers are measured here, on this machine; tests never time anything.
 */
import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { selectBackend } from '../backends/index.js';
import { threadCount } from '../../kernels/simd/index.js';
import { InputError } from '../util/errors.js';
import type { GradMode } from '../ops/graph-tensors.js';
import { DEFAULT_MODEL } from '../train/config.js';
import { datasetBenchGraph, syntheticBenchGraph } from '../bench/graphs.js';
import { benchMode, peakMemoryBytes, type BenchGraph, type BenchResult, type BenchSettings } from '../bench/step-bench.js';
import type { DegreeDistribution } from '../graph/synthetic.js';
import { formatTable } from '../util/table.js';
import { checkInteger, checkPositive } from './option-values.js';
import { buildNetworkConfig } from '../model/network.js';
import { checkAutogradFits } from '../model/autograd-memory.js';

interface BenchArgs {
  dataset?: string;
  nodes: number;
  avgDegree: number;
  features: number;
  classes: number;
  distribution: DegreeDistribution;
  heads: number;
  hidden: number;
  layers: number;
  grad: string[];
  backend: string;
  steps: number;
  warmup: number;
  seed: number;
  sweep: boolean;
  sweepMax: number;
  maxStepMs: number;
  kernels: number;
  json: boolean;
}

const MB = 1024 * 1024;

const mb = (bytes: number | undefined) => (bytes === undefined ? '-' : (bytes / MB).toFixed(1));

/** Memory columns: distinct data buffers everywhere; GPU buffers in use and held where on webgpu. */
function row(r: BenchResult, gpu: boolean): string[] {
  return [
    r.graph, r.mode, String(r.numEdges), r.stepMs.median.toFixed(1), `${r.stepMs.min.toFixed(1)}-${r.stepMs.max.toFixed(1)}`,
    (r.edgesPerSecond / 1e6).toFixed(2), mb(r.peakDataBytes), ...(gpu ? [mb(r.peakGpuBytesInUse), mb(r.gpuPoolBytes)] : []),
    (r.peakRssBytes / MB).toFixed(0), [r.stopped, r.memoryNote].filter(Boolean).join('; '),
  ];
}

function header(gpu: boolean): string[] {
  return ['graph', 'grad', 'edges', 'step ms (median)', 'min-max', 'Medges/s', 'peak buffers MB',
    ...(gpu ? ['GPU in use MB', 'GPU pool MB'] : []), 'peak RSS MB', 'note'];
}

function printTable(results: BenchResult[]): void {
  const gpu = results.some((r) => r.peakGpuBytesInUse !== undefined);
  console.log(formatTable(header(gpu), results.map((r) => row(r, gpu))));
  console.log('peak buffers: most bytes of distinct tensor buffers live during one step (a buffer shared by several tensors counted once)' +
    (gpu ? '; GPU in use / pool: most bytes of GPU buffers in use / held by TF.js, free pool included (cf. torch max_memory_allocated / reserved)' : ''));
}

function printRatios(results: BenchResult[]): void {
  const byGraph = new Map<string, Partial<Record<GradMode, BenchResult>>>();
  for (const r of results) byGraph.set(r.graph, { ...byGraph.get(r.graph), [r.mode]: r });
  for (const [graph, m] of byGraph) {
    if (m.analytic && m.autograd && !m.analytic.stopped && !m.autograd.stopped) {
      console.log(`${graph}: analytic is ${(m.autograd.stepMs.median / m.analytic.stepMs.median).toFixed(2)}x faster than autograd, ` +
        `with ${(peakMemoryBytes(m.analytic) / peakMemoryBytes(m.autograd)).toFixed(2)}x its peak ` +
        `${m.analytic.peakGpuBytesInUse !== undefined ? 'GPU memory in use' : 'buffer memory'}`);
    }
  }
}

function printKernels(r: BenchResult, top: number): void {
  if (top <= 0 || r.kernels.length === 0) return;
  const total = r.kernels.reduce((a, k) => a + k.ms, 0);
  console.log(`\nwhere the time goes: ${r.graph}, ${r.mode}, one profiled step (${total.toFixed(1)} ms in kernels)`);
  console.log(formatTable(['kernel', 'ms', 'share', 'calls'], r.kernels.slice(0, top).map((k) => [
    k.name, k.ms.toFixed(2), `${((100 * k.ms) / Math.max(total, 1e-9)).toFixed(1)}%`, String(k.calls),
  ])));
}

export const benchCommand: CommandModule<object, BenchArgs> = {
  command: 'bench',
  describe: 'Time full training steps (forward, backward, update), analytic against autograd',
  builder: (y: Argv) =>
    y
      .option('dataset', { type: 'string', describe: 'A built-in dataset or a dataset directory (else a synthetic graph)' })
      .option('nodes', { type: 'number', default: 100_000, describe: 'Synthetic graph: nodes' })
      .option('avg-degree', { type: 'number', default: 10, describe: 'Synthetic graph: edges per node' })
      .option('features', { type: 'number', default: 128, describe: 'Synthetic graph: dense input features' })
      .option('classes', { type: 'number', default: 16, describe: 'Synthetic graph: classes' })
      .option('distribution', { choices: ['uniform', 'power-law'] as const, default: 'uniform' as const, describe: 'Synthetic in-degree distribution' })
      .option('heads', { type: 'number', default: DEFAULT_MODEL.heads, describe: 'Heads of the hidden layers' })
      .option('hidden', { type: 'number', default: DEFAULT_MODEL.hidden, describe: 'Channels per head of the hidden layers' })
      .option('layers', { type: 'number', default: DEFAULT_MODEL.layers, describe: 'GATv2 layers' })
      .option('grad', { type: 'array', string: true, default: ['analytic', 'autograd'], describe: 'Gradient modes to time' })
      .option('backend', { type: 'string', default: 'auto', describe: 'auto, webgpu, tensorflow, wasm or cpu' })
      .option('steps', { type: 'number', default: 10, describe: 'Timed steps (after warm-up)' })
      .option('warmup', { type: 'number', default: 3, describe: 'Untimed warm-up steps' })
      .option('seed', { type: 'number', default: 0 })
      .option('sweep', { type: 'boolean', default: false, describe: 'Synthetic graphs from 10^4 to --sweep-max edges' })
      .option('sweep-max', { type: 'number', default: 1e7, describe: 'Largest sweep size (edges)' })
      .option('max-step-ms', { type: 'number', default: 60_000, describe: 'Stop a mode (and the sweep) once a step takes longer' })
      .option('kernels', { type: 'number', default: 8, describe: 'Show the N most expensive kernels of one profiled step (0: none)' })
      .option('json', { type: 'boolean', default: false, describe: 'Print one JSON object per result, then a summary' })
      .example('$0 bench --dataset cora --backend wasm', 'the default 2-layer model on Cora')
      .example('$0 bench --nodes 100000 --avg-degree 10 --grad analytic', 'a synthetic graph of 10^6 edges')
      .example('$0 bench --sweep --grad analytic', 'time and memory against E') as unknown as Argv<BenchArgs>,
  handler: async (args: ArgumentsCamelCase<BenchArgs>) => {
    for (const [flag, v, min] of [
      ['--nodes', args.nodes, 1], ['--features', args.features, 1], ['--classes', args.classes, 2], ['--heads', args.heads, 1],
      ['--hidden', args.hidden, 1], ['--layers', args.layers, 1], ['--steps', args.steps, 1], ['--warmup', args.warmup, 0],
      ['--seed', args.seed, 0], ['--kernels', args.kernels, 0],
    ] as const) checkInteger(flag, v, min);
    checkPositive('--avg-degree', args.avgDegree);
    checkPositive('--sweep-max', args.sweepMax);
    if (!(args.maxStepMs >= 0)) throw new InputError(`--max-step-ms must be >= 0, got ${args.maxStepMs}`);
    const modes = args.grad.map((g) => {
      if (g !== 'analytic' && g !== 'autograd') throw new InputError(`--grad must be analytic or autograd, got "${g}"`);
      return g as GradMode;
    });
    const { name: backend, reason } = await selectBackend(args.backend);
    if (!args.json) console.error(`backend: ${reason}`);
    if (!args.json && (backend === 'cpu' || backend === 'wasm')) console.error(`kernel threads: ${threadCount()}`);
    const settings: BenchSettings = {
      steps: args.steps, warmup: args.warmup, seed: args.seed, weightDecay: 5e-4, profileKernels: args.kernels > 0,
      maxStepMs: args.maxStepMs,
      model: { ...DEFAULT_MODEL, heads: args.heads, hidden: args.hidden, layers: args.layers },
    };
    const graphs: (() => Promise<BenchGraph>)[] = [];
    if (args.dataset) graphs.push(() => datasetBenchGraph(args.dataset!));
    else if (args.sweep) {
      for (let e = 1e4; e <= args.sweepMax * 1.0001; e *= Math.sqrt(10)) {
        const edges = Math.round(e / 1000) * 1000;
        graphs.push(async () => syntheticBenchGraph({
          numNodes: Math.max(10, Math.round(edges / args.avgDegree)), avgDegree: args.avgDegree, numFeatures: args.features,
          numClasses: args.classes, distribution: args.distribution, seed: args.seed,
        }));
      }
    } else {
      graphs.push(async () => syntheticBenchGraph({
        numNodes: args.nodes, avgDegree: args.avgDegree, numFeatures: args.features, numClasses: args.classes,
        distribution: args.distribution, seed: args.seed,
      }));
    }
    const results: BenchResult[] = [];
    const live = new Set(modes);
    for (const make of graphs) {
      if (live.size === 0) break;
      const g = await make();
      for (const mode of modes) {
        if (!live.has(mode)) continue;
        if (mode === 'autograd') {
          const net = buildNetworkConfig({ ...settings.model, inFeatures: g.features.numFeatures, numClasses: g.numClasses });
          try {
            checkAutogradFits(net, g.layout.numEdges, '--grad autograd', backend);
          } catch (err) {
            // A sweep goes on with the other mode; a single graph is refused.
            if (!args.sweep || !(err instanceof InputError)) throw err;
            console.error(`${g.label}: ${err.message}`);
            live.delete(mode);
            continue;
          }
        }
        const r = await benchMode(g, mode, settings);
        results.push(r);
        if (args.json) console.log(JSON.stringify({ type: 'result', ...r }));
        else console.error(`${r.graph} ${r.mode}: ${r.stepMs.median.toFixed(1)} ms/step${r.stopped ? ` (${r.stopped})` : ''}`);
        if (r.stopped) live.delete(mode); // a sweep goes no larger for this mode
      }
    }
    if (args.json) {
      console.log(JSON.stringify({ type: 'summary', backend, reason, threads: threadCount(), results: results.map(({ kernels: _k, ...r }) => r) }));
      return;
    }
    printTable(results);
    printRatios(results);
    if (args.sweep) printGrowth(results);
    for (const r of results.slice(0, args.sweep ? 0 : results.length)) printKernels(r, args.kernels);
  },
};

/** Per mode, how step time and peak memory grow from one sweep size to the next, against E. */
function printGrowth(results: BenchResult[]): void {
  for (const mode of ['analytic', 'autograd'] as GradMode[]) {
    const rs = results.filter((r) => r.mode === mode && !r.stopped);
    if (rs.length < 2) continue;
    console.log(`\n${mode}: growth between sweep sizes (1.00 = linear in E)`);
    console.log(formatTable(['edges', 'x edges', 'time growth / edge growth', 'memory growth / edge growth'], rs.slice(1).map((r, k) => {
      const p = rs[k];
      const eg = r.numEdges / p.numEdges;
      return [String(r.numEdges), eg.toFixed(2), (r.stepMs.median / p.stepMs.median / eg).toFixed(2), (peakMemoryBytes(r) / peakMemoryBytes(p) / eg).toFixed(2)];
    })));
  }
}
