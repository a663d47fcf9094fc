/**
 * Optimizers with PyTorch's update rules (torch.optim Adam, SGD with and without momentum,
 * RMSprop), weight decay included as torch.optim's weight_decay. Written here rather than taken from tf.train so that their whole state (slots and step
 * count) is plain named tensors that a checkpoint can hold and restore exactly.
 */
import * as tf from '@tensorflow/tfjs-core';
import { ADAM_UPDATE, type AdamAttrs } from '../../kernels/names.js';
import { hasGatKernel, runGatKernel } from '../../kernels/run-kernel.js';
import { InputError } from '../util/errors.js';

export type OptimizerName = 'adam' | 'sgd' | 'momentum' | 'rmsprop';
export const OPTIMIZERS: OptimizerName[] = ['adam', 'sgd', 'momentum', 'rmsprop'];

export interface OptimizerConfig {
  name: OptimizerName;
  lr: number;
  /** momentum: velocity decay. */
  momentum: number;
  /** adam: first and second moment decays. */
  beta1: number;
  beta2: number;
  /** rmsprop: decay of the squared-gradient average (PyTorch's alpha). */
  rmsDecay: number;
  /** adam, rmsprop: added to the denominator. */
  epsilon: number;
}

export const DEFAULT_OPTIMIZER: OptimizerConfig = {
  name: 'adam', lr: 0.005, momentum: 0.9, beta1: 0.9, beta2: 0.999, rmsDecay: 0.99, epsilon: 1e-8,
};

/** What a checkpoint stores: the step count and every slot, named "<slot>/<param>". */
export interface OptimizerState {
  step: number;
  slots: Record<string, tf.Tensor>;
}

export interface Optimizer {
  readonly config: OptimizerConfig;
  /**
   * Updates every parameter in place from its gradient, with learning rate `lr` (default
   * config.lr; a schedule passes each step's, as torch's schedulers set the group's lr).
   */
  apply(params: Record<string, tf.Variable>, grads: Record<string, tf.Tensor>, lr?: number): void;
  state(): OptimizerState;
  /** Restores a state saved by state() (slot tensors are copied). */
  load(state: OptimizerState): void;
  dispose(): void;
}

const SLOTS: Record<OptimizerName, string[]> = { adam: ['m', 'v'], sgd: [], momentum: ['velocity'], rmsprop: ['square_avg'] };

export function checkOptimizerConfig(c: OptimizerConfig): void {
  if (!OPTIMIZERS.includes(c.name)) throw new InputError(`--optimizer must be one of ${OPTIMIZERS.join(', ')}, got "${c.name}"`);
  if (!(c.lr > 0)) throw new InputError(`--lr must be positive, got ${c.lr}`);
  for (const [flag, v] of [['--momentum', c.momentum], ['--beta1', c.beta1], ['--beta2', c.beta2], ['--rms-decay', c.rmsDecay]] as const) {
    if (!(v >= 0 && v < 1)) throw new InputError(`${flag} must be in [0, 1), got ${v}`);
  }
  if (!(c.epsilon > 0)) throw new InputError(`--epsilon must be positive, got ${c.epsilon}`);
}

export interface OptimizerOptions {
  /** adam: run the fused update kernel (names.ts ADAM_UPDATE) where the current backend has one
   * (default true); false always takes the path of separate TF.js ops (same maths). */
  fused?: boolean;
  /** torch.optim's weight_decay: every rule takes grad + weightDecay * param, the gradient of the
   * L2 term (weightDecay / 2) * sum ||param||^2 (src/model/loss.ts), in its place. Adding it
   * here rather than to the loss spares the step that term's forward and backward (about 5 ops
   * per parameter; none at all with the fused Adam kernel). Default 0. */
  weightDecay?: number;
}

