/**
 * TF.js's BatchMatMul and _FusedMatMul on wasm run this project's threaded GEMM
 * (kernels/wasm/matmul.ts, kernels/simd denseProduct): against the cpu backend's matMul for every
 * transpose combination, batches and broadcast batches, M, N and K off the kernel's 4 x 8 tile
 * and 256-long k chunk (and 0), a fused bias and each activation; bit-identical on 1, 2 and 3
 * threads; and with GATV2_NO_SIMD the stock kernel still answers.
 *
 * Tolerance: the two backends sum the K terms of an element in different orders, so an element
 * may differ by up to about (K + 2) float32 roundings of the sum of its terms' magnitudes
 * (Higham, "Accuracy and Stability of Numerical Algorithms", 2nd ed., section 3.1, the bound
 * gamma_n for a dot product); the activations add one rounding of the result.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { useBackend } from '../src/backends/index.js';
import * as simd from '../kernels/simd/index.js';
import { mulberry32 } from '../src/util/prng.js';

type Activation = 'linear' | 'relu' | 'relu6' | 'prelu' | 'leakyrelu' | 'sigmoid' | 'elu';

interface Case {
  aShape: number[];
  bShape: number[];
  transA: boolean;
  transB: boolean;
  /** Present: a _FusedMatMul with this bias shape (null: no bias) and activation. */
  fused?: { bias: number[] | null; activation: Activation; prelu?: number[] };
}

const rng = mulberry32;

const size = (shape: number[]) => shape.reduce((p, d) => p * d, 1);

/** A case's inputs as plain arrays (the same values on every backend). */
function inputs(c: Case, seed: number): Record<string, Float32Array> {
  const r = rng(seed);
  const fill = (shape: number[]) => Float32Array.from({ length: size(shape) }, () => r() * 2 - 1);
  const out: Record<string, Float32Array> = { a: fill(c.aShape), b: fill(c.bShape) };
  if (c.fused?.bias) out.bias = fill(c.fused.bias);
  if (c.fused?.prelu) out.prelu = fill(c.fused.prelu);
  return out;
}

/** The case on the current backend: the product, and (abs: true) the product of |a| and |b| plus
 * |bias|, the sum of the magnitudes of each element's terms. */
function product(c: Case, x: Record<string, Float32Array>, abs = false): tf.Tensor {
  return tf.tidy(() => {
    const t = (k: string, shape: number[]) => (abs ? tf.abs(tf.tensor(x[k], shape)) : tf.tensor(x[k], shape));
    const a = t('a', c.aShape), b = t('b', c.bShape);
    if (!c.fused) return tf.matMul(a, b, c.transA, c.transB);
    const bias = c.fused.bias ? t('bias', c.fused.bias) : undefined;
    if (abs) return bias ? tf.add(tf.matMul(a, b, c.transA, c.transB), bias) : tf.matMul(a, b, c.transA, c.transB);
    return tf.fused.matMul({
      a: a as tf.Tensor3D, b: b as tf.Tensor3D, transposeA: c.transA, transposeB: c.transB, bias,
      activation: c.fused.activation, leakyreluAlpha: 0.2,
      preluActivationWeights: c.fused.prelu ? t('prelu', c.fused.prelu) : undefined,
    });
  });
}

async function run(backend: 'cpu' | 'wasm', c: Case, x: Record<string, Float32Array>, abs = false): Promise<{ shape: number[]; values: Float32Array }> {
  await useBackend(backend);
  const y = product(c, x, abs);
  const out = { shape: y.shape, values: y.dataSync() as Float32Array };
  y.dispose();
  return out;
}

function caseName(c: Case): string {
  const f = c.fused ? ` fused(bias ${JSON.stringify(c.fused.bias)}, ${c.fused.activation})` : '';
  return `[${c.aShape}]${c.transA ? 'T' : ''} x [${c.bShape}]${c.transB ? 'T' : ''}${f}`;
}

/** A [M, K] (or [K, M] transposed) with batch dims in front. */
function shapeOf(batch: number[], rows: number, cols: number, trans: boolean): number[] {
  return [...batch, ...(trans ? [cols, rows] : [rows, cols])];
}

/** Transposes x products: every layout of a and b for each [M, K, N] and batch pair. */
function plainCases(): Case[] {
  const out: Case[] = [];
  const sizes = [[1, 1, 1], [3, 5, 2], [4, 8, 8], [7, 13, 9], [17, 33, 31], [5, 300, 6], [66, 600, 40], [2, 1, 17]];
  const batches: [number[], number[]][] = [[[], []], [[3], [3]], [[1], [4]], [[2], []], [[2, 3], [1, 1]]];
  let i = 0;
  for (const [M, K, N] of sizes) {
    for (const transA of [false, true]) {
      for (const transB of [false, true]) {
        const [ba, bb] = batches[i++ % batches.length];
        out.push({ aShape: shapeOf(ba, M, K, transA), bShape: shapeOf(bb, K, N, transB), transA, transB });
      }
    }
  }
  return out;
}

