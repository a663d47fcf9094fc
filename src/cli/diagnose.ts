/**
 * `gatv2 diagnose`: the gradient-flow diagnostics (src/diagnostics/) of a trained checkpoint on a
 * dataset: one forward + backward, then a short text summary or the whole result as JSON.
 * Shows where Theta_R is starved of gradient (gradients.md, "The paper's main insight").
 */
import * as tf from '@tensorflow/tfjs-core';
import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { checkpointOptions } from './checkpoint-options.js';
import { SPLIT_CODES } from '../data/dataset.js';
import { diagnoseNetwork } from '../diagnostics/diagnose.js';
import { summarizeDiagnostics } from '../diagnostics/summary.js';
import { DEFAULT_THRESHOLDS } from '../run/diagnostics-record.js';
import { InputError } from '../util/errors.js';
import type { GradMode } from '../ops/graph-tensors.js';
import { splitTargets } from '../model/loss.js';
import { loadModel } from '../run/saved-model.js';

type SplitName = 'train' | 'val' | 'test';

export interface DiagnoseArgs {
  checkpoint: string;
  dataset?: string;
  backend?: string;
  mode: GradMode;
  split: SplitName;
  training: boolean;
  seed: number;
  uniformEntropy: number;
  oneHotAlpha: number;
  json: boolean;
}

/** Labelled nodes of a split, as class indices of the checkpoint (labels it does not know are skipped). */
function splitNodes(split: Uint8Array, labels: Int32Array, which: SplitName): Int32Array {
  const code = SPLIT_CODES[which];
  const out: number[] = [];
  for (let i = 0; i < split.length; i++) if (split[i] === code && labels[i] >= 0) out.push(i);
  return Int32Array.from(out);
}

function checkShare(flag: string, v: number): void {
  if (!(v >= 0 && v <= 1)) throw new InputError(`${flag} must be in [0, 1], got ${v}`);
}

export const diagnoseCommand: CommandModule<object, DiagnoseArgs> = {
  command: 'diagnose',
  describe: 'gradient-flow diagnostics of a checkpoint: where Theta_R gets no gradient, attention entropy',
  builder: (y: Argv) =>
    checkpointOptions(y, 'run on')
      .option('mode', { choices: ['analytic', 'autograd'] as const, default: 'analytic' as const, describe: 'backward the pass runs through' })
      .option('split', { choices: ['train', 'val', 'test'] as const, default: 'train' as const, describe: 'nodes whose cross-entropy is differentiated' })
      .option('training', { type: 'boolean', default: false, describe: 'training forward (dropout on, masks from --seed) instead of evaluation' })
      .option('seed', { type: 'number', default: 0, describe: 'seed of the dropout masks with --training' })
      .option('uniform-entropy', { type: 'number', default: DEFAULT_THRESHOLDS.uniformEntropy, describe: 'normalised entropy above which attention counts as nearly uniform' })
      .option('one-hot-alpha', { type: 'number', default: DEFAULT_THRESHOLDS.oneHotAlpha, describe: 'largest alpha above which attention counts as nearly one-hot' })
      .option('json', { type: 'boolean', default: false, describe: 'print the whole result as JSON' })
      .example('$0 diagnose --checkpoint runs/cora-20250101-120000', 'diagnostics of the best checkpoint on its own dataset')
      .example('$0 diagnose --checkpoint runs/cora-x --split val --json', 'JSON, gradients of the validation loss') as unknown as Argv<DiagnoseArgs>,
  handler: async (args: ArgumentsCamelCase<DiagnoseArgs>) => {
    checkShare('--uniform-entropy', args.uniformEntropy);
    checkShare('--one-hot-alpha', args.oneHotAlpha);
    if (args.training && !(Number.isInteger(args.seed) && args.seed >= 0)) throw new InputError(`--seed must be a non-negative integer, got ${args.seed}`);
    const m = await loadModel(args.checkpoint, {
      ...(args.dataset !== undefined ? { dataset: args.dataset } : {}),
      ...(args.backend !== undefined ? { backend: args.backend } : {}),
      strictLabels: false,
    });
    let targets: tf.Tensor2D | null = null;
    try {
      const net = m.checkpoint.manifest.modelConfig.network;
      const numClasses = m.checkpoint.manifest.modelConfig.classNames.length;
      const nodes = splitNodes(m.data.dataset.split, m.labels, args.split);
      if (nodes.length === 0) {
        throw new InputError(`${m.data.dataset.name}: no labelled node of a known class in the ${args.split} split; choose another --split`);
      }
      targets = splitTargets(m.labels, nodes, numClasses);
      const d = await diagnoseNetwork(net, m.checkpoint.params, m.inputs, { targets, weightDecay: 0 }, {
        mode: args.mode,
        training: args.training,
        seed: args.seed,
        thresholds: { uniformEntropy: args.uniformEntropy, oneHotAlpha: args.oneHotAlpha },
      });
      if (args.json) console.log(JSON.stringify(d, null, 2));
      else {
        console.log(`${m.checkpoint.dir} on ${m.data.dataset.name} (${args.split} split, ${nodes.length} nodes), backend ${m.backend}`);
        console.log(summarizeDiagnostics(d));
      }
    } finally {
      targets?.dispose();
      m.dispose();
    }
  },
};
