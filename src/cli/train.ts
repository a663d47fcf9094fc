/**
 * `gatv2 train`: trains a GATv2 network with the GAT recipe (every part a flag), shows progress,
 * writes the run directory (src/train/trainer.ts lists its files), and `--resume DIR` continues an
 * interrupted run exactly. SIGINT/SIGTERM: finish the epoch, save, exit 130/143.
 */
import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { train } from '../api/train.js';
import { BACKENDS } from '../backends/index.js';
import { BUILTIN_DATASETS } from '../store/load.js';
import { NORMALIZE_MODES, type NormalizeMode } from '../data/feature-normalization.js';
import { DEFAULT_MODEL, DEFAULT_TRAIN_CONFIG as D, type ModelOptions, type TrainConfig } from '../train/config.js';
import { CRITERIA } from '../train/early-stopping.js';
import { DEFAULT_OPTIMIZER as O, OPTIMIZERS, type OptimizerConfig, type OptimizerName } from '../model/optimizers.js';
import { createReporter } from '../train/progress.js';
import { readRunFile } from '../train/session.js';
import { InputError } from '../util/errors.js';
import { givenOptions, resumeFlags, type ResumeOverrides } from './resume-flags.js';
import { resolve } from 'node:path';
import { hideBin } from 'yargs/helpers';
import { parseFanout } from '../train/minibatch.js';
import { STOP_EXIT_CODE, stopControl } from '../train/stop.js';
import { dataScheduleConfig, dataScheduleOptions, type DataScheduleArgs } from './train-data-schedule-flags.js';
import { ACTIVATIONS } from '../model/activation.js';

/**
 * The flags: TrainConfig flattened (optimizer and model fields at the top level, as yargs gives
 * them), with the flag names that differ (--optimizer is the name, --dropout the input dropout,
 * --self-loops, --diagnostics as a switch with its period apart) and the run-only flags.
 */
export interface TrainArgs
  extends Omit<TrainConfig, 'optimizer' | 'model' | 'diagnostics' | 'toUndirected' | 'split' | 'lrSchedule' | 'clipNorm' | 'fanout'>,
    Omit<OptimizerConfig, 'name'>,
    Omit<ModelOptions, 'inputDropout' | 'addSelfLoops'>,
    DataScheduleArgs {
  out?: string;
  resume?: string;
  json: boolean;
  optimizer: OptimizerName;
  dropout: number;
  selfLoops: boolean;
  diagnostics: boolean;
  diagnosticsEvery: number;
  batchSize?: number;
  fanout?: string;
}

export function configFromArgs(a: TrainArgs): TrainConfig {
  return {
    dataset: a.dataset,
    backend: a.backend,
    grad: a.grad,
    seed: a.seed,
    seeds: a.seeds,
    epochs: a.epochs,
    patience: a.patience,
    monitor: a.monitor,
    select: a.select,
    weightDecay: a.weightDecay,
    normalizeFeatures: a.normalizeFeatures,
    optimizer: {
      name: a.optimizer, lr: a.lr, momentum: a.momentum, beta1: a.beta1, beta2: a.beta2, rmsDecay: a.rmsDecay, epsilon: a.epsilon,
    },
    model: {
      layers: a.layers,
      hidden: a.hidden,
      heads: a.heads,
      outputHeads: a.outputHeads,
      outputConcat: a.outputConcat,
      activation: a.activation,
      inputDropout: a.dropout,
      attentionDropout: a.attentionDropout,
      negativeSlope: a.negativeSlope,
      addSelfLoops: a.selfLoops,
      bias: a.bias,
      shareWeights: a.shareWeights,
      residual: a.residual,
    },
    checkGrads: a.checkGrads,
    saveEvery: a.saveEvery,
    diagnostics: a.diagnostics ? a.diagnosticsEvery : 0,
    ...dataScheduleConfig(a),
    ...(a.batchSize !== undefined ? { batchSize: a.batchSize } : {}),
    ...(a.fanout !== undefined ? { fanout: parseFanout(a.fanout) } : {}),
  };
}

const M = DEFAULT_MODEL;

/**
 * --no-normalize-features (yargs gives false) is none, as it was before the modes. Other values
 * are checked by checkTrainConfig: an error thrown here would reach the user as yargs' own.
 */