/** Empty dimensions: no rows, no columns, no batches, and an inner dimension of 0. */
function emptyCases(): Case[] {
  return [
    { aShape: [0, 5], bShape: [5, 3], transA: false, transB: false },
    { aShape: [4, 5], bShape: [5, 0], transA: false, transB: false },
    { aShape: [0, 3, 4], bShape: [0, 4, 2], transA: false, transB: false },
    { aShape: [6, 0], bShape: [0, 9], transA: false, transB: false },
    { aShape: [0, 6], bShape: [9, 0], transA: true, transB: true },
    { aShape: [1, 6, 0], bShape: [1, 0, 9], transA: false, transB: false, fused: { bias: [9], activation: 'relu' } },
  ];
}

/** _FusedMatMul: each activation, biases of N values and of one, PReLU weights of both kinds. */
function fusedCases(): Case[] {
  const acts: Activation[] = ['linear', 'relu', 'relu6', 'prelu', 'leakyrelu', 'sigmoid', 'elu'];
  const out: Case[] = [];
  acts.forEach((activation, i) => {
    const [M, K, N] = [[9, 20, 11], [33, 270, 16], [5, 7, 3]][i % 3];
    const transA = i % 2 === 1, transB = i % 3 === 1;
    const bias = [[N], [1], null][i % 3];
    const prelu = activation === 'prelu' ? (i % 2 ? [1] : [N]) : undefined;
    out.push({ aShape: shapeOf([2], M, K, transA), bShape: shapeOf([i % 2 ? 2 : 1], K, N, transB), transA, transB, fused: { bias, activation, prelu } });
  });
  return out;
}

after(() => simd.setThreads(1));

test('wasm matMul and fused matMul agree with the cpu backend, on the project GEMM', async (t) => {
  if (!simd.simdEnabled()) {
    t.skip(`SIMD unavailable: ${simd.simdDisabledReason()}`);
    return;
  }
  let seed = 1;
  for (const c of [...plainCases(), ...emptyCases(), ...fusedCases()]) {
    const x = inputs(c, seed++);
    const want = await run('cpu', c, x);
    const scale = await run('cpu', c, x, true);
    const before = simd.simdRunCount();
    const got = await run('wasm', c, x);
    const name = caseName(c);
    assert.deepEqual(got.shape, want.shape, name);
    if (want.values.length > 0) assert.ok(simd.simdRunCount() > before, `${name}: the stock kernel ran`);
    const K = c.transA ? c.aShape.at(-2)! : c.aShape.at(-1)!;
    for (let i = 0; i < want.values.length; i++) {
      const tol = (K + 2) * 2 ** -23 * scale.values[i] + 2 ** -22 * Math.max(1, Math.abs(want.values[i]));
      assert.ok(Math.abs(got.values[i] - want.values[i]) <= tol, `${name}: element ${i} is ${got.values[i]}, cpu ${want.values[i]}`);
    }
  }
});

test('the wasm GEMM gives the same bits on 1, 2 and 3 threads', async (t) => {
  if (!simd.simdEnabled()) {
    t.skip(`SIMD unavailable: ${simd.simdDisabledReason()}`);
    return;
  }
  const cases: Case[] = [
    { aShape: [130, 70], bShape: [70, 45], transA: false, transB: false },
    { aShape: [600, 37], bShape: [600, 50], transA: true, transB: false },
    { aShape: [3, 21, 300], bShape: [19, 300], transA: false, transB: true },
    { aShape: [2, 300, 9], bShape: [2, 22, 300], transA: true, transB: true, fused: { bias: [22], activation: 'elu' } },
  ];
  simd.setMinParallelWork(0);
  const before = simd.workerTaskCount();
  try {
    for (const [i, c] of cases.entries()) {
      const x = inputs(c, 100 + i);
      let one: Buffer | null = null;
      for (const threads of [1, 2, 3]) {
        simd.setThreads(threads);
        await simd.threadsReady();
        const got = await run('wasm', c, x);
        const bytes = Buffer.from(got.values.buffer, got.values.byteOffset, got.values.byteLength);
        if (one) assert.ok(bytes.equals(one), `${caseName(c)}: ${threads} threads differ from 1`);
        one ??= bytes;
      }
    }
    assert.ok(simd.workerTaskCount() > before, 'no task ran on a worker thread');
  } finally {
    simd.setMinParallelWork(simd.DEFAULT_MIN_PARALLEL_WORK);
    simd.setThreads(1);
  }
});

test('with GATV2_NO_SIMD the stock wasm kernels answer', () => {
  const backend = new URL('../src/backends/index.js', import.meta.url).href;
  const script = `import(${JSON.stringify(backend)}).then(async (m) => {
    await m.useBackend('wasm');
    const tf = await import('@tensorflow/tfjs-core');
    const a = tf.tensor2d([1, 2, 3, 4, 5, 6], [2, 3]), b = tf.tensor2d([1, 0, -1, 2, 0.5, 1], [3, 2]);
    const y = tf.matMul(a, b), z = tf.fused.matMul({ a, b, bias: tf.tensor1d([1, -20]), activation: 'relu' });
    console.log(JSON.stringify([Array.from(y.dataSync()), Array.from(z.dataSync())]));
  })`;
  const res = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
    cwd: new URL('../..', import.meta.url), env: { ...process.env, GATV2_NO_SIMD: '1' }, encoding: 'utf8',
  });
  assert.equal(res.status, 0, res.stderr);
  assert.deepEqual(JSON.parse(res.stdout.trim().split('\n').at(-1)!), [[0.5, 7, 2, 16], [1.5, 0, 3, 0]]);
});
