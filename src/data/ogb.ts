/**
 * OGB node-property datasets as OGB's downloader leaves them on disk (ogbn-arxiv, ogbn-products,
 * ...), read without conversion:
 *
 *   raw/edge.csv.gz        src,dst per row (node indices, no header)
 *   raw/node-feat.csv.gz   one dense row of features per node (no header): fixes N and F
 *   raw/node-label.csv.gz  one class index per node (no header; "nan" or empty: unlabelled)
 *   raw/edge-feat.csv.gz   optional: one row of edge features per edge.csv row
 *   split/<name>/{train,valid,test}.csv.gz   node indices, one per line
 *
 * Each file may also be plain `.csv`. Every file is streamed through csv-parse like the CSV
 * layout (src/data/csv.ts), and a bad value stops loading with the file and line named. Node ids
 * are the indices "0".."N-1" and class names the label numbers, so outputs line up with OGB's.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { InputError } from '../util/errors.js';
import { failAt, readCsv, type CsvFile, type CsvRow } from './csv.js';
import { SPLIT_CODES, type GraphDataset } from './dataset.js';
import { GrowableFloat32, GrowableInt32 } from './growable.js';

/** A directory is in OGB's layout when it has raw/edge.csv(.gz). */
export function isOgbDir(dir: string): boolean {
  return findFile(dir, 'raw', 'edge') !== null;
}

function findFile(dir: string, sub: string, base: string): string | null {
  for (const name of [`${base}.csv.gz`, `${base}.csv`]) {
    const p = join(dir, sub, name);
    if (existsSync(p) && statSync(p).isFile()) return p;
  }
  return null;
}

/** The file `sub/base.csv[.gz]` of an OGB directory; `required` false: null when absent. */
function ogbFile(dir: string, display: string, sub: string, base: string, required: true): CsvFile;
function ogbFile(dir: string, display: string, sub: string, base: string, required: false): CsvFile | null;
function ogbFile(dir: string, display: string, sub: string, base: string, required: boolean): CsvFile | null {
  const path = findFile(dir, sub, base);
  if (path === null) {
    if (!required) return null;
    throw new InputError(
      `${join(display, sub, base)}.csv.gz: file not found; an OGB node-property directory needs raw/edge.csv.gz, raw/node-feat.csv.gz and raw/node-label.csv.gz`,
    );
  }
  return { path, display: join(display, sub, path.slice(path.lastIndexOf('/') + 1)), gzip: path.endsWith('.gz') };
}

/** A canonical non-negative integer below `limit`, or undefined. */
function parseIndex(text: string, limit: number): number | undefined {
  if (!/^\d+$/.test(text)) return undefined;
  const v = Number(text);
  return v < limit ? v : undefined;
}

function parseNumber(file: CsvFile, row: CsvRow, k: number): number {
  const text = row.fields[k];
  const v = text === '' ? NaN : Number(text);
  if (!Number.isFinite(Math.fround(v))) {
    failAt(file, row.line, `column ${k + 1} "${text}" is not a finite number; every value must be a decimal number`);
  }
  return v;
}

/** Rows of numbers, all as wide as the first: a row-major matrix. */
async function readMatrix(file: CsvFile, rowIs: 'node' | 'edge'): Promise<{ rows: number; cols: number; values: Float32Array }> {
  const values = new GrowableFloat32(1 << 16);
  let cols = -1;
  let rows = 0;
  for await (const batch of readCsv(file)) {
    for (const row of batch) {
      if (cols < 0) cols = row.fields.length;
      if (row.fields.length !== cols) {
        failAt(file, row.line, `expected ${cols} values (as on line 1), found ${row.fields.length}; every row needs the same number of columns`);
      }
      for (let k = 0; k < cols; k++) values.push(parseNumber(file, row, k));
      rows++;
    }
  }
  if (rows === 0) throw new InputError(`${file.display}: file is empty; it needs one row per ${rowIs}`);
  return { rows, cols, values: values.toArray() };
}

async function readEdgeIndex(file: CsvFile, n: number): Promise<{ source: Int32Array; target: Int32Array }> {
  const source = new GrowableInt32(1 << 16);
  const target = new GrowableInt32(1 << 16);
  for await (const batch of readCsv(file)) {
    for (const row of batch) {
      if (row.fields.length !== 2) failAt(file, row.line, `expected 2 fields (source,target node indices), found ${row.fields.length}; fix the row`);
      for (const k of [0, 1]) {
        const v = parseIndex(row.fields[k], n);
        if (v === undefined) {
          failAt(file, row.line, `${k === 0 ? 'source' : 'target'} "${row.fields[k]}" is not a node index in 0..${n - 1} (raw/node-feat has ${n} rows); fix the edge`);
        }
        (k === 0 ? source : target).push(v);
      }
    }
  }
  return { source: source.toArray(), target: target.toArray() };
}

