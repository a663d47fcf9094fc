/**
 * Reads features.csv in either layout, told apart by the header:
 * - sparse triplets `node,feature,value` (non-zeros only, `feature` an index 0..F-1) or
 *   `node,feature_name,value` (`feature_name` any string; columns are the names in sorted order,
 *   so the row order of the file does not matter) -> CSR;
 * - dense rows `id,<name>,<name>,...` (one row per node, e.g. `id,f0,f1`) -> row-major N x F.
 * Values must be finite numbers; both layouts reject rows for unknown nodes and repeated entries.
 */
import { InputError } from '../util/errors.js';
import { checkWidth, failAt, readCsv, type CsvFile, type CsvRow } from './csv.js';
import type { DenseFeatures, SparseFeatures } from './dataset.js';
import { GrowableFloat32, GrowableInt32 } from './growable.js';
import type { NodeTable } from './nodes.js';

export const SPARSE_COLUMNS = ['node', 'feature', 'value'];
/** The sparse header whose second column holds feature names rather than indices. */
export const NAMED_SPARSE_COLUMNS = ['node', 'feature_name', 'value'];

/**
 * Most features per node. The first layer's weights alone are F x (heads * channels) floats
 * (F = the largest index + 1), twice over with Adam's moments; an index like 1e9 is a mistake
 * (or an id from another numbering) and must stop here, before anything that size is allocated.
 */
export const MAX_FEATURES = 1_000_000;

export interface FeatureTable {
  features: SparseFeatures | DenseFeatures;
  /** Present only when the file named its features (string ids, or a dense header not f0..fN). */
  featureNames?: string[];
}

export async function readFeatures(file: CsvFile, nodes: NodeTable, nodesDisplay: string): Promise<FeatureTable> {
  let values = new Float32Array(0);
  const read = await scanFeatures(file, nodes, nodesDisplay, (numFeatures) => {
    values = new Float32Array(nodes.ids.length * numFeatures);
    return { put: (node, row) => values.set(row, node * numFeatures), finish: () => {} };
  });
  if (read.kind === 'sparse') return read.table;
  const features: DenseFeatures = { kind: 'dense', numNodes: nodes.ids.length, numFeatures: read.numFeatures, values };
  return read.featureNames ? { features, featureNames: read.featureNames } : { features };
}

/**
 * Where dense rows go as they are parsed: into memory (readFeatures), or straight into a store's
 * file (store/convert-csv.ts), so an N x F matrix larger than RAM never has to be held.
 */
export interface DenseRowSink {
  /** The row of node `node`; `row` is reused for the next call, so copy what you keep. */
  put(node: number, row: Float32Array): void;
  /** Every row was given (called once, after the check that no node lacks its row). */
  finish(): void;
}

/** What a pass over features.csv found: sparse features are always gathered in memory as CSR. */
export type FeatureRead =
  | { kind: 'sparse'; table: FeatureTable }
  | { kind: 'dense'; numFeatures: number; featureNames?: string[] };

/**
 * One streaming pass over features.csv. Dense rows go to the sink `openDense` returns once the
 * header has told the number of features; sparse triplets are sorted into CSR in memory.
 */
export async function scanFeatures(
  file: CsvFile,
  nodes: NodeTable,
  nodesDisplay: string,
  openDense: (numFeatures: number) => DenseRowSink,
): Promise<FeatureRead> {
  let builder: SparseBuilder | DenseBuilder | undefined;
  for await (const batch of readCsv(file)) {
    for (const row of batch) {
      if (builder === undefined) builder = chooseLayout(file, row, nodes, nodesDisplay, openDense);
      else builder.add(row);
    }
  }
  if (builder === undefined) {
    failAt(file, 1, `file is empty; the first line must be "${SPARSE_COLUMNS.join(',')}" (sparse) or "id,f0,f1,..." (dense)`);
  }
  if (builder instanceof SparseBuilder) return { kind: 'sparse', table: builder.finish() };
  return builder.finish();
}

/** The header decides the layout. */
function chooseLayout(
  file: CsvFile,
  header: CsvRow,
  nodes: NodeTable,
  nodesDisplay: string,
  openDense: (numFeatures: number) => DenseRowSink,
): SparseBuilder | DenseBuilder {
  const names = header.fields.map((f) => f.toLowerCase());
  if (names.length === 3 && SPARSE_COLUMNS.every((c, i) => names[i] === c)) {
    return new SparseBuilder(file, nodes, nodesDisplay, false);
  }
  if (names.length === 3 && NAMED_SPARSE_COLUMNS.every((c, i) => names[i] === c)) {
    return new SparseBuilder(file, nodes, nodesDisplay, true);
  }
  if (names[0] === 'id' && names.length >= 2) return new DenseBuilder(file, header, nodes, nodesDisplay, openDense);
  failAt(
    file,
    header.line,
    `header is "${header.fields.join(',')}"; the first line must be "${SPARSE_COLUMNS.join(',')}" (sparse triplets), "${NAMED_SPARSE_COLUMNS.join(',')}" (sparse, named features) or "id,f0,f1,..." (one column per feature)`,
  );
}