function normalizeFeaturesFlag(v: unknown): NormalizeMode {
  return v === false ? 'none' : (v as NormalizeMode);
}

export function trainOptions<T>(y: Argv<T>): Argv<TrainArgs> {
  return dataScheduleOptions(y)
    .option('dataset', { type: 'string', default: D.dataset, describe: `${BUILTIN_DATASETS.join(', ')}, or a dataset directory` })
    .option('out', { type: 'string', describe: 'run directory (default runs/<dataset>-<time>)' })
    .option('resume', {
      type: 'string',
      describe: 'continue the run in this directory with its saved options; --epochs and --patience may change (to extend a finished run), other training flags must match the saved ones',
    })
    .option('json', { type: 'boolean', default: false, describe: 'one JSON object per epoch and a final summary on stdout' })
    .option('backend', { type: 'string', default: 'auto', describe: `TF.js backend: ${BACKENDS.join(', ')} (auto: a GPU if there is one, else wasm)` })
    .option('grad', { choices: ['analytic', 'autograd'] as const, default: D.grad, describe: 'backward: hand-derived kernels or TF.js autodiff' })
    .option('seed', { type: 'number', default: D.seed, describe: 'seed of init and dropout masks' })
    .option('seeds', { type: 'number', default: D.seeds, describe: 'repeat with seeds seed..seed+N-1 and report mean +- std' })
    .option('check-grads', { type: 'number', default: D.checkGrads, describe: 'every K epochs compare analytic and autograd gradients (0: off)' })
    .option('save-every', { type: 'number', default: D.saveEvery, describe: 'write the resumable checkpoint every K epochs' })
    .option('diagnostics', {
      type: 'boolean', default: false,
      describe: 'gradient-flow diagnostics (diagnostics.jsonl) and report.html in the run directory, a summary at the end',
    })
    .option('diagnostics-every', { type: 'number', default: 10, describe: 'with --diagnostics: at epoch 1 and every K epochs' })
    .group(['batch-size', 'fanout'], 'Mini-batch (neighbour sampling):')
    .option('batch-size', { type: 'number', describe: 'training nodes per step, each with sampled neighbourhoods (default: full batch)' })
    .option('fanout', { type: 'string', describe: 'neighbours sampled per node, per layer, hop 1 first (e.g. 15,10; -1: all; one value: every layer)' })
    .group(['epochs', 'patience', 'monitor', 'select', 'optimizer', 'lr', 'weight-decay', 'momentum', 'beta1', 'beta2', 'rms-decay', 'epsilon'], 'Optimisation:')
    .option('epochs', { type: 'number', default: D.epochs, describe: 'maximum epochs' })
    .option('patience', { type: 'number', default: D.patience, describe: 'early stopping: epochs without validation progress (0: off)' })
    .option('monitor', { choices: CRITERIA, default: D.monitor, describe: 'validation progress that restarts patience: a loss or accuracy record (both, the GAT rule), loss, acc' })
    .option('select', { choices: CRITERIA, default: D.select, describe: 'best epoch (kept in best/, reported): lowest val loss, highest val acc, or both at their record (GAT)' })
    .option('optimizer', { choices: OPTIMIZERS, default: O.name })
    .option('lr', { type: 'number', default: O.lr, describe: 'learning rate' })
    .option('weight-decay', { type: 'number', default: D.weightDecay, describe: 'L2 on all parameters: the optimizer adds wd * w to each gradient (torch.optim weight_decay; the gradient of wd/2 * sum w^2)' })
    .option('momentum', { type: 'number', default: O.momentum, describe: 'momentum optimizer: velocity decay' })
    .option('beta1', { type: 'number', default: O.beta1, describe: 'adam: first moment decay' })
    .option('beta2', { type: 'number', default: O.beta2, describe: 'adam: second moment decay' })
    .option('rms-decay', { type: 'number', default: O.rmsDecay, describe: 'rmsprop: squared-gradient average decay' })
    .option('epsilon', { type: 'number', default: O.epsilon, describe: 'adam, rmsprop: denominator epsilon' })
    .group(['layers', 'hidden', 'heads', 'output-heads', 'output-concat', 'activation', 'dropout', 'attention-dropout', 'negative-slope', 'self-loops', 'bias', 'share-weights', 'residual', 'normalize-features'], 'Model:')
    .option('layers', { type: 'number', default: M.layers, describe: 'GATv2 layers' })
    .option('hidden', { type: 'number', default: M.hidden, describe: 'channels per head in hidden layers' })
    .option('heads', { type: 'number', default: M.heads, describe: 'heads of hidden layers (concatenated)' })
    .option('output-heads', { type: 'number', default: M.outputHeads, describe: 'heads of the output layer' })
    .option('output-concat', { type: 'boolean', default: M.outputConcat, describe: 'concatenate the output heads instead of averaging them' })
    .option('activation', { choices: ACTIVATIONS, default: M.activation, describe: 'between layers' })
    .option('dropout', { type: 'number', default: M.inputDropout, describe: "dropout on each layer's input" })
    .option('attention-dropout', { type: 'number', default: M.attentionDropout, describe: 'dropout on attention coefficients' })
    .option('negative-slope', { type: 'number', default: M.negativeSlope, describe: 'LeakyReLU slope in the attention score' })
    .option('self-loops', { type: 'boolean', default: M.addSelfLoops, describe: 'add a self loop per node (PyG add_self_loops)' })
    .option('bias', { type: 'boolean', default: M.bias })
    .option('share-weights', { type: 'boolean', default: M.shareWeights, describe: 'W_R = W_L' })
    .option('residual', { type: 'boolean', default: M.residual })
    .option('normalize-features', {
      type: 'string', default: 'auto', coerce: normalizeFeaturesFlag,
      describe: `${NORMALIZE_MODES.join('|')}: row divides each feature row by its sum (GAT), standardize scales each column to mean 0 and std 1; auto: row when no feature is negative, else standardize (dense) or none (sparse); --no-normalize-features is none`,
    })
    .example('$0 train --dataset cora', 'the GAT recipe on Cora')
    .example('$0 train --dataset citeseer --seeds 10 --json', '10 seeds, JSON lines')
    .example('$0 train --resume runs/cora-20250101-120000', 'continue an interrupted run')
    .example('$0 train --dataset ./products.store --batch-size 1024 --fanout 15,10', 'neighbour-sampled mini-batches') as unknown as Argv<TrainArgs>;
}

