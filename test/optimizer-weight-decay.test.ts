/**
 * Weight decay in the optimizer (createOptimizer's weightDecay, torch.optim's weight_decay) gives
 * the same training as the L2 term (weightDecay / 2) * sum ||theta||^2 in the loss
 * (src/model/loss.ts l2Penalty), which is how training ran before the trainer moved the decay
 * into the optimizer. Every optimizer, Adam fused and not, on cpu and wasm, over several steps of
 * a loss whose gradient depends on the weights. Correctness only, no timing.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { useBackend } from '../src/backends/index.js';
import { Prng } from '../src/util/prng.js';
import { l2Penalty } from '../src/model/loss.js';
import { createOptimizer, DEFAULT_OPTIMIZER, OPTIMIZERS, type OptimizerConfig } from '../src/model/optimizers.js';

const SHAPES: Record<string, number[]> = { w: [9, 7], b: [7], att: [2, 5] };
// Large, so that even Adam (which normalises the gradient's scale) moves measurably differently.
const WEIGHT_DECAY = 0.5;
const STEPS = 8;

/** A smooth non-quadratic loss: sum over parameters of sum(sin(3 theta) * target). */
function loss(params: tf.Tensor[], targets: tf.Tensor[]): tf.Scalar {
  return params.map((p, k) => tf.sum(tf.mul(tf.sin(tf.mul(p, 3)), targets[k]!))).reduce((a, b) => tf.add(a, b)) as tf.Scalar;
}

function randomTensor(rng: Prng, shape: number[]): tf.Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  return tf.tensor(Float32Array.from({ length: n }, () => rng.range(-1, 1)), shape);
}

async function train(
  config: OptimizerConfig, decayIn: 'optimizer' | 'loss', fused: boolean, weightDecay = WEIGHT_DECAY,
): Promise<Record<string, Float32Array>> {
  const rng = new Prng(11);
  const names = Object.keys(SHAPES);
  const params = Object.fromEntries(names.map((n) => [n, tf.tidy(() => tf.variable(randomTensor(rng, SHAPES[n]!)))]));
  const targets = names.map((n) => randomTensor(rng, SHAPES[n]!));
  const optimizer = createOptimizer(config, SHAPES, { fused, weightDecay: decayIn === 'optimizer' ? weightDecay : 0 });
  for (let s = 0; s < STEPS; s++) {
    const grads = tf.tidy(() => {
      const f = (...xs: tf.Tensor[]) =>
        decayIn === 'loss' && weightDecay > 0 ? tf.add(loss(xs, targets), l2Penalty(xs, weightDecay)) : loss(xs, targets);
      const gs = tf.grads(f)(names.map((n) => params[n]!));
      return Object.fromEntries(names.map((n, k) => [n, gs[k]!]));
    });
    optimizer.apply(params, grads);
    tf.dispose(Object.values(grads));
  }
  const out: Record<string, Float32Array> = {};
  for (const n of names) out[n] = (await params[n]!.data()) as Float32Array;
  optimizer.dispose();
  tf.dispose([...Object.values(params), ...targets]);
  return out;
}

/** max |a - b| and max |b|. */
function maxDiff(a: Float32Array, b: Float32Array): { diff: number; scale: number } {
  let diff = 0, scale = 0;
  for (let k = 0; k < a.length; k++) {
    diff = Math.max(diff, Math.abs(a[k]! - b[k]!));
    scale = Math.max(scale, Math.abs(b[k]!));
  }
  return { diff, scale };
}

for (const backend of ['cpu', 'wasm'] as const) {
  for (const name of OPTIMIZERS) {
    for (const fused of name === 'adam' ? [true, false] : [false]) {
      const label = name === 'adam' ? (fused ? 'adam (fused)' : 'adam (ops)') : name;
      test(`[${backend}] ${label}: weight decay in the optimizer = L2 term in the loss`, async () => {
        await useBackend(backend);
        const start = tf.memory().numTensors;
        const config: OptimizerConfig = { ...DEFAULT_OPTIMIZER, name, lr: 0.02 };
        const inOptimizer = await train(config, 'optimizer', fused);
        const inLoss = await train(config, 'loss', fused);
        const noDecay = await train(config, 'optimizer', fused, 0);
        for (const n of Object.keys(SHAPES)) {
          const same = maxDiff(inOptimizer[n]!, inLoss[n]!);
          assert.ok(same.diff <= 1e-5 * same.scale, `${n}: max |decay in optimizer - L2 in loss| = ${same.diff} (scale ${same.scale})`);
          // Not vacuous: the decay moves the weights far more than the two ways differ.
          const effect = maxDiff(noDecay[n]!, inLoss[n]!);
          assert.ok(effect.diff > 1e-3 * effect.scale, `${n}: the decay changed the weights by only ${effect.diff}`);
        }
        assert.equal(tf.memory().numTensors, start, 'no tensor leaked');
      });
    }
  }
}

test('createOptimizer refuses a negative weight decay', () => {
  assert.throws(() => createOptimizer(DEFAULT_OPTIMIZER, SHAPES, { weightDecay: -1 }), /--weight-decay must be >= 0/);
});
