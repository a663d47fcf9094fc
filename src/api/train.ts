/**
 * `train`: the CLI's trainer as a function. `gatv2 train` calls this too, so the library and the
 * command line run one training path (src/train/session.ts): same defaults, same run directory,
 * same numbers for the same seed.
 */
import { DEFAULT_TRAIN_CONFIG, type ModelOptions, type TrainConfig } from '../train/config.js';
import type { OptimizerConfig } from '../model/optimizers.js';
import type { ProgressReporter } from '../train/progress.js';
import { trainSession, type SessionResult } from '../train/session.js';
import { stopControl, type StopControl } from '../train/stop.js';

/** TrainConfig with every field optional; model and optimizer are merged field by field. */
export type TrainSettings = Partial<Omit<TrainConfig, 'model' | 'optimizer'>> & {
  model?: Partial<ModelOptions>;
  optimizer?: Partial<OptimizerConfig>;
};

export interface TrainOptions {
  /** A new session's settings over the defaults (`gatv2 train`'s; the backend defaults to auto). */
  config?: TrainSettings;
  /** Or: the directory of an interrupted session to continue with its saved settings. */
  resume?: string;
  /** With resume: a new epoch budget or patience (to extend a finished run); nothing else may change. */
  resumeOverrides?: Partial<Pick<TrainConfig, 'epochs' | 'patience'>>;
  /** Directory of a new session (default runs/<dataset>-<time>). */
  out?: string;
  /** Progress and notes (default: none). */
  reporter?: ProgressReporter;
  /** Lets the caller stop the run after the current epoch, saving a resumable checkpoint. */
  stop?: StopControl;
}

const SILENT: ProgressReporter = { runStart() {}, epoch() {}, runEnd() {}, finish() {}, note() {} };

/** The full configuration a partial one stands for. */
export function trainConfig(s: TrainSettings = {}): TrainConfig {
  const d = DEFAULT_TRAIN_CONFIG;
  return {
    ...d,
    backend: 'auto',
    ...s,
    model: { ...d.model, ...s.model },
    optimizer: { ...d.optimizer, ...s.optimizer },
  } as TrainConfig;
}

/**
 * Trains (or resumes) and writes the run directory; resolves with its summary (null when stopped
 * by `stop`). Bad settings or data reject with an InputError naming the setting or file.
 */
export async function train(options: TrainOptions = {}): Promise<SessionResult> {
  const stop = options.stop ?? stopControl({ signals: false });
  return trainSession({
    ...(options.resume !== undefined
      ? { resume: options.resume, ...(options.resumeOverrides ? { resumeOverrides: options.resumeOverrides } : {}) }
      : { config: trainConfig(options.config) }),
    ...(options.out !== undefined ? { out: options.out } : {}),
    reporter: options.reporter ?? SILENT,
    stop,
  });
}
