#!/usr/bin/env node
/**
 * Times the dense products of a training step (x W, x^T dy, dy W^T at the 1/10-ogbn-arxiv size:
 * 16,934 x 128 features, 256 outputs) in TF.js's wasm matMul (XNNPACK, one thread in Node) and in
 * this project's SIMD GEMM (kernels/simd, denseMatMul) on THREADS threads; median of 7 after 2
 * warm-ups. Decides whether our GEMM is worth registering as MatMul (not so far; see the README).
 * Usage: npm run build && node scripts/gemm-compare.mjs THREADS
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
const simd = await import('../dist/kernels/simd/index.js');
await tf.setBackend('wasm'); await tf.ready();
simd.setThreads(Number(process.argv[2])); await simd.threadsReady();
const M = 16934, K = 128, N = 256;
const rnd = (n) => Float32Array.from({ length: n }, () => Math.random() * 2 - 1);
const x = rnd(M * K), w = rnd(K * N), dy = rnd(M * N);
const med = (f) => { for (let i = 0; i < 2; i++) f(); const ts = []; for (let i = 0; i < 7; i++) { const t0 = performance.now(); f(); ts.push(performance.now() - t0); } ts.sort((p, q) => p - q); return ts[3]; };
const X = tf.tensor2d(x, [M, K]), W = tf.tensor2d(w, [K, N]), DY = tf.tensor2d(dy, [M, N]);
const tfx = (f) => () => { const r = tf.tidy(f); r.dataSync(); r.dispose(); };
const cases = [
  ['x W', tfx(() => tf.matMul(X, W)), () => { const o = new Float32Array(M * N); simd.denseMatMul(x, M, K, false, w, N, o); }],
  ['x^T dy', tfx(() => tf.matMul(tf.transpose(X), DY)), () => { const o = new Float32Array(K * N); simd.denseMatMul(x, K, M, true, dy, N, o); }],
  ['dy W^T', tfx(() => tf.matMul(DY, tf.transpose(W))), () => { const wt = new Float32Array(N * K); for (let i = 0; i < K; i++) for (let j = 0; j < N; j++) wt[j * K + i] = w[i * N + j]; const o = new Float32Array(M * K); simd.denseMatMul(dy, M, N, false, wt, K, o); }],
];
for (const [name, t, o] of cases) console.log(`${name}: tfjs-wasm ${med(t).toFixed(1)} ms, ours (${process.argv[2]} threads) ${med(o).toFixed(1)} ms`);