async function readLabels(file: CsvFile, n: number): Promise<Int32Array> {
  const labels = new Int32Array(n).fill(-1);
  let i = 0;
  for await (const batch of readCsv(file)) {
    for (const row of batch) {
      if (row.fields.length !== 1) {
        failAt(file, row.line, `expected 1 class index per row, found ${row.fields.length}; multi-label tasks (e.g. ogbn-proteins) are not supported`);
      }
      if (i >= n) failAt(file, row.line, `more rows than raw/node-feat has nodes (${n}); give one label per node`);
      const text = row.fields[0];
      if (text !== '' && text.toLowerCase() !== 'nan') {
        const v = Number(text);
        if (!(Number.isInteger(v) && v >= 0 && v < 2 ** 31)) {
          failAt(file, row.line, `label "${text}" is not a class index (an integer >= 0, or nan for none); fix the row`);
        }
        labels[i] = v;
      }
      i++;
    }
  }
  if (i !== n) throw new InputError(`${file.display}: ${i} rows, but raw/node-feat has ${n} nodes; give one label per node`);
  return labels;
}

/** The one directory under split/ (OGB ships one per dataset: time, sales_ranking, ...). */
function splitName(dir: string, display: string): string | null {
  const root = join(dir, 'split');
  if (!existsSync(root)) return null;
  const names = readdirSync(root).filter((f) => statSync(join(root, f)).isDirectory()).sort();
  if (names.length > 1) {
    throw new InputError(`${join(display, 'split')}: holds ${names.length} splits (${names.join(', ')}); keep only the one to use`);
  }
  return names[0] ?? null;
}

async function readSplit(
  dir: string, display: string, name: string, labels: Int32Array, split: Uint8Array,
): Promise<void> {
  const n = labels.length;
  const seenOn = new Int32Array(n);
  const seenIn: string[] = [];
  for (const [base, code] of [['train', SPLIT_CODES.train], ['valid', SPLIT_CODES.val], ['test', SPLIT_CODES.test]] as const) {
    const file = ogbFile(dir, display, join('split', name), base, true);
    for await (const batch of readCsv(file)) {
      for (const row of batch) {
        if (row.fields.length !== 1) failAt(file, row.line, `expected 1 node index per row, found ${row.fields.length}; fix the row`);
        const i = parseIndex(row.fields[0], n);
        if (i === undefined) failAt(file, row.line, `"${row.fields[0]}" is not a node index in 0..${n - 1}; fix the row`);
        if (seenOn[i] !== 0) {
          failAt(file, row.line, `node ${i} is already in ${seenIn[i]} (line ${seenOn[i]}); a node belongs to one split`);
        }
        if (labels[i] < 0) failAt(file, row.line, `node ${i} has no label in raw/node-label; remove it from the split or label it`);
        seenOn[i] = row.line;
        seenIn[i] = file.display;
        split[i] = code;
      }
    }
  }
}

export async function loadOgbDataset(where: { name: string; dir: string; display: string }): Promise<GraphDataset> {
  const { dir, display } = where;
  // Every required file located before any is parsed, so a missing one is reported at once.
  const edgeFile = ogbFile(dir, display, 'raw', 'edge', true);
  const featFile = ogbFile(dir, display, 'raw', 'node-feat', true);
  const labelFile = ogbFile(dir, display, 'raw', 'node-label', true);
  const edgeFeatFile = ogbFile(dir, display, 'raw', 'edge-feat', false);
  const splitDir = splitName(dir, display);

  const feat = await readMatrix(featFile, 'node');
  const n = feat.rows;
  const labels = await readLabels(labelFile, n);
  const edges = await readEdgeIndex(edgeFile, n);
  const split = new Uint8Array(n).fill(SPLIT_CODES.unlabeled);
  const warnings: string[] = [];
  if (splitDir !== null) await readSplit(dir, display, splitDir, labels, split);
  else warnings.push(`${display}: no split/ directory; every node is unlabeled for training unless --split random:... assigns one`);
  if (edges.source.length === 0) warnings.push(`${edgeFile.display}: no edges; every node will only attend to itself through its self loop`);

  let maxLabel = -1;
  for (const l of labels) maxLabel = Math.max(maxLabel, l);
  const ds: GraphDataset = {
    name: where.name,
    dir,
    nodeIds: Array.from({ length: n }, (_, i) => String(i)),
    classNames: Array.from({ length: maxLabel + 1 }, (_, c) => String(c)),
    labels,
    split,
    edgeSource: edges.source,
    edgeTarget: edges.target,
    features: { kind: 'dense', numNodes: n, numFeatures: feat.cols, values: feat.values },
    warnings,
  };
  if (edgeFeatFile !== null) {
    const ef = await readMatrix(edgeFeatFile, 'edge');
    if (ef.rows !== edges.source.length) {
      throw new InputError(`${edgeFeatFile.display}: ${ef.rows} rows, but ${edgeFile.display} has ${edges.source.length} edges; give one row per edge`);
    }
    ds.edgeAttr = { dim: ef.cols, values: ef.values, names: Array.from({ length: ef.cols }, (_, k) => `e${k}`) };
  }
  return ds;
}
