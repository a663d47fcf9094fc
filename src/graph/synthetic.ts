/**
 * Seeded synthetic graphs for benchmarks and scaling sweeps: E = N * avgDegree directed edges,
 * sources uniform, destinations either uniform or skewed so in-degrees follow a power law
 * (node rank r gets in-edges with density ~ r^-(1 - 1/skew); skew 3 puts thousands of in-edges on
 * the first nodes of a 10^5-node graph).
 */
import { Prng } from '../util/prng.js';

export type DegreeDistribution = 'uniform' | 'power-law';

export interface SyntheticGraphOptions {
  numNodes: number;
  avgDegree: number;
  distribution: DegreeDistribution;
  /** Power-law skew (> 1); larger is more skewed. */
  skew?: number;
  seed: number;
}

export interface SyntheticGraph {
  numNodes: number;
  source: Int32Array;
  target: Int32Array;
}

export function syntheticGraph(o: SyntheticGraphOptions): SyntheticGraph {
  const rng = new Prng(o.seed);
  const numEdges = Math.round(o.numNodes * o.avgDegree);
  const source = new Int32Array(numEdges);
  const target = new Int32Array(numEdges);
  const skew = o.skew ?? 3;
  for (let k = 0; k < numEdges; k++) {
    source[k] = rng.int(o.numNodes);
    target[k] = o.distribution === 'uniform'
      ? rng.int(o.numNodes)
      : Math.min(o.numNodes - 1, Math.floor(o.numNodes * Math.pow(rng.uniform(), skew)));
  }
  return { numNodes: o.numNodes, source, target };
}

/** Dense N x F standard-normal features. */
export function syntheticFeatures(numNodes: number, numFeatures: number, seed: number): Float32Array {
  const rng = new Prng(seed);
  const x = new Float32Array(numNodes * numFeatures);
  for (let i = 0; i < x.length; i++) x[i] = rng.normal(0, 1);
  return x;
}

/** Labels uniform in [0, numClasses). */
export function syntheticLabels(numNodes: number, numClasses: number, seed: number): Int32Array {
  const rng = new Prng(seed);
  const y = new Int32Array(numNodes);
  for (let i = 0; i < numNodes; i++) y[i] = rng.int(numClasses);
  return y;
}
