/**
 * What a training run lets the layers above it add without the trainer importing them: the
 * gradient-flow diagnostics and the run report are engines of their own (src/diagnostics,
 * src/report), so the api builds these hooks from them and the session hands them to each run.
 */
import type * as tf from '@tensorflow/tfjs-core';
import type { NetworkConfig, NetworkInputs } from '../model/network.js';
import type { Objective } from '../model/objective.js';
import type { GradMode } from '../ops/graph-tensors.js';
import type { TrainConfig } from './config.js';
import type { ProgressReporter } from './progress.js';

/** One epoch's weights and dropout masks before its update, on the whole graph. */
export interface EpochProbe {
  epoch: number;
  net: NetworkConfig;
  params: Record<string, tf.Tensor>;
  inputs: NetworkInputs;
  /** Targets of the training split, with the run's weight decay (the diagnostics record it). */
  objective: Objective;
  /** The training step's forward: its gradient mode and the seed of its dropout masks. */
  forward: { mode: GradMode; training: true; seed: number };
}

export interface RunHooks {
  /**
   * With config.diagnostics = K: at epoch 1 and every K epochs, before the update. Its time counts
   * as check time, not epoch time.
   */
  diagnose?(probe: EpochProbe): Promise<void>;
  /** When the run ends without failing: after summary.json when it finished, or when it was stopped. */
  afterRun?(): void;
}

/** One run of a session: its directory, its options (config.seed is its seed), where notes go. */
export interface RunContext {
  dir: string;
  config: TrainConfig;
  reporter: ProgressReporter;
}

/** Makes the hooks of one run, so that state such as the last diagnosis stays with its run. */
export type RunHooksFactory = (run: RunContext) => RunHooks;
