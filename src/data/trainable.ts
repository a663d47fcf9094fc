/**
 * Whether a dataset can be trained on, and what would make its results misleading. One function
 * for `gatv2 train` (refuses on the first error, prints the warnings) and `gatv2 datasets inspect`
 * (reports both, exits 2 on an error), so the two always agree.
 */
import { SPLIT_CODES, SPLITS, type GraphDataset } from './dataset.js';

export interface DatasetProblems {
  /** What makes training impossible or meaningless: train refuses, inspect exits 2. */
  errors: string[];
  /** What training survives but the user should know. */
  warnings: string[];
}

export function checkTrainable(ds: Pick<GraphDataset, 'name' | 'nodesFile' | 'labels' | 'split' | 'classNames'>): DatasetProblems {
  const where = ds.nodesFile ?? ds.name;
  const errors: string[] = [];
  const warnings: string[] = [];
  const C = ds.classNames.length;
  // count[s][c]: labelled nodes of class c in split s.
  const count = SPLITS.map(() => new Array<number>(C).fill(0));
  const size = [0, 0, 0, 0];
  for (let i = 0; i < ds.split.length; i++) {
    size[ds.split[i]]++;
    if (ds.labels[i] >= 0) count[ds.split[i]][ds.labels[i]]++;
  }
  const train = SPLIT_CODES.train;
  if (size[train] === 0) {
    errors.push(`${where}: no node is in the train split; set the split of some labelled nodes to train, or use --split random:0.6,0.2,0.2`);
  }
  if (size[SPLIT_CODES.val] === 0) {
    errors.push(`${where}: no node is in the val split; early stopping and the best checkpoint are chosen on it, so set the split of some labelled nodes to val, or use --split random:0.6,0.2,0.2`);
  }
  const trainClasses = ds.classNames.filter((_, c) => count[train][c] > 0);
  if (size[train] > 0 && trainClasses.length < 2) {
    errors.push(
      `${where}: the train nodes have a single class ("${trainClasses[0]}"); a classifier needs at least two, so label train nodes of another class`,
    );
  }
  if (size[SPLIT_CODES.test] === 0) {
    warnings.push(`${where}: no node is in the test split; no test accuracy will be reported`);
  }
  if (size[train] > 0 && trainClasses.length >= 2) {
    for (let c = 0; c < C; c++) {
      if (count[train][c] > 0) continue;
      const seen = SPLITS.filter((_, s) => count[s][c] > 0);
      warnings.push(
        `${where}: class "${ds.classNames[c]}" has no train node (only ${seen.join(', ')}); the model cannot learn to predict it`,
      );
    }
  }
  return { errors, warnings };
}
