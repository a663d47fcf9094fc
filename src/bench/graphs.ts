/** The graphs `gatv2 bench` runs on: a dataset as training sees it, or a seeded synthetic graph. */
import { loadDataset } from '../store/load.js';
import { buildLayout } from '../graph/layout.js';
import { syntheticFeatures, syntheticGraph, syntheticLabels, type DegreeDistribution } from '../graph/synthetic.js';
import { prepareData } from '../data/prepare.js';
import type { BenchGraph } from './step-bench.js';

export async function datasetBenchGraph(name: string): Promise<BenchGraph> {
  const d = prepareData(await loadDataset(name), { normalizeFeatures: true, addSelfLoops: true });
  return {
    label: d.dataset.name,
    layout: d.layout,
    features: d.features,
    labels: d.dataset.labels,
    numClasses: d.numClasses,
    lossNodes: d.splits.train,
  };
}

export interface SyntheticBenchOptions {
  numNodes: number;
  avgDegree: number;
  numFeatures: number;
  numClasses: number;
  distribution: DegreeDistribution;
  seed: number;
}

export function syntheticBenchGraph(o: SyntheticBenchOptions): BenchGraph {
  const g = syntheticGraph({ numNodes: o.numNodes, avgDegree: o.avgDegree, distribution: o.distribution, seed: o.seed });
  const layout = buildLayout(g.numNodes, g.source, g.target, { addSelfLoops: true });
  const labels = syntheticLabels(o.numNodes, o.numClasses, o.seed + 1);
  // The loss over every node: the step then does the same work whatever the split.
  const lossNodes = Int32Array.from({ length: o.numNodes }, (_, i) => i);
  return {
    label: `synthetic N=${o.numNodes} E=${g.source.length} ${o.distribution}`,
    layout,
    features: { kind: 'dense', numNodes: o.numNodes, numFeatures: o.numFeatures, values: syntheticFeatures(o.numNodes, o.numFeatures, o.seed + 2) },
    labels,
    numClasses: o.numClasses,
    lossNodes,
  };
}
