/** The three stages of the paper, in the analytic form or as the autograd twin. */
import { aggregateAnalytic, aggregateAutograd } from './aggregate.js';
import type { GradMode } from './graph-tensors.js';
import { scoreAnalytic, scoreAutograd } from './score.js';
import { softmaxAnalytic, softmaxAutograd } from './softmax.js';

export interface Stages {
  score: typeof scoreAnalytic;
  softmax: typeof softmaxAnalytic;
  aggregate: typeof aggregateAnalytic;
}

export function stagesFor(mode: GradMode): Stages {
  return mode === 'analytic'
    ? { score: scoreAnalytic, softmax: softmaxAnalytic, aggregate: aggregateAnalytic }
    : { score: scoreAutograd, softmax: softmaxAutograd, aggregate: aggregateAutograd };
}

export { graphTensors } from './graph-tensors.js';
export type { GradMode, GraphTensors } from './graph-tensors.js';
