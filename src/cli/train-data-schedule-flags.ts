/**
 * The `gatv2 train` flags of the dataset transforms (--to-undirected, --split) and of the
 * optimisation schedule (--lr-schedule, --clip-norm), and the TrainConfig fields they make.
 */
import type { Argv } from 'yargs';
import { parseSplit } from '../data/split.js';
import { UNDIRECTED_REDUCES, type UndirectedReduce } from '../data/undirected.js';
import type { TrainConfig } from '../train/config.js';
import { DEFAULT_LR_SCHEDULE as L, LR_SCHEDULES, type LrScheduleName } from '../train/lr-schedule.js';

export interface DataScheduleArgs {
  toUndirected: boolean;
  undirectedReduce: UndirectedReduce;
  split?: string;
  splitSeed: number;
  lrSchedule: LrScheduleName;
  lrStepSize: number;
  lrGamma: number;
  lrMin: number;
  lrTMax: number;
  clipNorm: number;
}

export function dataScheduleOptions<T>(y: Argv<T>): Argv<T & DataScheduleArgs> {
  return y
    .group(['to-undirected', 'undirected-reduce', 'split', 'split-seed'], 'Dataset:')
    .option('to-undirected', { type: 'boolean', default: false, describe: "add every edge's reverse and merge repeated edges (PyG's ToUndirected)" })
    .option('undirected-reduce', { choices: UNDIRECTED_REDUCES, default: 'add' as UndirectedReduce, describe: "with --to-undirected: merged edges' features are summed (PyG's default) or averaged" })
    .option('split', { type: 'string', describe: 'random:TRAIN,VAL,TEST: a seeded split stratified by class instead of the dataset\'s (e.g. random:0.6,0.2,0.2)' })
    .option('split-seed', { type: 'number', default: 0, describe: 'seed of --split' })
    .group(['lr-schedule', 'lr-step-size', 'lr-gamma', 'lr-min', 'lr-t-max', 'clip-norm'], 'Schedule:')
    .option('lr-schedule', { choices: LR_SCHEDULES, default: L.name, describe: "learning rate per epoch: torch's CosineAnnealingLR or StepLR" })
    .option('lr-step-size', { type: 'number', default: L.stepSize, describe: 'step: multiply the lr by --lr-gamma every N epochs' })
    .option('lr-gamma', { type: 'number', default: L.gamma, describe: 'step: decay factor' })
    .option('lr-min', { type: 'number', default: L.minLr, describe: 'cosine: lowest lr (eta_min)' })
    .option('lr-t-max', { type: 'number', default: L.tMax, describe: 'cosine: epochs from --lr down to --lr-min (T_max; 0: --epochs)' })
    .option('clip-norm', { type: 'number', default: 0, describe: 'clip the global L2 norm of the gradients to this (clip_grad_norm_; 0: off)' }) as unknown as Argv<T & DataScheduleArgs>;
}

/** The TrainConfig fields of these flags (defaults leave the fields out, as older configs lack them). */
export function dataScheduleConfig(a: DataScheduleArgs): Pick<TrainConfig, 'toUndirected' | 'split' | 'lrSchedule' | 'clipNorm'> {
  const c: Pick<TrainConfig, 'toUndirected' | 'split' | 'lrSchedule' | 'clipNorm'> = {};
  if (a.toUndirected) c.toUndirected = a.undirectedReduce;
  if (a.split !== undefined) c.split = parseSplit(a.split, a.splitSeed);
  if (a.lrSchedule !== 'none') {
    c.lrSchedule = { name: a.lrSchedule, stepSize: a.lrStepSize, gamma: a.lrGamma, minLr: a.lrMin, tMax: a.lrTMax };
  }
  if (a.clipNorm !== 0) c.clipNorm = a.clipNorm;
  return c;
}