export function createOptimizer(config: OptimizerConfig, shapes: Record<string, number[]>, options: OptimizerOptions = {}): Optimizer {
  checkOptimizerConfig(config);
  const allowFused = options.fused ?? true;
  const weightDecay = options.weightDecay ?? 0;
  if (!(weightDecay >= 0)) throw new InputError(`--weight-decay must be >= 0, got ${weightDecay}`);
  const slots: Record<string, tf.Variable> = {};
  for (const slot of SLOTS[config.name]) {
    // tidy frees the zeros the variable was made from (variables themselves are not tracked).
    for (const [name, shape] of Object.entries(shapes)) slots[`${slot}/${name}`] = tf.tidy(() => tf.variable(tf.zeros(shape), false));
  }
  let step = 0;
  const c = config;

  function update(name: string, p: tf.Variable, grad: tf.Tensor, fused: boolean, lr: number): void {
    // The fused kernel adds the decay itself.
    const g = weightDecay > 0 && !fused ? tf.add(grad, tf.mul(p, weightDecay)) : grad;
    switch (c.name) {
      case 'sgd':
        p.assign(tf.sub(p, tf.mul(g, lr)));
        return;
      case 'momentum': {
        const buf = slots[`velocity/${name}`];
        buf.assign(tf.add(tf.mul(buf, c.momentum), g));
        p.assign(tf.sub(p, tf.mul(buf, lr)));
        return;
      }
      case 'rmsprop': {
        const sq = slots[`square_avg/${name}`];
        sq.assign(tf.add(tf.mul(sq, c.rmsDecay), tf.mul(tf.square(g), 1 - c.rmsDecay)));
        p.assign(tf.sub(p, tf.div(tf.mul(g, lr), tf.add(tf.sqrt(sq), c.epsilon))));
        return;
      }
      case 'adam': {
        const m = slots[`m/${name}`];
        const v = slots[`v/${name}`];
        // torch.optim.Adam: p -= lr / bc1 * m / (sqrt(v) / sqrt(bc2) + eps), bias corrections in float64.
        const bc1 = 1 - c.beta1 ** step;
        const bc2 = 1 - c.beta2 ** step;
        if (fused) {
          // One kernel instead of ~13 ops; it computes p' from the old m and v, so the order of
          // the three assigns does not matter. assign takes over each output's data (no copy).
          const attrs: AdamAttrs = {
            beta1: c.beta1, beta2: c.beta2, epsilon: c.epsilon, weightDecay, stepSize: lr / bc1, sqrtBc2: Math.sqrt(bc2),
          };
          const [pNew, mNew, vNew] = runGatKernel(ADAM_UPDATE, { param: p, m, v, grad: g }, attrs);
          m.assign(mNew);
          v.assign(vNew);
          p.assign(pNew);
          return;
        }
        m.assign(tf.add(tf.mul(m, c.beta1), tf.mul(g, 1 - c.beta1)));
        v.assign(tf.add(tf.mul(v, c.beta2), tf.mul(tf.square(g), 1 - c.beta2)));
        const denom = tf.add(tf.div(tf.sqrt(v), Math.sqrt(bc2)), c.epsilon);
        p.assign(tf.sub(p, tf.mul(tf.div(m, denom), lr / bc1)));
        return;
      }
    }
  }

  return {
    config,
    apply(params, grads, lr = c.lr) {
      if (!(lr >= 0 && Number.isFinite(lr))) throw new Error(`optimizer: learning rate must be >= 0, got ${lr}`);
      step++;
      const fused = c.name === 'adam' && allowFused && hasGatKernel(ADAM_UPDATE);
      tf.tidy(() => {
        for (const [name, p] of Object.entries(params)) {
          const g = grads[name];
          if (!g) throw new Error(`optimizer: no gradient for ${name}`);
          update(name, p, g, fused, lr);
        }
      });
    },
    state: () => ({ step, slots: { ...slots } }),
    load(state) {
      const want = Object.keys(slots).sort().join(',');
      const got = Object.keys(state.slots).sort().join(',');
      if (want !== got) throw new InputError(`checkpoint optimizer state does not match ${c.name}: has [${got}], needs [${want}]`);
      for (const [k, t] of Object.entries(state.slots)) slots[k].assign(t);
      step = state.step;
    },
    dispose() {
      for (const t of Object.values(slots)) t.dispose();
    },
  };
}
