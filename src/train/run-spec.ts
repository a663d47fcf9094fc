/** What one training run (one seed) is given by its session, and what it gives back. */
import type * as tf from '@tensorflow/tfjs-core';
import type { NetworkConfig, NetworkInputs } from '../model/network.js';
import type { ModelConfig } from '../run/checkpoint.js';
import type { RunSummary } from '../run/summary.js';
import type { TrainConfig } from './config.js';
import type { MiniBatchPlan } from './minibatch.js';
import type { NodeScores } from './node-scores.js';
import type { RunHooks } from './run-hooks.js';
import type { StopReason } from './stop.js';
import type { TrainData } from './store-data.js';

export interface RunSpec {
  dir: string;
  /** This run's options (config.seed is its seed). */
  config: TrainConfig;
  data: TrainData;
  /** The whole graph on the backend; absent when a store is trained from its files (store-data.ts). */
  inputs?: NetworkInputs;
  /** Every node's evaluation scores (layer-wise on a store); absent: the full forward on inputs. */
  evaluate?: (params: Record<string, tf.Tensor>) => Promise<NodeScores>;
  net: NetworkConfig;
  modelConfig: ModelConfig;
  /** Backend it runs on. */
  backend: string;
  /** Mini-batch training (--batch-size); absent: full batch. */
  miniBatch?: MiniBatchPlan;
  /** What the layers above add to the run (diagnostics, the report); needs diagnose with config.diagnostics. */
  hooks?: RunHooks;
}

export interface RunOutcome {
  /** null when the run was stopped before finishing. */
  summary: RunSummary | null;
  stoppedBy: StopReason | null;
}
