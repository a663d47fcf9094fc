/**
 * Entry point of the dataset layer: turns a built-in name ('cora', 'citeseer') or a directory into
 * a validated GraphDataset. Either everything loads or an InputError is thrown; nothing partial.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { InputError } from '../util/errors.js';
import { findCsv, type CsvFile } from '../data/csv.js';
import type { GraphDataset } from '../data/dataset.js';
import { readEdges } from '../data/edges.js';
import type { LoadProgress, LoadPhase } from '../data/load-progress.js';
import { readFeatures } from '../data/features.js';
import { readNodes } from '../data/nodes.js';
import { isOgbDir, loadOgbDataset } from '../data/ogb.js';
import { isStore, loadStore } from './read.js';

/** Datasets shipped in the package's datasets/ directory. */
export const BUILTIN_DATASETS: string[] = ['cora', 'citeseer'];

let cachedRoot: string | undefined;

/**
 * The package root (the directory holding gatv2's package.json). Found by walking up from this
 * module because the depth differs between compiled code (dist/src/data/) and sources (src/data/).
 */
export function packageRoot(): string {
  if (cachedRoot !== undefined) return cachedRoot;
  const start = dirname(fileURLToPath(import.meta.url));
  for (let dir = start; ; dir = dirname(dir)) {
    if (isOurPackage(join(dir, 'package.json'))) return (cachedRoot = dir);
    if (dirname(dir) === dir) break;
  }
  throw new Error(`cannot find gatv2's package.json above ${start}`);
}

function isOurPackage(file: string): boolean {
  if (!existsSync(file)) return false;
  try {
    return (JSON.parse(readFileSync(file, 'utf8')) as { name?: unknown }).name === 'gatv2';
  } catch {
    return false;
  }
}

/** Directory of a built-in dataset. */
export function builtinDir(name: string): string {
  return join(packageRoot(), 'datasets', name);
}

export interface ResolvedDataset {
  name: string;
  dir: string;
  /** How the directory is named in messages: as the user wrote it, or datasets/<name>. */
  display: string;
  builtin: boolean;
}

/**
 * A built-in name wins over a same-named directory in the working directory, so `cora` always
 * means the shipped Cora; write `./cora` for a local one.
 */
export function resolveDataset(nameOrPath: string): ResolvedDataset {
  const lower = nameOrPath.toLowerCase();
  if (BUILTIN_DATASETS.includes(lower)) {
    return { name: lower, dir: builtinDir(lower), display: join('datasets', lower), builtin: true };
  }
  const dir = resolve(nameOrPath);
  if (!existsSync(dir)) {
    throw new InputError(
      `${nameOrPath}: no such directory, and not a built-in dataset (${BUILTIN_DATASETS.join(', ')}); give a directory holding nodes.csv, edges.csv and features.csv`,
    );
  }
  if (!statSync(dir).isDirectory()) {
    throw new InputError(`${nameOrPath}: is a file; give the directory holding nodes.csv, edges.csv and features.csv`);
  }
  return { name: basename(dir), dir, display: nameOrPath, builtin: false };
}

/** The dataset; `progress` is told of each file as it is read (see load-progress.ts). */
export async function loadDataset(nameOrPath: string, progress?: LoadProgress): Promise<GraphDataset> {
  const where = resolveDataset(nameOrPath);
  // A binary store (gatv2 convert) loads by positional reads, no parsing.
  if (isStore(where.dir)) return loadStore(where.dir, where.display);
  if (isOgbDir(where.dir)) return loadOgbDataset(where);
  // Locate all three files before parsing any, so a missing one is reported at once.
  const nodesFile = findCsv(where.dir, where.display, 'nodes');
  const edgesFile = findCsv(where.dir, where.display, 'edges');
  const featuresFile = findCsv(where.dir, where.display, 'features');
  const nodesName = basename(nodesFile.display);

  const track = (phase: LoadPhase, file: CsvFile): void => {
    if (progress === undefined) return;
    progress.start(phase, file.display, statSync(file.path).size);
    file.onRead = (bytes) => progress.advance(bytes);
  };
  track('nodes', nodesFile);
  const nodes = await readNodes(nodesFile);
  progress?.end(nodes.ids.length, 'nodes');
  track('edges', edgesFile);
  const edges = await readEdges(edgesFile, nodes, nodesName);
  progress?.end(edges.source.length, 'edges');
  track('features', featuresFile);
  const feats = await readFeatures(featuresFile, nodes, nodesName);
  const f = feats.features;
  progress?.end(f.kind === 'sparse' ? f.colIdx.length : f.numNodes, f.kind === 'sparse' ? 'feature values' : 'feature rows');

  const ds: GraphDataset = {
    name: where.name,
    dir: where.dir,
    nodesFile: nodesFile.display,
    nodeIds: nodes.ids,
    classNames: nodes.classNames,
    labels: nodes.labels,
    split: nodes.split,
    edgeSource: edges.source,
    edgeTarget: edges.target,
    features: feats.features,
    warnings: [...edges.warnings],
  };
  if (feats.featureNames !== undefined) ds.featureNames = feats.featureNames;
  if (edges.edgeAttr !== undefined) ds.edgeAttr = edges.edgeAttr;
  return ds;
}
