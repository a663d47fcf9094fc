/**
 * Times full training steps: forward, backward (analytic or autograd), optimizer update, and the
 * loss read back with `await data()` so the work has really been done (GPU backends run
 * asynchronously). Reports the median and spread of the step time after warm-up, edges per
 * second, peak memory over one more (untimed) step measured by src/bench/memory.ts: the bytes of
 * distinct live data buffers, and on webgpu the GPU buffers in use and held (free pool included),
 * and the process's peak RSS. One extra profiled step gives the time per kernel, to show where the
 * time goes.
 */
import { createHash } from 'node:crypto';
import * as tf from '@tensorflow/tfjs-core';
import type { DenseFeatures, SparseFeatures } from '../data/dataset.js';
import type { GraphLayout } from '../graph/layout.js';
import {
  buildNetworkConfig, createNetworkInputs, initNetworkParams, networkParamShapes, type NetworkShape,
} from '../model/network.js';
import type { GradMode } from '../ops/graph-tensors.js';
import { lossAndGrads } from '../model/objective.js';
import { splitTargets } from '../model/loss.js';
import { createOptimizer, DEFAULT_OPTIMIZER } from '../model/optimizers.js';
import { MemoryMeter, releaseGpuPool, type StepMemory } from './memory.js';

export interface BenchGraph {
  label: string;
  layout: GraphLayout;
  features: SparseFeatures | DenseFeatures;
  labels: Int32Array;
  numClasses: number;
  /** Nodes the loss is taken over. */
  lossNodes: Int32Array;
}

export interface BenchSettings {
  steps: number;
  warmup: number;
  seed: number;
  weightDecay: number;
  /** Model knobs (input width and classes come from the graph). */
  model: Omit<NetworkShape, 'inFeatures' | 'numClasses'>;
  /** Also run one profiled step for the per-kernel breakdown. */
  profileKernels: boolean;
  /** Give up on a mode once one step takes longer than this (ms); 0: never. */
  maxStepMs: number;
}

export interface Spread {
  median: number;
  min: number;
  max: number;
  p25: number;
  p75: number;
}

export interface BenchResult {
  graph: string;
  backend: string;
  mode: GradMode;
  numNodes: number;
  /** Edges including self loops, per layer. */
  numEdges: number;
  layers: number;
  steps: number;
  stepMs: Spread;
  /** numEdges * layers / median step time. */
  edgesPerSecond: number;
  /**
   * High-water of the engine's numBytes over one step (what tf.profile calls peakBytes): it counts
   * a buffer once per tensor object sharing it (the tape's clones, reshapes), so it overstates
   * memory (1.1x to 1.5x in these runs, more where the tape saves much). Kept so that older
   * readers and older results compare; see peakDataBytes.
   */
  peakTensorBytes: number;
  /** High-water over one step of the bytes of distinct live data buffers (each counted once). */
  peakDataBytes: number;
  /** Bytes of distinct live data buffers before that step: parameters, optimizer state, graph. */
  startDataBytes: number;
  /** webgpu: high-water over the step of GPU buffer bytes in use (cf. torch max_memory_allocated). */
  peakGpuBytesInUse?: number;
  /** webgpu: high-water of GPU buffer bytes TF.js holds, its free pool included, this mode's own
   * (cf. torch max_memory_reserved). */
  gpuPoolBytes?: number;
  /** Set when tensors shared buffers before the measured step: startDataBytes and peakDataBytes
   * are then upper bounds. */
  memoryNote?: string;
  peakRssBytes: number;
  /** Total ms per kernel name over one profiled step, largest first (empty without profiling). */
  kernels: { name: string; ms: number; calls: number }[];
  /** Why the mode stopped early, if it did. */
  stopped?: string;
  /**
   * SHA-256 of every parameter's bytes (names in order) after the last step: the same settings on
   * the same backend must give the same digest, in one process and across processes (the
   * determinism check of test/determinism.test.ts and scripts/gpu-check.sh).
   */
  paramsDigest: string;
}

/**
 * The peak memory to report and compare (with PyG's torch.cuda.max_memory_allocated): GPU bytes in
 * use on webgpu, else distinct data buffers; peakTensorBytes for results written before those.
 */
export function peakMemoryBytes(r: Pick<BenchResult, 'peakTensorBytes'> & Partial<BenchResult>): number {
  return r.peakGpuBytesInUse ?? r.peakDataBytes ?? r.peakTensorBytes;
}

function spread(xs: number[]): Spread {
  const s = [...xs].sort((a, b) => a - b);
  const q = (p: number) => s[Math.min(s.length - 1, Math.floor(p * (s.length - 1) + 0.5))];
  return { median: q(0.5), min: s[0], max: s[s.length - 1], p25: q(0.25), p75: q(0.75) };
}

