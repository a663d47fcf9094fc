/**
 * `gatv2 evaluate --checkpoint DIR [--dataset ...]`: accuracy and loss of a checkpoint on every
 * split of a dataset (by default the one it was trained on, on the backend it was trained on), so
 * a run's test accuracy can be reproduced from its files alone.
 */
import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { checkpointOptions } from './checkpoint-options.js';
import { SPLITS, type Split } from '../data/dataset.js';
import { infer, scoreStoreFromFiles } from '../train/inference.js';
import type { SplitScore } from '../model/loss.js';
import type { ClassificationReport } from '../run/classification-metrics.js';
import { classificationReportOf, scoreSplitOf, scoresOfLogits, type NodeScores } from '../train/node-scores.js';
import { formatTable } from '../util/table.js';
import { loadModel } from '../run/saved-model.js';

interface EvaluateArgs {
  checkpoint: string;
  dataset?: string;
  backend?: string;
  json: boolean;
}

export interface EvaluateResult {
  checkpoint: string;
  epoch: number;
  dataset: string;
  backend: string;
  /** Class index -> label, the order of perClass and of the confusion matrix's rows and columns. */
  classNames: string[];
  /**
   * Labelled splits only; accuracy is the fraction of the split's nodes predicted right, and
   * `classification` adds macro-F1, per-class precision/recall/F1 and the confusion matrix.
   */
  splits: Partial<Record<Split, SplitScore & { nodes: number; classification: ClassificationReport }>>;
}

export async function evaluateCheckpoint(dir: string, opts: { dataset?: string; backend?: string }): Promise<EvaluateResult> {
  // A store is scored from its files (bounded memory); anything else is loaded whole.
  const fromFiles = await scoreStoreFromFiles(dir, opts);
  if (fromFiles) {
    const { checkpoint, labels, splits, scores } = fromFiles;
    return {
      checkpoint: checkpoint.dir, epoch: checkpoint.epoch, dataset: fromFiles.dataset, backend: fromFiles.backend,
      classNames: checkpoint.classNames, splits: scoreSplits(scores, labels, splits, checkpoint.classNames.length),
    };
  }
  const m = await loadModel(dir, { ...opts, strictLabels: true });
  try {
    const { logits, numClasses } = await infer(m);
    return {
      checkpoint: m.checkpoint.dir, epoch: m.checkpoint.manifest.epoch, dataset: m.data.dataset.name, backend: m.backend,
      classNames: m.checkpoint.manifest.modelConfig.classNames,
      splits: scoreSplits(scoresOfLogits(logits, m.labels, numClasses), m.labels, m.data.splits, numClasses),
    };
  } finally {
    m.dispose();
  }
}

function scoreSplits(scores: NodeScores, labels: Int32Array, splits: Record<Split, Int32Array>, numClasses: number): EvaluateResult['splits'] {
  const out: EvaluateResult['splits'] = {};
  for (const s of SPLITS) {
    const nodes = splits[s];
    if (s === 'unlabeled' || nodes.length === 0) continue;
    out[s] = {
      nodes: nodes.length, ...scoreSplitOf(scores, labels, nodes),
      classification: classificationReportOf(scores, labels, nodes, numClasses),
    };
  }
  return out;
}

export const evaluateCommand: CommandModule<object, EvaluateArgs> = {
  command: 'evaluate',
  describe: 'accuracy of a trained checkpoint on each split',
  builder: (y: Argv) =>
    checkpointOptions(y, 'evaluate on')
      .option('json', { type: 'boolean', default: false, describe: 'print one JSON object' }) as unknown as Argv<EvaluateArgs>,
  handler: async (args: ArgumentsCamelCase<EvaluateArgs>) => {
    const r = await evaluateCheckpoint(args.checkpoint, {
      ...(args.dataset !== undefined ? { dataset: args.dataset } : {}),
      ...(args.backend !== undefined ? { backend: args.backend } : {}),
    });
    if (args.json) {
      process.stdout.write(JSON.stringify(r, null, 2) + '\n');
      return;
    }
    const rows = Object.entries(r.splits).map(([s, v]) => [
      s, String(v.nodes), `${(100 * v.accuracy).toFixed(2)}%`, v.loss.toFixed(4), `${(100 * v.classification.macroF1).toFixed(2)}%`,
    ]);
    process.stdout.write(`${r.checkpoint} (epoch ${r.epoch}) on ${r.dataset}, backend ${r.backend}\n`);
    process.stdout.write(formatTable(['split', 'nodes', 'accuracy', 'loss', 'macro-F1'], rows) + '\n');
    const test = r.splits.test;
    if (test) {
      const perClass = test.classification.perClass.map((c, k) => [
        r.classNames[k] ?? String(k), String(c.support), c.precision.toFixed(4), c.recall.toFixed(4), c.f1.toFixed(4),
      ]);
      process.stdout.write(`\ntest split, per class (the confusion matrices are in --json):\n`);
      process.stdout.write(formatTable(['class', 'nodes', 'precision', 'recall', 'F1'], perClass) + '\n');
    }
  },
};
