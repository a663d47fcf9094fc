/**
 * Structural summary of a dataset for `gatv2 datasets` and `datasets inspect`: sizes, splits, and the
 * graph properties that matter to attention (self loops, duplicates, isolated nodes, in-degrees).
 */
import { splitSizes, type GraphDataset, type Split } from './dataset.js';

export interface DegreeSummary {
  min: number;
  /** Middle value; the mean of the two middle values when the node count is even. */
  median: number;
  max: number;
  mean: number;
  /** Fraction of nodes (0..1) whose in-degree is exactly 1. */
  shareDegreeOne: number;
}

export interface DatasetStats {
  name: string;
  dir: string;
  nodes: number;
  /** Rows of edges.csv, duplicates and self loops included. */
  edges: number;
  features: number;
  featureKind: 'sparse' | 'dense';
  /** Stored non-zeros for sparse features, N*F for dense. */
  featureEntries: number;
  classes: number;
  classNames: string[];
  /** Labelled nodes per class (all splits). */
  classCounts: number[];
  /** Nodes with a label (label >= 0). */
  labelledNodes: number;
  splits: Record<Split, number>;
  /** Edge rows with source === target. */
  selfLoops: number;
  /** Edge rows repeating an earlier (source, target) pair. */
  duplicateEdges: number;
  /**
   * Nodes with no edge to or from another node. Self loops do not count as edges here (as in PyG's
   * contains_isolated_nodes): such a node only ever attends to itself.
   */
  isolatedNodes: number;
  inDegree: {
    /** Counting the edges exactly as given (self loops and duplicates included). */
    asGiven: DegreeSummary;
    /**
     * After GATv2's self-loop rule (PyG's add_self_loops): existing self loops removed, one added
     * per node. Duplicates still count, as they do in message passing.
     */
    withSelfLoops: DegreeSummary;
  };
  warnings: string[];
}

export function datasetStats(ds: GraphDataset): DatasetStats {
  const n = ds.nodeIds.length;
  const m = ds.edgeSource.length;
  const src = ds.edgeSource;
  const dst = ds.edgeTarget;

  const inAll = new Int32Array(n);
  const inNoLoops = new Int32Array(n);
  // Touched by an edge between two different nodes.
  const linked = new Uint8Array(n);
  let selfLoops = 0;
  for (let e = 0; e < m; e++) {
    const s = src[e];
    const t = dst[e];
    inAll[t]++;
    if (s === t) {
      selfLoops++;
    } else {
      inNoLoops[t]++;
      linked[s] = 1;
      linked[t] = 1;
    }
  }
  let isolatedNodes = 0;
  for (let i = 0; i < n; i++) if (linked[i] === 0) isolatedNodes++;

  const withSelfLoops = new Int32Array(n);
  for (let i = 0; i < n; i++) withSelfLoops[i] = inNoLoops[i] + 1;

  const classCounts = new Array<number>(ds.classNames.length).fill(0);
  let labelledNodes = 0;
  for (let i = 0; i < n; i++) {
    const c = ds.labels[i];
    if (c >= 0) {
      classCounts[c]++;
      labelledNodes++;
    }
  }

  const f = ds.features;
  return {
    name: ds.name,
    dir: ds.dir,
    nodes: n,
    edges: m,
    features: f.numFeatures,
    featureKind: f.kind,
    featureEntries: f.kind === 'sparse' ? f.colIdx.length : f.numNodes * f.numFeatures,
    classes: ds.classNames.length,
    classNames: ds.classNames,
    classCounts,
    labelledNodes,
    splits: splitSizes(ds),
    selfLoops,
    duplicateEdges: countDuplicates(src, dst, n),
    isolatedNodes,
    inDegree: { asGiven: summarize(inAll), withSelfLoops: summarize(withSelfLoops) },
    warnings: ds.warnings,
  };
}

/**
 * Duplicate rows = rows - distinct (source, target) pairs. Pairs are encoded as s*N+t (exact in a
 * float64 up to N ~ 9e7) and sorted, which is faster and lighter than a Set for millions of edges.
 */
export function countDuplicates(src: Int32Array, dst: Int32Array, n: number): number {
  const m = src.length;
  if (m < 2) return 0;
  const keys = new Float64Array(m);
  for (let e = 0; e < m; e++) keys[e] = src[e] * n + dst[e];
  keys.sort();
  let dup = 0;
  for (let e = 1; e < m; e++) if (keys[e] === keys[e - 1]) dup++;
  return dup;
}

export function summarize(deg: Int32Array): DegreeSummary {
  const n = deg.length;
  if (n === 0) return { min: 0, median: 0, max: 0, mean: 0, shareDegreeOne: 0 };
  const sorted = deg.slice().sort();
  const mid = n >> 1;
  const median = n % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  let sum = 0;
  let ones = 0;
  for (let i = 0; i < n; i++) {
    sum += sorted[i];
    if (sorted[i] === 1) ones++;
  }
  return { min: sorted[0], median, max: sorted[n - 1], mean: sum / n, shareDegreeOne: ones / n };
}