/** Collects `node,feature,value` triplets, then sorts them into CSR. */
class SparseBuilder {
  private readonly tripNode = new GrowableInt32(1 << 16);
  // Feature as index into `names` (first appearance); mapped to its column once all ids are seen.
  private readonly tripFeat = new GrowableInt32(1 << 16);
  private readonly tripVal = new GrowableFloat32(1 << 16);
  private readonly tripLine = new GrowableInt32(1 << 16);
  private readonly names: string[] = [];
  private readonly nameIndex = new Map<string, number>();

  constructor(
    private readonly file: CsvFile,
    private readonly nodes: NodeTable,
    private readonly nodesDisplay: string,
    /** The header says `feature_name`: ids are names, else indices 0..F-1. */
    private readonly named: boolean,
  ) {}

  add(row: CsvRow): void {
    const file = this.file;
    checkWidth(file, row, SPARSE_COLUMNS);
    const [nodeId, featId, valueText] = row.fields as [string, string, string];
    const node = this.nodes.lookup(nodeId);
    if (node === undefined) unknownNode(file, row.line, nodeId, this.nodesDisplay);
    let f = this.nameIndex.get(featId);
    if (f === undefined) {
      this.checkNewId(featId, row.line);
      f = this.names.length;
      this.names.push(featId);
      this.nameIndex.set(featId, f);
    }
    this.tripNode.push(node);
    this.tripFeat.push(f);
    this.tripVal.push(parseValue(file, row.line, valueText));
    this.tripLine.push(row.line);
  }

  /**
   * An index must be a non-negative integer below MAX_FEATURES: anything else (2.5, -3, 1e9, a word)
   * used to turn the file into names numbered by first appearance, which changes with row order.
   */
  private checkNewId(featId: string, line: number): void {
    const { file } = this;
    if (featId === '') {
      failAt(file, line, `feature ${this.named ? 'name' : 'index'} is empty; give ${this.named ? 'a name' : 'an integer 0..F-1'}`);
    }
    if (this.named) {
      if (this.names.length === MAX_FEATURES) {
        failAt(file, line, `feature "${featId}" is name number ${MAX_FEATURES + 1}; at most ${MAX_FEATURES} features are supported`);
      }
      return;
    }
    if (!/^\d+$/.test(featId)) {
      failAt(
        file,
        line,
        `feature "${featId}" is not an index (an integer 0..F-1); number the features, or give names under the header "${NAMED_SPARSE_COLUMNS.join(',')}"`,
      );
    }
    if (Number(featId) >= MAX_FEATURES) {
      failAt(
        file,
        line,
        `feature index ${featId} is over the limit of ${MAX_FEATURES - 1} (at most ${MAX_FEATURES} features, F = the largest index + 1); number the features 0..F-1 without gaps, or give names under the header "${NAMED_SPARSE_COLUMNS.join(',')}"`,
      );
    }
  }

  finish(): FeatureTable {
    const { file } = this;
    if (this.tripNode.length === 0) {
      throw new InputError(`${file.display}: no feature rows after the header; add ${(this.named ? NAMED_SPARSE_COLUMNS : SPARSE_COLUMNS).join(',')} rows`);
    }
    // Indices are the columns themselves (F = max + 1; unused indices are all-zero columns). Names
    // are numbered in sorted order, so the file's row order does not change the columns.
    let names = this.names;
    const column = new Int32Array(names.length);
    let numFeatures = names.length;
    if (!this.named) {
      numFeatures = 0;
      for (let k = 0; k < names.length; k++) {
        column[k] = Number(names[k]);
        numFeatures = Math.max(numFeatures, column[k] + 1);
      }
    } else {
      const order = names.map((_, k) => k).sort((a, b) => (names[a] < names[b] ? -1 : names[a] > names[b] ? 1 : 0));
      order.forEach((k, rank) => (column[k] = rank));
      names = order.map((k) => names[k]);
    }
    const features = buildCsr(
      file,
      this.nodes,
      this.names,
      column,
      numFeatures,
      this.tripNode.view(),
      this.tripFeat.view(),
      this.tripVal.view(),
      this.tripLine.view(),
    );
    return this.named ? { features, featureNames: names } : { features };
  }
}

