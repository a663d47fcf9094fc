/**
 * The fused Adam update (kernels/names.ts ADAM_UPDATE) against the optimizer's path of separate
 * TF.js ops, on cpu, wasm and webgpu: several steps on parameters of different shapes (one of a
 * single element, sizes that are not multiples of the WebGPU workgroup of 64, a rank-3 one),
 * gradients that include exact zeros, tiny and large values, with and without weight decay (which
 * the kernel folds into the gradient). The two paths must agree to 1e-6
 * relative, the fused path must really run the kernel (and the op path must not), both must
 * follow a float64 torch.optim.Adam, and neither may leak a tensor. Correctness only, no timing.
 *
 * webgpu needs an adapter (lavapipe will do, see .ci/install-vulkan.sh). Without one its test
 * skips, except under CI=true, where that is a failure.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { selectBackend, useBackend } from '../src/backends/index.js';
import { Prng } from '../src/util/prng.js';
import { ADAM_UPDATE } from '../kernels/names.js';
import * as loops from '../kernels/loops.js';
import { takeWebGPUErrors } from '../kernels/webgpu/device.js';
import { createOptimizer, DEFAULT_OPTIMIZER, type Optimizer, type OptimizerConfig } from '../src/model/optimizers.js';

const unavailable = await selectBackend('webgpu').then(() => null, (e: Error) => e.message);
if (unavailable !== null && process.env['CI'] === 'true') {
  throw new Error(`CI needs a WebGPU adapter (run .ci/install-vulkan.sh): ${unavailable}`);
}
const webgpuSkip = unavailable === null ? false : `no WebGPU adapter: ${unavailable}`;

const SHAPES: Record<string, number[]> = {
  one: [1],
  w: [37, 13], // 481: not a multiple of 64
  att: [8, 8], // exactly one workgroup
  cube: [3, 5, 7], // rank 3, 105 elements
  long: [1000],
};
const STEPS = 6;
const TOL = 1e-6;
const CONFIG: OptimizerConfig = { ...DEFAULT_OPTIMIZER, lr: 0.01 };

function sizeOf(shape: number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Random float32 values; every 7th exactly 0, some tiny and some large (gradients). */
function randomValues(rng: Prng, n: number, wild: boolean): Float32Array {
  const out = new Float32Array(n);
  for (let k = 0; k < n; k++) {
    let x = rng.range(-1, 1);
    if (wild && k % 7 === 3) x = 0;
    else if (wild && k % 11 === 5) x *= 1e-6;
    else if (wild && k % 13 === 6) x *= 1e3;
    out[k] = x;
  }
  return out;
}

/** max |a - b| / max |b| (a NaN anywhere gives NaN, which fails every comparison). */
function relError(a: Float32Array | Float64Array, b: Float32Array | Float64Array): number {
  assert.equal(a.length, b.length);
  let diff = 0, scale = 0;
  for (let k = 0; k < a.length; k++) {
    const d = Math.abs(a[k]! - b[k]!);
    diff = Number.isNaN(d) || d > diff ? d : diff;
    scale = Math.max(scale, Math.abs(b[k]!));
  }
  return diff / Math.max(scale, 1e-30);
}

/** torch.optim.Adam(weight_decay=wd) in float64, one parameter. */
class Adam64 {
  m: Float64Array;
  v: Float64Array;
  p: Float64Array;
  t = 0;

  constructor(p: Float32Array) {
    this.p = Float64Array.from(p);
    this.m = new Float64Array(p.length);
    this.v = new Float64Array(p.length);
  }

  step(grad: Float32Array, c: OptimizerConfig, wd: number): void {
    this.t++;
    const bc1 = 1 - c.beta1 ** this.t, bc2 = 1 - c.beta2 ** this.t;
    for (let k = 0; k < grad.length; k++) {
      const g = grad[k]! + wd * this.p[k]!;
      this.m[k] = c.beta1 * this.m[k]! + (1 - c.beta1) * g;
      this.v[k] = c.beta2 * this.v[k]! + (1 - c.beta2) * g * g;
      this.p[k] = this.p[k]! - (c.lr / bc1) * this.m[k]! / (Math.sqrt(this.v[k]!) / Math.sqrt(bc2) + c.epsilon);
    }
  }
}

/** The kernels f runs, one name per call (tf.profile). */
async function kernelsRun(f: () => void): Promise<string[]> {
  const info = await tf.profile(f);
  return info.kernels.map((k) => k.name);
}

