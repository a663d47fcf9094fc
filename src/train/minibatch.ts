/**
 * Neighbour-sampled mini-batch training (`gatv2 train --batch-size B --fanout 15,10`), as PyG's
 * NeighborLoader: each epoch shuffles the training nodes (seeded), cuts them into batches of B,
 * samples one block per layer for each batch (src/sample/sampler.ts), and takes one optimizer
 * step on the batch's cross-entropy, run by the same network forward and analytic backward as
 * full batch (networkForward on the blocks).
 *
 * Seeds: the order of epoch e from deriveSeed(seed, SAMPLE_STREAM, e), batch b's sampling from
 * deriveSeed(seed, SAMPLE_STREAM, e, b) and its dropout from deriveSeed(seed, step, e, b): every
 * batch of a run is fixed by the seed alone, so a resumed run continues exactly.
 */
import type { FeatureSource } from '../store/features.js';
import { clipGradNorm } from './clip-grad.js';
import * as tf from '@tensorflow/tfjs-core';
import { deriveSeed, mulberry32 } from '../util/prng.js';
import type { DenseFeatures, SparseFeatures } from '../data/dataset.js';
import { InputError } from '../util/errors.js';
import { createNetworkInputs, SEED_STREAM, type NetworkConfig, type NetworkInputs } from '../model/network.js';
import { graphTensors } from '../ops/graph-tensors.js';
import type { GradMode } from '../ops/graph-tensors.js';
import type { InAdjacency } from '../sample/adjacency.js';
import { checkFanouts, NeighborSampler, type SampledBatch } from '../sample/sampler.js';
import { sampleInThread, type BatchSource } from '../sample/prefetch.js';
import { compareModes, lossAndGrads, type ModeComparison } from '../model/objective.js';
import type { Optimizer } from '../model/optimizers.js';

/** deriveSeed stream of the sampler and the epoch order (network.ts's SEED_STREAM uses 1..3). */
export const SAMPLE_STREAM = 4;

/** "15,10" -> [15, 10]; "-1" -> [-1] (expanded to every layer by resolveFanouts). */
export function parseFanout(text: string): number[] {
  const parts = String(text).split(',').map((s) => s.trim());
  const out = parts.map(Number);
  if (parts.some((p) => p === '') || out.some((f) => !(f === -1 || (Number.isInteger(f) && f >= 1)))) {
    throw new InputError(`--fanout: "${text}" is not a comma-separated list of positive integers or -1 (all neighbours), e.g. 15,10`);
  }
  return out;
}

/** One value for every layer repeats it; otherwise one per layer, hop 1 (the last layer) first. */
export function resolveFanouts(fanout: number[], layers: number): number[] {
  const f = fanout.length === 1 ? Array.from({ length: layers }, () => fanout[0]!) : fanout;
  const problem = checkFanouts(f, layers);
  if (problem) throw new InputError(problem);
  return f;
}

/** The network's inputs for one sampled batch: the first block's source rows and every block. */
export function blockInputs(sampled: SampledBatch, features: FeatureSource): NetworkInputs {
  return inputsOf(sampled, features.rows(sampled.blocks[0]!.srcNodes));
}

/** The same, from the feature rows already read. */
export function inputsOf(sampled: SampledBatch, rows: SparseFeatures | DenseFeatures): NetworkInputs {
  const first = sampled.blocks[0]!;
  const base = createNetworkInputs(rows, first.layout);
  const graphs = sampled.blocks.map((b, l) => (l === 0 ? base.graph : graphTensors(b.layout)));
  return {
    x: base.x,
    graph: base.graph,
    blocks: sampled.blocks.map((b, l) => ({ graph: graphs[l]!, numDst: b.numDst })),
    dispose() {
      base.dispose();
      for (const g of graphs.slice(1)) g.dispose();
    },
  };
}

/** [B, classes] cross-entropy weights of a batch: 1/B at each node's label (splitTargets' rows). */
export function batchTargets(labels: Int32Array, batch: Int32Array, numClasses: number): tf.Tensor2D {
  const w = new Float32Array(batch.length * numClasses);
  batch.forEach((i, k) => {
    if (labels[i]! < 0) throw new Error(`batch node ${i} has no label`);
    w[k * numClasses + labels[i]!] = 1 / batch.length;
  });
  return tf.tensor2d(w, [batch.length, numClasses]);
}

/** The batches of one epoch: the nodes shuffled by the epoch's seed, cut into pieces of batchSize. */
export function epochBatches(nodes: Int32Array, batchSize: number, seed: number, epoch: number): Int32Array[] {
  const order = nodes.slice();
  const rand = mulberry32(deriveSeed(seed, SAMPLE_STREAM, epoch));
  for (let k = order.length - 1; k > 0; k--) {
    const t = Math.floor(rand() * (k + 1));
    const x = order[k]!;
    order[k] = order[t]!;
    order[t] = x;
  }
  const out: Int32Array[] = [];
  for (let s = 0; s < order.length; s += batchSize) out.push(order.subarray(s, s + batchSize));
  return out;
}

export interface MiniBatchPlan {
  batchSize: number;
  /** Per hop, hop 1 first (resolved to one per layer). */
  fanouts: number[];
  adjacency: InAdjacency;
  features: FeatureSource;
  labels: Int32Array;
  numClasses: number;
  trainNodes: Int32Array;
  addSelfLoops: boolean;
  /**
   * Where batches are sampled (a worker thread on a store, kept for the whole session and closed
   * by its owner); default: in this thread.
   */
  source?: BatchSource;
}

