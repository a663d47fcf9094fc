/**
 * The flags every command that runs a trained checkpoint shares (evaluate, predict, diagnose):
 * which checkpoint, and the dataset and backend, each defaulting to the one it was trained with.
 */
import type { Argv } from 'yargs';

/** `purpose`: what the dataset is used for, in the --dataset help ("evaluate on", ...). */
export function checkpointOptions(y: Argv, purpose: string): Argv {
  return y
    .option('checkpoint', { type: 'string', demandOption: true, describe: 'run directory (uses its best/ checkpoint) or checkpoint directory' })
    .option('dataset', { type: 'string', describe: `dataset to ${purpose} (default: the one trained on)` })
    .option('backend', { type: 'string', describe: 'TF.js backend (default: the one trained on)' });
}
