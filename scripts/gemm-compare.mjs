#!/usr/bin/env node
/**
 * Times TF.js's wasm matMul with its stock kernel (XNNPACK, one thread in Node) against the same
 * call with this project's kernel registered (kernels/wasm/matmul.ts: the threaded SIMD GEMM of
 * kernels/simd, on THREADS threads), on the dense products of a training step: x W, x^T dy and
 * dy W^T at the 1/10-ogbn-arxiv size (16,934 x 128 features, 256 outputs) and on Cora (2,708 x
 * 1,433 features, 64 hidden, 7 classes). The transposes are made both ways TF.js can: with an
 * explicit tf.transpose first (what src/ops/linear.ts does on wasm) and with matMul's transpose
 * flags. Each time includes reading the result back (dataSync). The two kernels alternate, call
 * by call; median of 7 after 2 warm-ups each, of the wall time and of the process's CPU time (on
 * one thread the CPU time is the steadier measure on a shared machine: it leaves out the time the
 * process waited for a core).
 * Usage: npm run build && node scripts/gemm-compare.mjs THREADS
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
const simd = await import('../dist/kernels/simd/index.js');
const { registerWasmMatMul } = await import('../dist/kernels/wasm/matmul.js');
await tf.setBackend('wasm');
await tf.ready();
simd.setThreads(Number(process.argv[2] ?? 1));
await simd.threadsReady();

const NAMES = ['BatchMatMul', '_FusedMatMul'];
const stock = NAMES.map((n) => tf.getKernel(n, 'wasm'));
registerWasmMatMul();
const ours = NAMES.map((n) => tf.getKernel(n, 'wasm'));
/** Registers one set of kernels (the backend keeps its setup, so swapping is cheap). */
function use(configs) {
  for (const c of configs) {
    tf.unregisterKernel(c.kernelName, 'wasm');
    tf.registerKernel(c);
  }
}

const rnd = (shape) => tf.randomUniform(shape, -1, 1);
/** [label, M, K, N] of x W with its two gradients, as the step runs them. */
const SIZES = [['arxiv', 16934, 128, 256], ['cora layer 1', 2708, 1433, 64], ['cora layer 2', 2708, 64, 7]];
const cases = [];
for (const [label, M, K, N] of SIZES) {
  const x = rnd([M, K]), w = rnd([K, N]), dy = rnd([M, N]), bias = rnd([N]);
  cases.push(
    [`${label} x W [${M}x${K}]x[${K}x${N}]`, () => tf.matMul(x, w)],
    [`${label} x W + b (fused)`, () => tf.fused.matMul({ a: x, b: w, bias })],
    [`${label} x^T dy, tf.transpose`, () => tf.matMul(tf.transpose(x), dy)],
    [`${label} x^T dy, transposeA`, () => tf.matMul(x, dy, true, false)],
    [`${label} dy W^T, tf.transpose`, () => tf.matMul(dy, tf.transpose(w))],
    [`${label} dy W^T, transposeB`, () => tf.matMul(dy, w, false, true)],
  );
}

const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
/** [wall, CPU] milliseconds of one call. */
function time(f) {
  const t0 = performance.now(), c0 = cpuMs();
  const r = tf.tidy(f);
  r.dataSync();
  r.dispose();
  return [performance.now() - t0, cpuMs() - c0];
}
const median = (xs) => [...xs].sort((p, q) => p - q)[xs.length >> 1];

console.log(`threads: ${simd.threadCount()}`);
for (const [name, f] of cases) {
  const ts = [[[], []], [[], []]];
  for (let i = 0; i < 9; i++) {
    for (const k of [0, 1]) {
      use(k === 0 ? stock : ours);
      const [wall, cpu] = time(f);
      if (i >= 2) ts[k][0].push(wall), ts[k][1].push(cpu);
    }
  }
  const [[sw, sc], [ow, oc]] = ts.map((t) => t.map(median));
  console.log(`${name}: tfjs-wasm ${sw.toFixed(1)} ms (CPU ${sc.toFixed(1)}), ours ${ow.toFixed(1)} ms (CPU ${oc.toFixed(1)}); wall ${(ow / sw).toFixed(2)}x`);
}
