/**
 * Reads edges.csv (`source,target`) into two index arrays, in file order. Duplicates and self loops
 * are kept: what to do with them is the model's rule (GATv2 drops and re-adds self loops), and
 * `datasets inspect` reports them.
 */
import { checkHeader, checkWidth, failAt, readCsv, type CsvFile } from './csv.js';
import { GrowableInt32 } from './growable.js';
import type { NodeTable } from './nodes.js';

export const EDGE_COLUMNS = ['source', 'target'];

export interface EdgeList {
  source: Int32Array;
  target: Int32Array;
  warnings: string[];
}

export async function readEdges(file: CsvFile, nodes: Pick<NodeTable, 'lookup'>, nodesDisplay: string): Promise<EdgeList> {
  const source = new GrowableInt32(1 << 14);
  const target = new GrowableInt32(1 << 14);
  const lookup = nodes.lookup;
  let sawHeader = false;

  for await (const batch of readCsv(file)) {
    for (const row of batch) {
      if (!sawHeader) {
        checkHeader(file, row, EDGE_COLUMNS);
        sawHeader = true;
        continue;
      }
      checkWidth(file, row, EDGE_COLUMNS);
      const s = lookup(row.fields[0]);
      if (s === undefined) unknownNode(file, row.line, 'source', row.fields[0], nodesDisplay);
      const t = lookup(row.fields[1]);
      if (t === undefined) unknownNode(file, row.line, 'target', row.fields[1], nodesDisplay);
      source.push(s);
      target.push(t);
    }
  }
  if (!sawHeader) failAt(file, 1, `file is empty; the first line must be "${EDGE_COLUMNS.join(',')}"`);

  const warnings: string[] = [];
  if (source.length === 0) {
    warnings.push(`${file.display}: no edges; every node will only attend to itself through its self loop`);
  }
  return { source: source.toArray(), target: target.toArray(), warnings };
}

function unknownNode(file: CsvFile, line: number, column: string, id: string, nodesDisplay: string): never {
  failAt(file, line, `${column} "${id}" is not a node id in ${nodesDisplay}; add it there or remove the edge`);
}
