/**
 * The options of a training run (every part of the GAT recipe is one of them), their defaults, and
 * their validation. A run directory's config.json holds them, so `--resume` needs nothing else.
 */
import { NORMALIZE_MODES, type NormalizeMode } from '../data/feature-normalization.js';
import { InputError } from '../util/errors.js';
import { checkNetworkShape, type NetworkShape } from '../model/network.js';
import type { GradMode } from '../ops/graph-tensors.js';
import { CRITERIA, type Criterion } from './early-stopping.js';
import { checkOptimizerConfig, DEFAULT_OPTIMIZER, type OptimizerConfig } from '../model/optimizers.js';
import { checkLrSchedule, type LrSchedule } from './lr-schedule.js';
import type { RandomSplit } from '../data/split.js';
import { UNDIRECTED_REDUCES, type UndirectedReduce } from '../data/undirected.js';

/** The network's knobs; the input width and class count come from the dataset. */
export type ModelOptions = Omit<NetworkShape, 'inFeatures' | 'numClasses' | 'edgeDim'>;

export interface TrainConfig {
  /** A built-in dataset name or an absolute directory. */
  dataset: string;
  /** Backend asked for (config.json also records the one that ran). */
  backend: string;
  grad: GradMode;
  /** Seed of the (first) run: init and every dropout mask derive from it. */
  seed: number;
  /** Runs with seeds seed, seed+1, ..., seed+seeds-1. */
  seeds: number;
  /** Maximum number of epochs. */
  epochs: number;
  /** Stop after this many epochs without progress on validation (0: never). */
  patience: number;
  /** Validation progress that restarts the patience counter. */
  monitor: Criterion;
  /** Validation rule of the best epoch (the checkpoint in best/, the run's result). */
  select: Criterion;
  /** L2 coefficient on all parameters: the optimizer adds weightDecay * theta to each gradient
   * (torch.optim's weight_decay), the gradient of (weightDecay / 2) * sum theta^2 in the loss. */
  weightDecay: number;
  /**
   * Feature transform (src/data/feature-normalization.ts). A boolean in config.json files written
   * before the modes existed: true is row, false none.
   */
  normalizeFeatures: NormalizeMode | boolean;
  optimizer: OptimizerConfig;
  model: ModelOptions;
  /** Compare analytic and autograd gradients every K epochs (0: never). */
  checkGrads: number;
  /** Write the resumable checkpoint every K epochs (and always at the end or on a signal). */
  saveEvery: number;
  /**
   * Gradient-flow diagnostics (src/diagnostics) at epoch 1 and every K epochs after it, into
   * diagnostics.jsonl, and report.html at the end (0: off). Optional: older config.json lack it.
   */
  diagnostics?: number;
  /** --to-undirected: PyG's ToUndirected, merged edges' features reduced this way (absent/null: off). */
  toUndirected?: UndirectedReduce | null;
  /** --split random:...: a stratified seeded split instead of the dataset's (absent/null: its own). */
  split?: RandomSplit | null;
  /** --lr-schedule and its parameters (absent: a constant lr). */
  lrSchedule?: LrSchedule;
  /** --clip-norm: largest global L2 norm of the gradients (absent or 0: no clipping). */
  clipNorm?: number;
  /**
   * Neighbour-sampled mini-batch training (src/train/minibatch.ts): training nodes per batch, and
   * neighbours sampled per node per hop (hop 1 first; -1: all). Absent: full batch.
   */
  batchSize?: number;
  fanout?: number[];
}

/** The GAT recipe (Velickovic et al. 2018; PyG's examples/gat.py), with GATv2 layers. */
export const DEFAULT_MODEL: ModelOptions = {
  layers: 2,
  hidden: 8,
  heads: 8,
  outputHeads: 1,
  outputConcat: false,
  activation: 'elu',
  inputDropout: 0.6,
  attentionDropout: 0.6,
  negativeSlope: 0.2,
  addSelfLoops: true,
  bias: true,
  shareWeights: false,
  residual: false,
};