export interface EpochResult {
  /** Mean cross-entropy over the epoch's batches, weighted by batch size. */
  loss: number;
  batches: number;
  /**
   * Sampler work (sampling and reading feature rows, in whichever thread ran it), the time the
   * steps waited for it (less than samplingMs when a worker samples ahead), and the steps
   * (uploading the batch, forward, backward, update).
   */
  samplingMs: number;
  waitMs: number;
  stepMs: number;
  /** Edges of every layer's block over the epoch's steps, self loops included (stepMs / this: time per sampled edge). */
  sampledEdges: number;
}

/** The sampled batch b of epoch e (what the step trains on): deterministic in (seed, e, b). */
export function sampleBatch(sampler: NeighborSampler, batch: Int32Array, seed: number, epoch: number, b: number): SampledBatch {
  return sampler.sample(batch, deriveSeed(seed, SAMPLE_STREAM, epoch, b));
}

/** Batches sampled ahead of the step that needs them. */
// One: the worker samples and reads batch b + 1 while step b runs, which hides it whenever sampling
// is faster than a step (ogbn-products' size: about 0.3 s against 2 s). Each batch ahead holds its
// feature rows (68 MB at batch 1024, fanout 15,10, 100 features), so no more are asked for.
const PREFETCH_DEPTH = 1;

/**
 * One epoch of mini-batch steps. Batches are requested PREFETCH_DEPTH ahead from the plan's batch
 * source (a worker thread on a store: sampling then overlaps the steps); onBatch reports progress
 * after each step.
 */
export async function trainEpochMiniBatch(
  plan: MiniBatchPlan, net: NetworkConfig, params: Record<string, tf.Variable>, optimizer: Optimizer,
  o: { seed: number; epoch: number; mode: GradMode; lr: number; clipNorm?: number; onBatch?: (done: number, total: number) => void },
): Promise<EpochResult> {
  const setup = { fanouts: plan.fanouts, addSelfLoops: plan.addSelfLoops };
  const source = plan.source ?? sampleInThread(plan.adjacency, plan.features, setup);
  const batches = epochBatches(plan.trainNodes, plan.batchSize, o.seed, o.epoch);
  const ask = (b: number) => source.request(b, batches[b]!.slice(), deriveSeed(o.seed, SAMPLE_STREAM, o.epoch, b));
  let samplingMs = 0, waitMs = 0, stepMs = 0, lossSum = 0, sampledEdges = 0;
  try {
    for (let b = 0; b < Math.min(PREFETCH_DEPTH, batches.length); b++) ask(b);
    for (let b = 0; b < batches.length; b++) {
      const t0 = performance.now();
      const prepared = await source.get(b);
      waitMs += performance.now() - t0;
      samplingMs += prepared.ms;
      if (b + PREFETCH_DEPTH < batches.length) ask(b + PREFETCH_DEPTH);
      const t = performance.now();
      const inputs = inputsOf(prepared.sampled, prepared.rows);
      const targets = batchTargets(plan.labels, prepared.sampled.batch, plan.numClasses);
      try {
        const seed = deriveSeed(o.seed, SEED_STREAM.step, o.epoch, b);
        const step = tf.tidy(() => lossAndGrads(net, params, inputs, { targets, weightDecay: 0 }, { mode: o.mode, training: true, seed }));
        const loss = (await step.loss.data())[0]!;
        if (!Number.isFinite(loss)) {
          // The trainer stops the run on a loss that is not a number; nothing of this epoch is saved.
          tf.dispose([step.loss, step.objective, ...Object.values(step.grads)]);
          return { loss, batches: b, samplingMs, waitMs, stepMs, sampledEdges };
        }
        // --clip-norm per batch, as torch's clip_grad_norm_ before each optimizer step.
        const clip = o.clipNorm ? await clipGradNorm(step.grads, o.clipNorm) : null;
        const grads = clip ? clip.grads : step.grads;
        optimizer.apply(params, grads, o.lr);
        lossSum += loss * prepared.sampled.batch.length;
        tf.dispose([step.loss, step.objective, ...Object.values(grads)]);
      } finally {
        inputs.dispose();
        targets.dispose();
      }
      stepMs += performance.now() - t;
      for (const block of prepared.sampled.blocks) sampledEdges += block.layout.numEdges;
      o.onBatch?.(b + 1, batches.length);
    }
  } finally {
    if (source !== plan.source) await source.close();
  }
  return { loss: lossSum / plan.trainNodes.length, batches: batches.length, samplingMs, waitMs, stepMs, sampledEdges };
}

/**
 * --check-grads in mini-batch mode: both gradient modes on the epoch's first batch, with the
 * blocks and dropout masks its step uses, before that step.
 */
export async function compareModesOnFirstBatch(
  plan: MiniBatchPlan, net: NetworkConfig, params: Record<string, tf.Tensor>, seed: number, epoch: number,
): Promise<ModeComparison> {
  const sampler = new NeighborSampler(plan.adjacency, { fanouts: plan.fanouts, addSelfLoops: plan.addSelfLoops });
  const batch = epochBatches(plan.trainNodes, plan.batchSize, seed, epoch)[0]!;
  const inputs = blockInputs(sampleBatch(sampler, batch, seed, epoch, 0), plan.features);
  const targets = batchTargets(plan.labels, batch, plan.numClasses);
  try {
    return await compareModes(net, params, inputs, { targets, weightDecay: 0 }, { training: true, seed: deriveSeed(seed, SEED_STREAM.step, epoch, 0) });
  } finally {
    inputs.dispose();
    targets.dispose();
  }
}
