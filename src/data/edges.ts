/**
 * Reads edges.csv (`source,target[,w0,w1,...]`) into two index arrays, in file order. Duplicates
 * and self loops are kept: what to do with them is the model's rule (GATv2 drops and re-adds self
 * loops), and `datasets inspect` reports them. Extra columns are edge features (PyG's edge_attr),
 * one finite number per column and row.
 */
import { checkHeader, checkWidth, failAt, readCsv, type CsvFile, type CsvRow } from './csv.js';
import type { EdgeFeatures } from './dataset.js';
import { GrowableFloat32, GrowableInt32 } from './growable.js';
import type { NodeTable } from './nodes.js';

export const EDGE_COLUMNS = ['source', 'target'];

export interface EdgeList {
  source: Int32Array;
  target: Int32Array;
  /** Present when the header has columns after source,target. */
  edgeAttr?: EdgeFeatures;
  warnings: string[];
}

/** A number from an edge-feature cell that stays finite in float32, or a one-line error. */
export function parseEdgeValue(file: CsvFile, line: number, text: string, column: string): number {
  const v = text === '' ? NaN : Number(text);
  if (!Number.isFinite(Math.fround(v))) {
    failAt(file, line, `edge feature ${column} "${text}" is not a finite number; write a decimal number such as 0.5`);
  }
  return v;
}

/** The header's extra columns (edge feature names): each must be named. */
function edgeFeatureNames(file: CsvFile, header: CsvRow): string[] {
  checkHeader(file, { fields: header.fields.slice(0, 2), line: header.line }, EDGE_COLUMNS);
  const names = header.fields.slice(2);
  names.forEach((n, k) => {
    if (n === '') failAt(file, header.line, `column ${k + 3} of the header has no name; name every edge feature column`);
  });
  return names;
}

/** Where scanEdges hands each edge as it is parsed (in file order). */
export interface EdgeSink {
  /** The header's edge-feature column names (empty for `source,target`), before any edge. */
  header(featureNames: string[]): void;
  edge(source: number, target: number): void;
  /** The edge's feature values, one call per column, after its `edge` call. */
  attr(value: number): void;
}

/** One streaming pass over edges.csv; returns the number of edges and the edge-feature names. */
export async function scanEdges(
  file: CsvFile,
  nodes: Pick<NodeTable, 'lookup'>,
  nodesDisplay: string,
  sink: EdgeSink,
): Promise<{ count: number; featureNames: string[]; warnings: string[] }> {
  const lookup = nodes.lookup;
  let sawHeader = false;
  let names: string[] = [];
  let columns = EDGE_COLUMNS;
  let count = 0;

  for await (const batch of readCsv(file)) {
    for (const row of batch) {
      if (!sawHeader) {
        names = edgeFeatureNames(file, row);
        columns = [...EDGE_COLUMNS, ...names];
        sawHeader = true;
        sink.header(names);
        continue;
      }
      checkWidth(file, row, columns);
      const s = lookup(row.fields[0]);
      if (s === undefined) unknownNode(file, row.line, 'source', row.fields[0], nodesDisplay);
      const t = lookup(row.fields[1]);
      if (t === undefined) unknownNode(file, row.line, 'target', row.fields[1], nodesDisplay);
      sink.edge(s, t);
      count++;
      for (let k = 0; k < names.length; k++) sink.attr(parseEdgeValue(file, row.line, row.fields[k + 2], names[k]));
    }
  }
  if (!sawHeader) failAt(file, 1, `file is empty; the first line must be "${EDGE_COLUMNS.join(',')}"`);

  const warnings: string[] = [];
  if (count === 0) {
    warnings.push(`${file.display}: no edges; every node will only attend to itself through its self loop`);
  }
  return { count, featureNames: names, warnings };
}

export async function readEdges(file: CsvFile, nodes: Pick<NodeTable, 'lookup'>, nodesDisplay: string): Promise<EdgeList> {
  const source = new GrowableInt32(1 << 14);
  const target = new GrowableInt32(1 << 14);
  const attr = new GrowableFloat32(1 << 14);
  const scan = await scanEdges(file, nodes, nodesDisplay, {
    header: () => {},
    edge: (s, t) => {
      source.push(s);
      target.push(t);
    },
    attr: (v) => attr.push(v),
  });
  const list: EdgeList = { source: source.toArray(), target: target.toArray(), warnings: scan.warnings };
  const names = scan.featureNames;
  if (names.length > 0) list.edgeAttr = { dim: names.length, values: attr.toArray(), names };
  return list;
}

function unknownNode(file: CsvFile, line: number, column: string, id: string, nodesDisplay: string): never {
  failAt(file, line, `${column} "${id}" is not a node id in ${nodesDisplay}; add it there or remove the edge`);
}