/** What --resume may change (--epochs, --patience); any other training flag that differs from the saved run is refused. */
function resumeOverridesOf(args: ArgumentsCamelCase<TrainArgs>): ResumeOverrides {
  const dir = args.resume!;
  const saved = readRunFile(resolve(dir)).config;
  const given = givenOptions(hideBin(process.argv), args);
  const { overrides, refused } = resumeFlags(saved, args as unknown as Record<string, unknown>, given, dir);
  if (refused.length > 0) {
    throw new InputError(
      `--resume ${dir}: ${refused.join(', ')} differ${refused.length === 1 ? 's' : ''} from the run's saved options and cannot change on a resumed run ` +
        '(only --epochs and --patience can); leave them out, or start a new run with another --out',
    );
  }
  return overrides;
}

export const trainCommand: CommandModule<object, TrainArgs> = {
  command: 'train',
  describe: 'train a GATv2 network on a dataset',
  builder: (y) => trainOptions(y),
  handler: async (args: ArgumentsCamelCase<TrainArgs>) => {
    const reporter = createReporter({ json: args.json, tty: !args.json && process.stderr.isTTY === true });
    const stop = stopControl({
      signals: true,
      onFirst: (r) => reporter.note(`${r}: finishing this epoch and saving the checkpoint (send it again to quit at once)`),
    });
    try {
      const r = await train({
        ...(args.resume !== undefined ? { resume: args.resume, resumeOverrides: resumeOverridesOf(args) } : { config: configFromArgs(args) }),
        ...(args.out !== undefined ? { out: args.out } : {}),
        reporter,
        stop,
      });
      if (r.stoppedBy) {
        reporter.note(`stopped by ${r.stoppedBy}; the last checkpoint is saved. Continue with: gatv2 train --resume ${r.dir}`);
        process.exitCode = STOP_EXIT_CODE[r.stoppedBy];
      }
    } finally {
      stop.release();
    }
  },
};
