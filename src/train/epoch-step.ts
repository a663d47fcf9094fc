/**
 * The training step of one epoch, full batch or in mini-batches, with the checks that look at
 * this epoch's weights before its update: the gradient check (--check-grads) and the diagnostics.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { NetworkConfig, NetworkInputs } from '../model/network.js';
import { compareModes, lossAndGrads, toHost, type Objective } from '../model/objective.js';
import type { Optimizer } from '../model/optimizers.js';
import type { GradCheckRecord } from '../run/metrics.js';
import { clipGradNorm } from './clip-grad.js';
import type { TrainConfig } from './config.js';
import { compareModesOnFirstBatch, trainEpochMiniBatch, type EpochResult, type MiniBatchPlan } from './minibatch.js';

export interface StepContext {
  config: TrainConfig;
  net: NetworkConfig;
  params: Record<string, tf.Variable>;
  optimizer: Optimizer;
  /** The whole graph: the full-batch step's input (absent for a store trained from its files). */
  inputs?: NetworkInputs;
  /** What the full-batch step differentiates (the optimizer adds the weight decay). */
  objective: Objective;
  miniBatch?: MiniBatchPlan;
  /** Diagnoses this epoch's weights and masks when it is due; returns the time it took (0 if not). */
  diagnoseIfDue(epoch: number, seed: number): Promise<number>;
  onBatch?(done: number, total: number): void;
}

/** One epoch's step: what metrics.jsonl records of it. */
export interface StepResult {
  /** Not finite: the step was not applied (the run diverged). */
  trainLoss: number;
  /** Time of the gradient check and diagnostics, which epochMs leaves out. */
  checkMs: number;
  gradCheck?: GradCheckRecord;
  /** With --clip-norm: the gradients' norm before clipping. */
  gradNorm?: number;
  miniBatch?: EpochResult;
}

/** The epoch's dropout masks come from seed; lr is this epoch's (--lr-schedule). */
export interface EpochPosition {
  epoch: number;
  seed: number;
  lr: number;
}

function gradCheckDue(config: TrainConfig, epoch: number): boolean {
  return config.checkGrads > 0 && epoch % config.checkGrads === 0;
}

export function trainStep(ctx: StepContext, at: EpochPosition): Promise<StepResult> {
  return ctx.miniBatch ? miniBatchStep(ctx, ctx.miniBatch, at) : fullBatchStep(ctx, ctx.inputs!, at);
}

/**
 * Checks and diagnostics first, on this epoch's weights: the gradient check on its first batch
 * (same blocks and masks as its step), the diagnostics on the full graph.
 */
async function miniBatchStep(ctx: StepContext, plan: MiniBatchPlan, { epoch, seed, lr }: EpochPosition): Promise<StepResult> {
  const { config } = ctx;
  const out: StepResult = { trainLoss: NaN, checkMs: 0 };
  if (gradCheckDue(config, epoch)) {
    const t = performance.now();
    const cmp = await compareModesOnFirstBatch(plan, ctx.net, ctx.params, config.seed, epoch);
    out.checkMs = performance.now() - t;
    out.gradCheck = { relDiff: cmp.relDiff, worst: cmp.worst, ms: out.checkMs };
  }
  out.checkMs += await ctx.diagnoseIfDue(epoch, seed);
  out.miniBatch = await trainEpochMiniBatch(plan, ctx.net, ctx.params, ctx.optimizer, {
    seed: config.seed, epoch, mode: config.grad, lr, ...(config.clipNorm ? { clipNorm: config.clipNorm } : {}),
    onBatch: (done, total) => ctx.onBatch?.(done, total),
  });
  out.trainLoss = out.miniBatch.loss;
  return out;
}

/** The gradient check reuses the step's own gradients as its analytic (or autograd) side. */
async function fullBatchStep(ctx: StepContext, inputs: NetworkInputs, { epoch, seed, lr }: EpochPosition): Promise<StepResult> {
  const { config, net, params, objective } = ctx;
  const fwd = { training: true, seed };
  const step = tf.tidy(() => lossAndGrads(net, params, inputs, objective, { ...fwd, mode: config.grad }));
  const out: StepResult = { trainLoss: NaN, checkMs: 0 };
  if (gradCheckDue(config, epoch)) {
    const t = performance.now();
    const already = { mode: config.grad, grads: await toHost(step.grads), objective: (await step.objective.data())[0] };
    const cmp = await compareModes(net, params, inputs, objective, fwd, already);
    out.checkMs = performance.now() - t;
    out.gradCheck = { relDiff: cmp.relDiff, worst: cmp.worst, ms: out.checkMs };
  }
  out.checkMs += await ctx.diagnoseIfDue(epoch, seed);
  const loss = (await step.loss.data())[0];
  out.trainLoss = loss;
  if (!Number.isFinite(loss)) {
    tf.dispose([step.loss, step.objective, ...Object.values(step.grads)]);
    return out;
  }
  // --clip-norm, then the step with this epoch's lr (--lr-schedule): both functions of the
  // config and the epoch only, so a resumed run applies exactly what it would have.
  const clip = config.clipNorm ? await clipGradNorm(step.grads, config.clipNorm) : null;
  if (clip) out.gradNorm = clip.norm;
  const grads = clip ? clip.grads : step.grads;
  ctx.optimizer.apply(params, grads, lr);
  tf.dispose([step.loss, step.objective, ...Object.values(grads)]);
  return out;
}