/** Counting sort of the triplets by node (stable), then per-row column sort and duplicate check. */
function buildCsr(
  file: CsvFile,
  nodes: NodeTable,
  names: string[],
  column: Int32Array,
  numFeatures: number,
  tripNode: Int32Array,
  tripFeat: Int32Array,
  tripVal: Float32Array,
  tripLine: Int32Array,
): SparseFeatures {
  const n = nodes.ids.length;
  const nnz = tripNode.length;
  const rowPtr = new Int32Array(n + 1);
  for (let k = 0; k < nnz; k++) rowPtr[tripNode[k] + 1]++;
  for (let i = 0; i < n; i++) rowPtr[i + 1] += rowPtr[i];

  const fill = rowPtr.slice(0, n);
  const colIdx = new Int32Array(nnz);
  const values = new Float32Array(nnz);
  const feat = new Int32Array(nnz);
  const lines = new Int32Array(nnz);
  for (let k = 0; k < nnz; k++) {
    const p = fill[tripNode[k]]++;
    colIdx[p] = column[tripFeat[k]];
    values[p] = tripVal[k];
    feat[p] = tripFeat[k];
    lines[p] = tripLine[k];
  }

  for (let i = 0; i < n; i++) {
    const lo = rowPtr[i];
    const hi = rowPtr[i + 1];
    let sorted = true;
    for (let p = lo + 1; p < hi; p++) {
      if (colIdx[p] <= colIdx[p - 1]) {
        sorted = false;
        break;
      }
    }
    if (sorted) continue;
    // Rows are short (tens of non-zeros), so sorting an index permutation per row is cheap.
    const order = Array.from({ length: hi - lo }, (_, j) => lo + j).sort((a, b) => colIdx[a] - colIdx[b] || lines[a] - lines[b]);
    const c = order.map((p) => colIdx[p]);
    const v = order.map((p) => values[p]);
    const f = order.map((p) => feat[p]);
    const l = order.map((p) => lines[p]);
    for (let j = 0; j < order.length; j++) {
      if (j > 0 && c[j] === c[j - 1]) {
        failAt(
          file,
          l[j],
          `node "${nodes.ids[i]}" feature "${names[f[j]]}" is already given on line ${l[j - 1]}; list each (node, feature) pair once`,
        );
      }
      colIdx[lo + j] = c[j];
      values[lo + j] = v[j];
    }
  }
  return { kind: 'sparse', numNodes: n, numFeatures, rowPtr, colIdx, values };
}

/** Passes `id,<feature columns>` rows, one per node, to a DenseRowSink. */
class DenseBuilder {
  private readonly columns: string[];
  private readonly numFeatures: number;
  private readonly sink: DenseRowSink;
  private readonly row: Float32Array;
  // Line each node's row came from; 0 while not yet seen.
  private readonly rowLine: Int32Array;

  constructor(
    private readonly file: CsvFile,
    header: CsvRow,
    private readonly nodes: NodeTable,
    private readonly nodesDisplay: string,
    openDense: (numFeatures: number) => DenseRowSink,
  ) {
    this.columns = header.fields;
    this.numFeatures = this.columns.length - 1;
    for (let j = 1; j < this.columns.length; j++) {
      if (this.columns[j] === '') {
        failAt(file, header.line, `column ${j + 1} of the header has no name; name every feature column`);
      }
    }
    this.row = new Float32Array(this.numFeatures);
    this.rowLine = new Int32Array(nodes.ids.length);
    this.sink = openDense(this.numFeatures);
  }

  add(row: CsvRow): void {
    const { file, columns, numFeatures, row: values } = this;
    checkWidth(file, row, columns);
    const id = row.fields[0];
    const node = this.nodes.lookup(id);
    if (node === undefined) unknownNode(file, row.line, id, this.nodesDisplay);
    if (this.rowLine[node] !== 0) {
      failAt(file, row.line, `node "${id}" already has a row on line ${this.rowLine[node]}; give each node one row`);
    }
    this.rowLine[node] = row.line;
    for (let j = 0; j < numFeatures; j++) values[j] = parseValue(file, row.line, row.fields[j + 1], columns[j + 1]);
    this.sink.put(node, values);
  }

  finish(): FeatureRead {
    const { nodes, numFeatures, columns } = this;
    const n = nodes.ids.length;
    for (let i = 0; i < n; i++) {
      if (this.rowLine[i] === 0) {
        throw new InputError(
          `${this.file.display}: node "${nodes.ids[i]}" (${this.nodesDisplay} line ${nodes.lines[i]}) has no row; dense features need one row per node`,
        );
      }
    }
    this.sink.finish();
    // Headers f0, f1, ... carry no information beyond the column number.
    const plainNames = columns.slice(1).every((c, j) => c.toLowerCase() === `f${j}`);
    return plainNames ? { kind: 'dense', numFeatures } : { kind: 'dense', numFeatures, featureNames: columns.slice(1) };
  }
}

/** A feature value: a finite number that stays finite in float32. */
function parseValue(file: CsvFile, line: number, text: string, column = 'value'): number {
  // Number('') is 0, so an empty field must be caught before converting.
  const v = text === '' ? NaN : Number(text);
  if (Number.isNaN(v) && !/^[+-]?nan$/i.test(text)) {
    if (/^[+-]?inf(inity)?$/i.test(text)) {
      failAt(file, line, `${column} "${text}" is infinite; features must be finite numbers`);
    }
    failAt(file, line, `${column} "${text}" is not a number; write a decimal number such as 0.5`);
  }
  if (Number.isNaN(v)) failAt(file, line, `${column} is NaN; features must be finite numbers`);
  if (!Number.isFinite(Math.fround(v))) {
    failAt(file, line, `${column} "${text}" is infinite or too large for float32; features must be finite numbers`);
  }
  return v;
}

function unknownNode(file: CsvFile, line: number, id: string, nodesDisplay: string): never {
  failAt(file, line, `node "${id}" is not a node id in ${nodesDisplay}; add it there or remove the row`);
}

