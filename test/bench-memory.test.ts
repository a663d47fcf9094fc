/**
 * The bench memory meter (src/bench/memory.ts) counts each data buffer once, however many tensors
 * share it (clones, reshapes, what the gradient tape saves), sees a tidy's intermediates at their
 * peak, returns to where it started once they are gone, and puts TF.js back as it was. Then one
 * `benchMode` on a tiny graph reports the new fields, and the report scripts read new and old
 * bench JSON. Correctness only: nothing here is timed.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { useBackend } from '../src/backends/index.js';
import { syntheticBenchGraph } from '../src/bench/graphs.js';
import { MemoryMeter, releaseGpuPool } from '../src/bench/memory.js';
import { benchMode, peakMemoryBytes } from '../src/bench/step-bench.js';
import { DEFAULT_MODEL } from '../src/train/config.js';
import { PACKAGE_DIR } from './cli-helpers.js';

const F32 = 4;
const tensorInfoMap = () => (tf.engine() as unknown as { state: { tensorInfo: unknown } }).state.tensorInfo;

test('[cpu] a tensor, its clone and a reshape of it count once', async () => {
  await useBackend('cpu');
  const before = tensorInfoMap();
  const m = MemoryMeter.start();
  assert.notEqual(tensorInfoMap(), before, 'the meter is in place while measuring');
  const a = tf.tensor1d(new Float32Array(1000));
  const b = a.clone();
  const c = a.reshape([10, 100]);
  assert.equal(b.dataId, a.dataId, 'clone shares the buffer (else this test means nothing)');
  const live = m.liveDataBytes;
  const r = m.stop();
  assert.equal(live - r.startDataBytes, 1000 * F32);
  assert.equal(tensorInfoMap(), before, 'the engine has its own map back');
  assert.equal(r.peakDataBytes - r.startDataBytes, 1000 * F32, 'one buffer');
  assert.equal(r.peakTensorBytes - r.startDataBytes, 3 * 1000 * F32, 'the engine counts three tensors');
  assert.equal(r.baselineExact, true);
  assert.equal(r.peakGpuBytesInUse, undefined, 'no GPU numbers on cpu');
  assert.equal(r.gpuPoolBytes, undefined);
  assert.equal(m.stop(), r, 'stop() is idempotent');
  tf.dispose([a, b, c]);
  // Restored: the engine still tracks and frees buffers (disposing all three freed the one buffer).
  assert.equal(tf.memory().numBytes, r.startDataBytes);
});

test('[cpu] a tidy: intermediates counted at their peak, back to the start after', async () => {
  await useBackend('cpu');
  const x = tf.tensor1d(new Float32Array(1000).fill(0.5));
  const m = MemoryMeter.start();
  const info = await tf.profile(() => tf.tidy(() => tf.sum(tf.abs(tf.exp(x)))));
  const midway = m.liveDataBytes;
  tf.dispose(info.result);
  const end = m.liveDataBytes;
  const r = m.stop();
  // exp and abs outputs (1000 floats each) live together, then the scalar sum beside them.
  assert.equal(r.peakDataBytes - r.startDataBytes, 2 * 1000 * F32 + F32);
  assert.equal(midway - r.startDataBytes, F32, 'after the tidy only its result is left');
  assert.equal(end, r.startDataBytes, 'and nothing once that is disposed');
  assert.equal(r.endDataBytes, r.startDataBytes);
  // No buffer is shared here, so the engine's count and tf.profile agree with the meter.
  assert.equal(r.peakTensorBytes, r.peakDataBytes);
  assert.equal(info.peakBytes, r.peakTensorBytes);
  x.dispose();
});

test('[cpu] gradients: the tape\'s saved clones are counted once', async () => {
  await useBackend('cpu');
  const x = tf.tensor1d(new Float32Array(1000).fill(0.25));
  const m = MemoryMeter.start();
  const info = await tf.profile(() => tf.tidy(() => tf.grad((a: tf.Tensor) => tf.sum(tf.mul(tf.exp(a), tf.exp(a))))(x)));
  tf.dispose(info.result);
  const r = m.stop();
  assert.ok(r.peakTensorBytes > r.peakDataBytes, `engine ${r.peakTensorBytes} > distinct ${r.peakDataBytes}`);
  assert.equal(info.peakBytes, r.peakTensorBytes, 'peakTensorBytes is what tf.profile reports');
  assert.equal(r.endDataBytes, r.startDataBytes, 'every buffer of the step freed');
  assert.equal(tf.memory().numBytes, r.startDataBytes);
  x.dispose();
});

test('[cpu] a meter inside a meter: both see the step, both put things back', async () => {
  await useBackend('cpu');
  const before = tensorInfoMap();
  const outer = MemoryMeter.start();
  const inner = MemoryMeter.start();
  const t = tf.zeros([256]);
  t.dispose();
  const ri = inner.stop();
  const ro = outer.stop();
  assert.equal(ri.peakDataBytes - ri.startDataBytes, 256 * F32);
  assert.equal(ro.peakDataBytes - ro.startDataBytes, 256 * F32);
  assert.equal(tensorInfoMap(), before);
  assert.equal(await releaseGpuPool(), 0, 'no GPU pool on cpu');
});

test('[cpu] benchMode reports distinct-buffer memory beside the engine count, and leaks nothing', async () => {
  await useBackend('cpu');
  const g = syntheticBenchGraph({ numNodes: 60, avgDegree: 4, numFeatures: 8, numClasses: 3, distribution: 'uniform', seed: 1 });
  const startTensors = tf.memory().numTensors;
  const r = await benchMode(g, 'autograd', {
    steps: 1, warmup: 1, seed: 0, weightDecay: 5e-4, profileKernels: false, maxStepMs: 0,
    model: { ...DEFAULT_MODEL, layers: 2, heads: 2, hidden: 4 },
  });
  assert.equal(r.stopped, undefined);
  assert.ok(r.startDataBytes > 0, 'parameters, optimizer state and graph are live before the step');
  assert.ok(r.peakDataBytes > r.startDataBytes);
  assert.ok(r.peakTensorBytes > r.peakDataBytes, 'autograd saves clones: the engine count is higher');
  assert.equal(r.memoryNote, undefined, 'no buffer shared before the step: the baseline is exact');
  assert.equal(r.peakGpuBytesInUse, undefined);
  assert.equal(peakMemoryBytes(r), r.peakDataBytes);
  assert.equal(r.kernels.length, 0);
  assert.equal(tf.memory().numTensors, startTensors, 'benchMode disposes what it made');
});

test('peakMemoryBytes: GPU in use first, then distinct buffers, then the old engine count', () => {
  assert.equal(peakMemoryBytes({ peakTensorBytes: 30, peakDataBytes: 20, peakGpuBytesInUse: 25 }), 25);
  assert.equal(peakMemoryBytes({ peakTensorBytes: 30, peakDataBytes: 20 }), 20);
  assert.equal(peakMemoryBytes({ peakTensorBytes: 30 }), 30);
});

function run(cmd: string, args: string[]): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { cwd: PACKAGE_DIR }, (error, stdout, stderr) =>
      resolve({ code: error ? Number(error.code ?? 1) : 0, out: stdout, err: stderr }));
  });
}

const MiB = 1024 * 1024;
const result = (mode: string, extra: object) => JSON.stringify({
  type: 'result', graph: 'cora', backend: 'webgpu', mode, numNodes: 2708, numEdges: 13264, layers: 2, steps: 3,
  stepMs: { median: 10, min: 9, max: 11, p25: 9, p75: 11 }, edgesPerSecond: 2.6e6, peakRssBytes: 200 * MiB, kernels: [], ...extra,
});

test('kit-report reads new bench JSON (buffers, GPU in use, pool) and old (peakTensorBytes only)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'bench-mem-'));
  try {
    const file = join(dir, 'bench.jsonl');
    writeFileSync(file, [
      result('analytic', { peakTensorBytes: 40 * MiB, peakDataBytes: 30 * MiB, startDataBytes: 3 * MiB, peakGpuBytesInUse: 32 * MiB, gpuPoolBytes: 50 * MiB }),
      result('autograd', { peakTensorBytes: 120 * MiB }),
    ].join('\n') + '\n');
    const r = await run(process.execPath, ['scripts/kit-report.mjs', 'summary', 'bench', file]);
    assert.equal(r.code, 0, r.err);
    const [a, b] = r.out.trim().split('\n');
    assert.match(a!, /peak buffers 30\.0 MiB, GPU in use 32\.0 MiB, GPU pool 50\.0 MiB \(tensors counted separately: 40\.0 MiB\)/);
    assert.match(b!, /peak tensors 120\.0 MiB/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('pyg-compare compares our real peak (GPU in use, else distinct buffers, else the old field)', async (t) => {
  const py = await run('python3', ['--version']);
  if (py.code !== 0) {
    t.skip('no python3');
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'bench-mem-'));
  try {
    const file = join(dir, 'bench.jsonl');
    writeFileSync(file, [
      result('analytic', { peakTensorBytes: 40 * MiB, peakDataBytes: 30 * MiB, peakGpuBytesInUse: 32 * MiB, gpuPoolBytes: 50 * MiB }),
      result('autograd', { backend: 'wasm', peakTensorBytes: 120 * MiB, peakDataBytes: 90 * MiB }),
      result('autograd', { backend: 'cpu', peakTensorBytes: 70 * MiB }),
    ].join('\n') + '\n');
    // Without torch the script prints our rows only (exit 3); with it, PyG's row too (CPU: no pool).
    const r = await run('python3', ['scripts/pyg-compare.py', '--dataset', 'cora', '--ours-json', file, '--device', 'cpu', '--steps', '1', '--warmup', '0']);
    assert.ok(r.code === 0 || r.code === 3, `exit ${r.code}: ${r.err}`);
    const row = (who: string) => r.out.split('\n').find((l) => l.startsWith(who)) ?? '';
    assert.match(row('gatv2 webgpu'), /\s32\.0\s.*\s50\.0/, 'webgpu: GPU in use, and the pool');
    assert.match(row('gatv2 wasm'), /\s90\.0(\s|$)/, 'wasm: distinct buffers');
    assert.match(row('gatv2 cpu'), /\s70\.0(\s|$)/, 'an old result: peakTensorBytes');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
