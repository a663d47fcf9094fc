/**
 * The same seed gives the same bytes: whole training steps (forward with dropout, analytic
 * backward, Adam with weight decay) on a graph with hubs (a power-law in-degree, so the webgpu
 * hub programs run), repeated in this process and in two `gatv2 bench` processes, end with the
 * same parameters to the bit, on cpu, wasm and webgpu. On webgpu no program that writes with
 * atomics may run (TF.js's split-K matmul did, and two identical runs parted at the second epoch).
 *
 * The webgpu case needs an adapter (lavapipe will do, see .ci/install-vulkan.sh); without one it
 * skips, except under CI=true, where that is a failure.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { selectBackend } from '../src/backends/index.js';
import { syntheticBenchGraph } from '../src/bench/graphs.js';
import { benchMode, type BenchResult, type BenchSettings } from '../src/bench/step-bench.js';
import { DEFAULT_MODEL } from '../src/train/config.js';
import type { GatWebGPUBackend } from '../kernels/webgpu/backend.js';
import { takeWebGPUErrors } from '../kernels/webgpu/device.js';
import { wouldSplitK } from '../kernels/webgpu/matmul.js';
import { runCli } from './cli-helpers.js';

const unavailable = await selectBackend('webgpu').then(() => null, (e: Error) => e.message);
if (unavailable !== null && process.env['CI'] === 'true') {
  throw new Error(`CI needs a WebGPU adapter (run .ci/install-vulkan.sh): ${unavailable}`);
}
const noGpu = unavailable === null ? false : `no WebGPU adapter: ${unavailable}`;

/** The graph and model (2500 rows: TF.js 4.22 would run x^T dy as its split-K matmul, with atomics), as `gatv2 bench` builds them from these flags (src/cli/bench.ts). */
const GRAPH = { numNodes: 2500, avgDegree: 5, numFeatures: 24, numClasses: 4, distribution: 'power-law' as const, seed: 7 };
const MODEL = { ...DEFAULT_MODEL, heads: 2, hidden: 8, layers: 2 };
const CLI_FLAGS = [
  'bench', '--nodes', '2500', '--avg-degree', '5', '--features', '24', '--classes', '4', '--distribution', 'power-law',
  '--seed', '7', '--heads', '2', '--hidden', '8', '--layers', '2', '--grad', 'analytic', '--steps', '2', '--warmup', '1',
  '--kernels', '0', '--json',
];
const SETTINGS: BenchSettings = {
  steps: 2, warmup: 1, seed: 7, weightDecay: 5e-4, profileKernels: false, maxStepMs: 60_000, model: MODEL,
};

async function inProcess(): Promise<BenchResult> {
  const g = syntheticBenchGraph(GRAPH);
  const r = await benchMode(g, 'analytic', SETTINGS);
  assert.equal(r.stopped, undefined, `the steps failed: ${r.stopped}`);
  return r;
}

async function inChild(backend: string): Promise<string> {
  const { code, out, err } = await runCli([...CLI_FLAGS, '--backend', backend]);
  assert.equal(code, 0, err);
  const result = out.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as BenchResult & { type: string })
    .find((o) => o.type === 'result');
  assert.ok(result, `no result line in: ${out}`);
  assert.equal(result.stopped, undefined);
  return result.paramsDigest;
}

async function checkBackend(backend: 'cpu' | 'wasm' | 'webgpu'): Promise<void> {
  await selectBackend(backend);
  const first = await inProcess();
  const second = await inProcess();
  assert.match(first.paramsDigest, /^[0-9a-f]{64}$/);
  // 1 warm-up + 2 timed + 1 measured step, each with Adam: parameters that changed four times.
  assert.equal(second.paramsDigest, first.paramsDigest, `${backend}: two runs in one process differ`);
  const [a, b] = await Promise.all([inChild(backend), inChild(backend)]);
  assert.equal(a, b, `${backend}: two processes differ`);
  assert.equal(a, first.paramsDigest, `${backend}: a process differs from this one`);
}

test('a training step gives the same bytes in one process and in two, on cpu', async () => {
  await checkBackend('cpu');
});

test('a training step gives the same bytes in one process and in two, on wasm', async () => {
  await checkBackend('wasm');
});

test('a training step gives the same bytes in one process and in two, on webgpu, with no atomics', { skip: noGpu }, async () => {
  await checkBackend('webgpu');
  const backend = tf.backend() as GatWebGPUBackend;
  // The graph has hubs: the hub programs ran (in-degree above the threshold).
  assert.ok(hubInDegree() > backend.gat.heavyThreshold, 'the graph has no hub');
  assert.deepEqual([...backend.atomicPrograms], []);
  assert.deepEqual(takeWebGPUErrors(), []);
});

/** The largest in-degree of the test graph. */
function hubInDegree(): number {
  const g = syntheticBenchGraph(GRAPH);
  let most = 0;
  for (let i = 0; i < g.layout.numNodes; i++) most = Math.max(most, g.layout.rowPtr[i + 1]! - g.layout.rowPtr[i]!);
  return most;
}

test('on webgpu, a product TF.js would split over K with atomics runs without them, equal to cpu', { skip: noGpu }, async () => {
  const a = tf.tidy(() => tf.randomUniform([2500, 24], -1, 1, 'float32', 1));
  const b = tf.tidy(() => tf.randomUniform([2500, 16], -1, 1, 'float32', 2));
  const aHost = await a.data(), bHost = await b.data();
  await selectBackend('webgpu');
  const backend = tf.backend() as GatWebGPUBackend;
  assert.ok(wouldSplitK([2500, 24], [2500, 16], true, false, backend.thresholdToIncreaseWorkgroups), 'TF.js would not split this one');
  const x = tf.tensor2d(aHost, [2500, 24]), dy = tf.tensor2d(bHost, [2500, 16]);
  const first = await tf.matMul(x, dy, true, false).data();
  const again = await tf.matMul(x, dy, true, false).data();
  assert.deepEqual([...backend.atomicPrograms], []);
  assert.deepEqual(Buffer.from(again.buffer), Buffer.from(first.buffer));
  await selectBackend('cpu');
  const want = await tf.matMul(tf.tensor2d(aHost, [2500, 24]), tf.tensor2d(bHost, [2500, 16]), true, false).data();
  for (let k = 0; k < want.length; k++) assert.ok(Math.abs(first[k]! - want[k]!) <= 1e-4 * (1 + Math.abs(want[k]!)), `element ${k}: ${first[k]} vs ${want[k]}`);
});