async function fusedMatchesOpPath(backend: 'cpu' | 'wasm' | 'webgpu', weightDecay: number): Promise<void> {
  if (backend === 'webgpu') await selectBackend('webgpu');
  else await useBackend(backend);
  assert.equal(tf.getBackend(), backend);
  assert.ok(tf.getKernel(ADAM_UPDATE, backend), `${ADAM_UPDATE} is registered on ${backend}`);
  const start = tf.memory().numTensors;

  const rng = new Prng(2024);
  const init: Record<string, Float32Array> = {};
  for (const [name, shape] of Object.entries(SHAPES)) init[name] = randomValues(rng, sizeOf(shape), false);
  const variables = (): Record<string, tf.Variable> =>
    // tidy frees the tensors the variables are made from (variables are not tracked).
    Object.fromEntries(Object.entries(SHAPES).map(([name, shape]) => [name, tf.tidy(() => tf.variable(tf.tensor(init[name]!, shape)))]));
  const fusedParams = variables(), opParams = variables();
  const fused: Optimizer = createOptimizer(CONFIG, SHAPES, { weightDecay });
  const ops: Optimizer = createOptimizer(CONFIG, SHAPES, { fused: false, weightDecay });
  const ref: Record<string, Adam64> = Object.fromEntries(Object.entries(init).map(([name, p]) => [name, new Adam64(p)]));
  const afterSetup = tf.memory().numTensors;

  try {
    for (let s = 1; s <= STEPS; s++) {
      const gradValues: Record<string, Float32Array> = {};
      for (const [name, shape] of Object.entries(SHAPES)) gradValues[name] = randomValues(rng, sizeOf(shape), true);
      const grads = Object.fromEntries(Object.entries(SHAPES).map(([name, shape]) => [name, tf.tensor(gradValues[name]!, shape)]));

      const fusedKernels = await kernelsRun(() => fused.apply(fusedParams, grads));
      const opKernels = await kernelsRun(() => ops.apply(opParams, grads));
      const nParams = Object.keys(SHAPES).length;
      assert.equal(fusedKernels.filter((k) => k === ADAM_UPDATE).length, nParams, 'the fused path runs the kernel once per parameter');
      assert.ok(!fusedKernels.includes('Sqrt'), `the fused path runs no TF.js ops: ${fusedKernels.join(', ')}`);
      assert.ok(!opKernels.includes(ADAM_UPDATE), 'the op path does not run the kernel');
      for (const g of Object.values(grads)) g.dispose();
      for (const [name, g] of Object.entries(gradValues)) ref[name]!.step(g, CONFIG, weightDecay);
      assert.equal(tf.memory().numTensors, afterSetup, `step ${s}: no tensor leaked`);

      const fs = fused.state(), os = ops.state();
      assert.equal(fs.step, s);
      assert.equal(os.step, s);
      for (const [name, shape] of Object.entries(SHAPES)) {
        const pairs: Array<[string, tf.Tensor, tf.Tensor, Float64Array]> = [
          ['param', fusedParams[name]!, opParams[name]!, ref[name]!.p],
          ['m', fs.slots[`m/${name}`]!, os.slots[`m/${name}`]!, ref[name]!.m],
          ['v', fs.slots[`v/${name}`]!, os.slots[`v/${name}`]!, ref[name]!.v],
        ];
        for (const [what, a, b, r64] of pairs) {
          assert.deepEqual(a.shape, shape, `${name} ${what} keeps its shape`);
          const av = (await a.data()) as Float32Array, bv = (await b.data()) as Float32Array;
          const e = relError(av, bv);
          assert.ok(e <= TOL, `${backend} step ${s} ${name} ${what}: fused vs op path relative error ${e} > ${TOL}`);
          // Both against float64 Adam (float32 rounding over a few steps).
          const e64 = relError(av, r64);
          assert.ok(e64 <= 1e-5, `${backend} step ${s} ${name} ${what}: fused vs float64 relative error ${e64}`);
        }
      }
    }
  } finally {
    fused.dispose();
    ops.dispose();
    for (const p of [...Object.values(fusedParams), ...Object.values(opParams)]) p.dispose();
  }
  assert.equal(tf.memory().numTensors, start, 'every tensor freed');
  if (backend === 'webgpu') assert.deepEqual(takeWebGPUErrors(), []);
}

// 0.3: large enough that the decay term is a sizeable part of the gradient (|p| <= 1, |g| ~ 1).
for (const weightDecay of [0, 0.3]) {
  for (const backend of ['cpu', 'wasm'] as const) {
    test(`[${backend}] fused Adam update (weight decay ${weightDecay}) matches the op path over several steps, without leaks`, async () => {
      await fusedMatchesOpPath(backend, weightDecay);
    });
  }

  test(`[webgpu] fused Adam update (weight decay ${weightDecay}) matches the op path over several steps, without leaks`, { skip: webgpuSkip }, async () => {
    await fusedMatchesOpPath('webgpu', weightDecay);
  });
}

test('the cpu/wasm loop rounds each output once from its float64 value', () => {
  // kernels/loops.ts adamUpdate's documented rounding: float32 scalars, float64 arithmetic, one
  // rounding per output (p' from the unrounded m' and v'), i.e. within half a float32 ulp of the
  // float64 value (up to float64's own, far smaller, error).
  const rng = new Prng(7);
  const n = 500;
  const p = randomValues(rng, n, false), m = randomValues(rng, n, true), g = randomValues(rng, n, true);
  const v = randomValues(rng, n, true).map((x) => x * x);
  const pOut = new Float32Array(n), mOut = new Float32Array(n), vOut = new Float32Array(n);
  const c = { ...CONFIG, step: 3 }, wd = 0.3;
  const stepSize = c.lr / (1 - c.beta1 ** c.step), sqrtBc2 = Math.sqrt(1 - c.beta2 ** c.step);
  loops.adamUpdate(p, m, v, g, c.beta1, c.beta2, c.epsilon, wd, stepSize, sqrtBc2, pOut, mOut, vOut);
  const f = Math.fround;
  for (let k = 0; k < n; k++) {
    const gk = g[k]! + f(wd) * p[k]!;
    const mk = m[k]! * f(c.beta1) + gk * f(1 - c.beta1);
    const vk = v[k]! * f(c.beta2) + gk * gk * f(1 - c.beta2);
    const pk = p[k]! - (mk / (Math.sqrt(vk) / f(sqrtBc2) + f(c.epsilon))) * f(stepSize);
    for (const [what, got, want] of [['m', mOut[k]!, mk], ['v', vOut[k]!, vk], ['p', pOut[k]!, pk]] as const) {
      assert.ok(Math.abs(got - want) <= 2 ** -24 * Math.abs(want) * (1 + 1e-9), `${what}[${k}]: ${got} is not ${want} rounded once`);
    }
  }
});
