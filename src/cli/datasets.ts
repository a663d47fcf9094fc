/**
 * `gatv2 datasets` (list the built-in datasets with their sizes) and `gatv2 datasets inspect PATH`
 * (validate a directory or built-in name and describe its graph). `--json` prints one object instead
 * of text. Results go to stdout, dataset warnings to stderr; bad input surfaces as InputError.
 */
import type { Argv, CommandModule } from 'yargs';
import { BUILTIN_DATASETS, loadDataset } from '../store/load.js';
import { createLoadProgress } from '../data/load-progress.js';
import { datasetStats, type DatasetStats, type DegreeSummary } from '../data/stats.js';
import { checkTrainable } from '../data/trainable.js';
import { EXIT_BAD_INPUT } from '../util/errors.js';

interface JsonArg {
  json: boolean;
}

interface InspectArgs extends JsonArg {
  path: string;
}

/** One row of the listing. */
export interface DatasetSummary {
  name: string;
  dir: string;
  nodes: number;
  edges: number;
  features: number;
  classes: number;
  splits: DatasetStats['splits'];
}

export async function listBuiltins(): Promise<DatasetSummary[]> {
  const out: DatasetSummary[] = [];
  for (const name of BUILTIN_DATASETS) {
    const s = datasetStats(await loadDataset(name));
    out.push({ name, dir: s.dir, nodes: s.nodes, edges: s.edges, features: s.features, classes: s.classes, splits: s.splits });
  }
  return out;
}

export function formatList(rows: DatasetSummary[]): string {
  const head = ['name', 'nodes', 'edges', 'features', 'classes', 'train', 'val', 'test', 'unlabeled'];
  const body = rows.map((r) => [
    r.name,
    String(r.nodes),
    String(r.edges),
    String(r.features),
    String(r.classes),
    String(r.splits.train),
    String(r.splits.val),
    String(r.splits.test),
    String(r.splits.unlabeled),
  ]);
  return table([head, ...body]) + '\nedges are directed rows of edges.csv; `gatv2 datasets inspect NAME` for details\n';
}

export function formatInspect(s: DatasetStats): string {
  const pct = (x: number): string => `${(100 * x).toFixed(1)}%`;
  const degRow = (label: string, d: DegreeSummary): string[] => [
    label,
    String(d.min),
    String(d.median),
    String(d.max),
    d.mean.toFixed(2),
    pct(d.shareDegreeOne),
  ];
  const classes = s.classNames.map((c, k) => `${c} (${s.classCounts[k]})`).join(', ');
  const lines = [
    `dataset         ${s.name} (${s.dir})`,
    `nodes           ${s.nodes}`,
    `edges           ${s.edges} rows: ${s.selfLoops} self loops, ${s.duplicateEdges} duplicates`,
    `isolated nodes  ${s.isolatedNodes} (no edge to or from another node)`,
    `features        ${s.features} (${s.featureKind}, ${s.featureEntries} stored values)`,
    `classes         ${s.classes}: ${classes}`,
    `labelled nodes  ${s.labelledNodes}`,
    `splits          train ${s.splits.train}, val ${s.splits.val}, test ${s.splits.test}, unlabeled ${s.splits.unlabeled}`,
    'in-degree',
    table(
      [
        ['', 'min', 'median', 'max', 'mean', 'in-degree 1'],
        degRow('as given', s.inDegree.asGiven),
        degRow('with self loops', s.inDegree.withSelfLoops),
      ],
      '  ',
    ),
  ];
  return lines.join('\n') + '\n';
}

/** Left-aligned columns separated by two spaces. */
function table(rows: string[][], indent = ''): string {
  const widths = rows[0].map((_, j) => Math.max(...rows.map((r) => r[j].length)));
  return rows.map((r) => indent + r.map((c, j) => c.padEnd(widths[j])).join('  ').trimEnd()).join('\n');
}

function jsonOption<T>(y: Argv<T>): Argv<T & JsonArg> {
  return y.option('json', { type: 'boolean', default: false, describe: 'print a JSON object instead of text' });
}

const inspectCommand: CommandModule<JsonArg, InspectArgs> = {
  command: 'inspect <path>',
  describe: 'validate a dataset directory (or built-in name) and describe its graph',
  builder: (y) =>
    jsonOption(y).positional('path', {
      type: 'string',
      demandOption: true,
      describe: `dataset directory, or one of ${BUILTIN_DATASETS.join(', ')}`,
    }) as Argv<InspectArgs>,
  handler: async (args) => {
    const ds = await loadDataset(args.path, createLoadProgress({ tty: process.stderr.isTTY === true }));
    const stats = datasetStats(ds);
    // The same check as gatv2 train: what it would refuse makes inspect fail too.
    const problems = checkTrainable(ds);
    for (const w of [...ds.warnings, ...problems.warnings]) process.stderr.write(`warning: ${w}\n`);
    process.stdout.write(args.json ? JSON.stringify({ ...stats, problems }, null, 2) + '\n' : formatInspect(stats));
    if (problems.errors.length > 0) {
      for (const e of problems.errors) process.stderr.write(`gatv2: ${e}\n`);
      process.exitCode = EXIT_BAD_INPUT;
    }
  },
};

export const datasetsCommand: CommandModule<object, JsonArg> = {
  command: 'datasets',
  describe: 'list the built-in datasets, or inspect one',
  builder: (y) => jsonOption(y).command(inspectCommand as CommandModule<object & JsonArg, InspectArgs>),
  handler: async (args) => {
    const rows = await listBuiltins();
    process.stdout.write(args.json ? JSON.stringify({ datasets: rows }, null, 2) + '\n' : formatList(rows));
  },
};
