/**
 * Reads nodes.csv (`id,label,split`): fixes the node order (index = row order), maps the user's label
 * strings to class indices and checks that every node that is trained or scored on has a label.
 */
import { InputError } from '../util/errors.js';
import { checkHeader, checkWidth, failAt, readCsv, type CsvFile } from './csv.js';
import { SPLIT_CODES, SPLITS, type Split } from './dataset.js';

export const NODE_COLUMNS = ['id', 'label', 'split'];

export interface NodeTable {
  ids: string[];
  /** User id -> node index. */
  index: Map<string, number>;
  /** Same as index.get, but fast when the ids are just "0".."N-1" in order (see nodeLookup). */
  lookup: (id: string) => number | undefined;
  /** Line of nodes.csv each node was read from (for messages about a node later on). */
  lines: Int32Array;
  labels: Int32Array;
  classNames: string[];
  split: Uint8Array;
}

export async function readNodes(file: CsvFile): Promise<NodeTable> {
  const ids: string[] = [];
  const index = new Map<string, number>();
  const lineOf: number[] = [];
  const labelText: string[] = [];
  const splitCodes: number[] = [];
  let sawHeader = false;

  for await (const batch of readCsv(file)) {
    for (const row of batch) {
      if (!sawHeader) {
        checkHeader(file, row, NODE_COLUMNS);
        sawHeader = true;
        continue;
      }
      checkWidth(file, row, NODE_COLUMNS);
      const [id, label, splitText] = row.fields as [string, string, string];
      if (id === '') failAt(file, row.line, 'node id is empty; give every node an id');
      const earlier = index.get(id);
      if (earlier !== undefined) {
        failAt(file, row.line, `node id "${id}" is already used on line ${lineOf[earlier]}; node ids must be unique`);
      }
      // Checked against the list rather than looked up, so "constructor" & co. are not accepted.
      const splitName = splitText.toLowerCase() as Split;
      if (!SPLITS.includes(splitName)) {
        failAt(file, row.line, `split "${splitText}" is not one of ${SPLITS.join(', ')}; use one of those`);
      }
      const code = SPLIT_CODES[splitName];
      if (label === '' && code !== SPLIT_CODES.unlabeled) {
        failAt(
          file,
          row.line,
          `node "${id}" is in split ${SPLITS[code]} but has no label; give it a label or set its split to unlabeled`,
        );
      }
      index.set(id, ids.length);
      ids.push(id);
      lineOf.push(row.line);
      labelText.push(label);
      splitCodes.push(code);
    }
  }
  if (!sawHeader) failAt(file, 1, `file is empty; the first line must be "${NODE_COLUMNS.join(',')}"`);
  if (ids.length === 0) throw new InputError(`${file.display}: no nodes after the header; add one row per node`);

  const classNames = orderClasses(labelText);
  const classOf = new Map(classNames.map((name, k) => [name, k]));
  const labels = new Int32Array(ids.length);
  for (let i = 0; i < ids.length; i++) labels[i] = labelText[i] === '' ? -1 : classOf.get(labelText[i])!;

  return {
    ids,
    index,
    lookup: nodeLookup(ids, index),
    lines: Int32Array.from(lineOf),
    labels,
    classNames,
    split: Uint8Array.from(splitCodes),
  };
}

/**
 * Class order: numeric when every label is an integer (so label "3" is class 3 in Cora, and
 * "2","10" sort as numbers), else order of first appearance, which is stable for a given file.
 */
export function orderClasses(labels: string[]): string[] {
  const distinct: string[] = [];
  const seen = new Set<string>();
  for (const l of labels) {
    if (l !== '' && !seen.has(l)) {
      seen.add(l);
      distinct.push(l);
    }
  }
  if (distinct.length > 0 && distinct.every((l) => /^[+-]?\d+$/.test(l))) {
    // Sort is stable, so "3" and "03" (equal numbers, different labels) keep first-seen order.
    distinct.sort((a, b) => Number(a) - Number(b));
  }
  return distinct;
}

/**
 * Id -> index lookup. When the ids are "0", "1", ... "N-1" in order (as in Planetoid and OGB
 * exports), the index is the id read as a decimal number: parsing it is about twice as fast as
 * hashing a fresh string for Map.get, which dominates reading a large edge list.
 */
export function nodeLookup(ids: string[], index: Map<string, number>): (id: string) => number | undefined {
  for (let i = 0; i < ids.length; i++) if (ids[i] !== String(i)) return (id) => index.get(id);
  const n = ids.length;
  return (id) => {
    const len = id.length;
    // Canonical decimal only ("07" and "" are not ids here), and short enough to stay exact.
    if (len === 0 || len > 15 || (len > 1 && id.charCodeAt(0) === 48)) return undefined;
    let v = 0;
    for (let k = 0; k < len; k++) {
      const d = id.charCodeAt(k) - 48;
      if (d < 0 || d > 9) return undefined;
      v = v * 10 + d;
    }
    return v < n ? v : undefined;
  };
}
