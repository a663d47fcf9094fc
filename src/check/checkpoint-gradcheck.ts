/**
 * Analytic vs autograd gradients of the training loss on a trained checkpoint and real data: the
 * entry point `gatv2 gradcheck --checkpoint DIR` builds on (it adds its float64 reference, hence
 * the host copies of the weights and the prepared data in the result).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Split } from '../data/dataset.js';
import { type ForwardOptions } from '../model/network.js';
import type { GradMode } from '../ops/graph-tensors.js';
import type { ModelConfig } from '../run/checkpoint.js';
import type { PreparedData } from '../data/prepare.js';
import { compareModes, toHost, type HostGrads, type ModeComparison } from '../model/objective.js';
import { splitTargets } from '../model/loss.js';
import { loadModel } from '../run/saved-model.js';

export interface CheckpointGradOptions {
  /** Run directory or checkpoint directory. */
  checkpoint: string;
  /** Default: the dataset the checkpoint was trained on. */
  dataset?: string;
  /** Default: the backend it was trained on. */
  backend?: string;
  /** Nodes the cross-entropy is taken over (default train). */
  split?: Split;
  /** Apply dropout (the same masks in both modes, from `seed`); default false (evaluation mode). */
  training?: boolean;
  seed?: number;
  /** L2 coefficient added to the loss (default 0: the cross-entropy alone). */
  weightDecay?: number;
}

export interface CheckpointGradComparison extends ModeComparison {
  checkpoint: string;
  epoch: number;
  dataset: string;
  backend: string;
  /** The objective's definition, as run. */
  split: Split;
  forward: Omit<ForwardOptions, 'mode'>;
  weightDecay: number;
  /** Gradients of each mode, host copies, TF layouts under PyG names ("conv1.lin_l.weight"). */
  grads: Record<GradMode, HostGrads>;
  /** The checkpoint's weights, host copies, same names and layouts. */
  params: HostGrads;
  modelConfig: ModelConfig;
  /** The inputs as the network saw them (normalised features, layout, splits) and the mapped labels. */
  data: PreparedData;
  labels: Int32Array;
}

export async function compareModesOnCheckpoint(o: CheckpointGradOptions): Promise<CheckpointGradComparison> {
  const m = await loadModel(o.checkpoint, {
    ...(o.dataset !== undefined ? { dataset: o.dataset } : {}),
    ...(o.backend !== undefined ? { backend: o.backend } : {}),
    strictLabels: true,
  });
  const split = o.split ?? 'train';
  const weightDecay = o.weightDecay ?? 0;
  const forward = { training: o.training ?? false, seed: o.seed ?? 0 };
  const mc = m.checkpoint.manifest.modelConfig;
  const targets = splitTargets(m.labels, m.data.splits[split], mc.classNames.length);
  try {
    const cmp = await compareModes(mc.network, m.checkpoint.params, m.inputs, { targets, weightDecay }, forward);
    return {
      ...cmp,
      checkpoint: m.checkpoint.dir,
      epoch: m.checkpoint.manifest.epoch,
      dataset: m.data.dataset.name,
      backend: m.backend,
      split,
      forward,
      weightDecay,
      params: await toHost(m.checkpoint.params),
      modelConfig: mc,
      data: m.data,
      labels: m.labels,
    };
  } finally {
    tf.dispose(targets);
    m.dispose();
  }
}