export const DEFAULT_TRAIN_CONFIG: TrainConfig = {
  dataset: 'cora',
  backend: 'cpu',
  grad: 'analytic',
  seed: 0,
  seeds: 1,
  epochs: 1000,
  patience: 100,
  monitor: 'both',
  select: 'loss',
  weightDecay: 5e-4,
  normalizeFeatures: 'auto',
  optimizer: DEFAULT_OPTIMIZER,
  model: DEFAULT_MODEL,
  checkGrads: 0,
  saveEvery: 10,
  diagnostics: 0,
};

function nonNegInt(flag: string, v: number): void {
  if (!(Number.isInteger(v) && v >= 0)) throw new InputError(`${flag} must be a non-negative integer, got ${v}`);
}

function posInt(flag: string, v: number): void {
  if (!(Number.isInteger(v) && v >= 1)) throw new InputError(`${flag} must be a positive integer, got ${v}`);
}

/** Checks the run options before the dataset is loaded (buildNetworkConfig checks the model's). */
export function checkTrainConfig(c: TrainConfig): void {
  if (c.grad !== 'analytic' && c.grad !== 'autograd') throw new InputError(`--grad must be analytic or autograd, got "${c.grad}"`);
  if (!(Number.isInteger(c.seed) && c.seed >= 0 && c.seed < 2 ** 32)) throw new InputError(`--seed must be an integer in [0, 2^32), got ${c.seed}`);
  posInt('--seeds', c.seeds);
  posInt('--epochs', c.epochs);
  nonNegInt('--patience', c.patience);
  nonNegInt('--check-grads', c.checkGrads);
  posInt('--save-every', c.saveEvery);
  nonNegInt('--diagnostics', c.diagnostics ?? 0);
  for (const [flag, v] of [['--monitor', c.monitor], ['--select', c.select]] as const) {
    if (!CRITERIA.includes(v)) throw new InputError(`${flag} must be one of ${CRITERIA.join(', ')}, got "${v}"`);
  }
  if (typeof c.normalizeFeatures !== 'boolean' && !NORMALIZE_MODES.includes(c.normalizeFeatures)) {
    throw new InputError(`--normalize-features must be one of ${NORMALIZE_MODES.join(', ')}, got "${String(c.normalizeFeatures)}"`);
  }
  if (!(c.weightDecay >= 0)) throw new InputError(`--weight-decay must be >= 0, got ${c.weightDecay}`);
  checkOptimizerConfig(c.optimizer);
  checkNetworkShape(c.model);
  if (c.lrSchedule) checkLrSchedule(c.lrSchedule, c.optimizer.lr);
  if (!((c.clipNorm ?? 0) >= 0)) throw new InputError(`--clip-norm must be >= 0 (0: off), got ${c.clipNorm}`);
  if (c.toUndirected && !UNDIRECTED_REDUCES.includes(c.toUndirected)) {
    throw new InputError(`--undirected-reduce must be one of ${UNDIRECTED_REDUCES.join(', ')}, got "${c.toUndirected}"`);
  }
  checkMiniBatchConfig(c);
}

function checkMiniBatchConfig(c: TrainConfig): void {
  if (c.batchSize === undefined) {
    if (c.fanout !== undefined) throw new InputError('--fanout needs --batch-size (mini-batch training); without it training is full batch');
    return;
  }
  posInt('--batch-size', c.batchSize);
  if (c.fanout === undefined) {
    throw new InputError('--batch-size needs --fanout: neighbours sampled per node and layer, hop 1 first (e.g. --fanout 15,10; -1 takes all)');
  }
  if (c.fanout.length !== 1 && c.fanout.length !== c.model.layers) {
    throw new InputError(`--fanout: ${c.fanout.length} values for ${c.model.layers} layers; give one per layer (hop 1 first) or one for all`);
  }
  for (const f of c.fanout) {
    if (!(f === -1 || (Number.isInteger(f) && f >= 1))) throw new InputError(`--fanout values must be positive integers or -1 (all), got ${f}`);
  }
}
