/**
 * The report's tables of the best epoch's classification (summary.json "classification"):
 * per class precision, recall, F1 and support on val and test with macro-F1, and each split's
 * confusion matrix (rows: true class, columns: predicted class).
 */
import type { ClassificationReport } from '../run/classification-metrics.js';
import type { Table } from './html.js';

export interface ClassificationSummary {
  classNames?: string[];
  val: ClassificationReport;
  test: ClassificationReport;
}

const f4 = (x: number) => (Number.isFinite(x) ? x.toFixed(4) : '-');

export function classificationTables(c: ClassificationSummary, bestEpoch: number): Table[] {
  const name = (k: number) => c.classNames?.[k] ?? String(k);
  const perClass: Table = {
    caption: `Per class at the best epoch (${bestEpoch}): precision, recall, F1 (val | test); macro-F1 val ${f4(c.val.macroF1)}, test ${f4(c.test.macroF1)}`,
    header: ['class', 'val nodes', 'val P', 'val R', 'val F1', 'test nodes', 'test P', 'test R', 'test F1'],
    rows: c.test.perClass.map((t, k) => {
      const v = c.val.perClass[k];
      return [name(k), String(v.support), f4(v.precision), f4(v.recall), f4(v.f1), String(t.support), f4(t.precision), f4(t.recall), f4(t.f1)];
    }),
  };
  const confusion = (split: 'val' | 'test'): Table => ({
    caption: `Confusion matrix, ${split} (rows: true class, columns: predicted class)`,
    header: ['true \\ predicted', ...c[split].confusion.map((_, k) => name(k))],
    rows: c[split].confusion.map((row, k) => [name(k), ...row.map(String)]),
  });
  return [perClass, confusion('val'), confusion('test')];
}