export async function benchMode(g: BenchGraph, mode: GradMode, s: BenchSettings): Promise<BenchResult> {
  // webgpu: free the buffer pool earlier modes left behind, so that gpuPoolBytes is this mode's.
  await releaseGpuPool();
  const net = buildNetworkConfig({ ...s.model, inFeatures: g.features.numFeatures, numClasses: g.numClasses });
  const inputs = createNetworkInputs(g.features, g.layout);
  const init = initNetworkParams(net, s.seed);
  const params: Record<string, tf.Variable> = {};
  for (const [k, t] of Object.entries(init)) {
    params[k] = tf.variable(t, true, `bench/${k}`);
    t.dispose();
  }
  // Weight decay in the optimizer, as training does (src/train/trainer.ts) and PyG's
  // Adam(weight_decay=...) in scripts/pyg-compare.py.
  const optimizer = createOptimizer(DEFAULT_OPTIMIZER, networkParamShapes(net), { weightDecay: s.weightDecay });
  const targets = splitTargets(g.labels, g.lossNodes, g.numClasses);
  let stepIndex = 0;

  const step = async (): Promise<number> => {
    const t0 = performance.now();
    const loss = tf.tidy(() => {
      const r = lossAndGrads(net, params, inputs, { targets, weightDecay: 0 }, {
        mode, training: true, seed: s.seed * 1_000_003 + stepIndex++,
      });
      optimizer.apply(params, r.grads);
      return r.loss;
    });
    await loss.data();
    loss.dispose();
    return performance.now() - t0;
  };

  const times: number[] = [];
  let peakRss = process.memoryUsage().rss;
  let stopped: string | undefined;
  let mem: StepMemory | undefined;
  let kernels: BenchResult['kernels'] = [];
  try {
    for (let i = 0; i < s.warmup; i++) {
      const ms = await step();
      if (s.maxStepMs > 0 && ms > s.maxStepMs) {
        stopped = `a warm-up step took ${ms.toFixed(0)} ms (> --max-step-ms ${s.maxStepMs})`;
        times.push(ms);
        break;
      }
    }
    for (let i = 0; !stopped && i < s.steps; i++) {
      const ms = await step();
      times.push(ms);
      peakRss = Math.max(peakRss, process.memoryUsage().rss);
      if (s.maxStepMs > 0 && ms > s.maxStepMs && i >= 2) stopped = `stopped after ${i + 1} steps: a step took ${ms.toFixed(0)} ms`;
    }
    // Peak memory of one step, unprofiled (profiling submits GPU work after every kernel, which
    // changes when buffers are released).
    const meter = MemoryMeter.start();
    try {
      await step();
    } finally {
      mem = meter.stop();
    }
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
    // Its kernels' times, from one more step.
    if (s.profileKernels) {
      const info = await tf.profile(async () => {
        await step();
      });
      const byName = new Map<string, { ms: number; calls: number }>();
      for (const k of info.kernels) {
        const e = byName.get(k.name) ?? { ms: 0, calls: 0 };
        e.ms += typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;
        e.calls++;
        byName.set(k.name, e);
      }
      kernels = [...byName.entries()].map(([name, v]) => ({ name, ...v })).sort((a, b) => b.ms - a.ms);
    }
  } catch (err) {
    stopped = `failed: ${(err as Error).message.split('\n')[0]}`;
    if (times.length === 0) times.push(NaN);
  }
  let paramsDigest = '';
  try {
    paramsDigest = await digestOf(params);
  } finally {
    targets.dispose();
    optimizer.dispose();
    for (const v of Object.values(params)) v.dispose();
    inputs.dispose();
  }
  const stepMs = spread(times);
  return {
    graph: g.label,
    backend: tf.getBackend(),
    mode,
    numNodes: g.layout.numNodes,
    numEdges: g.layout.numEdges,
    layers: net.layers.length,
    steps: times.length,
    stepMs,
    edgesPerSecond: (g.layout.numEdges * net.layers.length) / (stepMs.median / 1000),
    peakTensorBytes: mem?.peakTensorBytes ?? 0,
    peakDataBytes: mem?.peakDataBytes ?? 0,
    startDataBytes: mem?.startDataBytes ?? 0,
    ...(mem?.peakGpuBytesInUse !== undefined ? { peakGpuBytesInUse: mem.peakGpuBytesInUse, gpuPoolBytes: mem.gpuPoolBytes } : {}),
    ...(mem && !mem.baselineExact ? { memoryNote: 'tensors shared buffers before the step: peakDataBytes is an upper bound' } : {}),
    peakRssBytes: peakRss,
    kernels,
    stopped,
    paramsDigest,
  };
}

/** SHA-256 (hex) of the tensors' bytes, in name order. */
export async function digestOf(tensors: Record<string, tf.Tensor>): Promise<string> {
  const hash = createHash('sha256');
  for (const name of Object.keys(tensors).sort()) {
    const t = tensors[name]!;
    hash.update(`${name}:${t.shape.join('x')}:`);
    const v = await t.data();
    hash.update(new Uint8Array(v.buffer, v.byteOffset, v.byteLength));
  }
  return hash.digest('hex');
}
