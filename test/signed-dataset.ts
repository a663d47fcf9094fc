/**
 * A small planted dataset with dense signed features (class centroids plus Gaussian noise, columns
 * on scales from 0.1 to 10 with small offsets of either sign, like standardised measurements or
 * embeddings: columns centred near 0), generated from a seed: rows sum to anything, zero included, which is what row
 * normalisation must not be applied to. Homophilous edges: three same-class neighbours, one random.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface SignedDatasetOptions {
  classes?: number;
  perClass?: number;
  features?: number;
  /** Noise standard deviation around the class centroid (before column scaling). */
  noise?: number;
  /**
   * Column scales: spread over 0.1..10 (mixed, the default), all 1 (unit), or like principal
   * components (pca: the `signal` leading columns at scale 10 carry the classes, the rest is noise
   * at scales 1 down to 0.1).
   */
  scales?: 'mixed' | 'unit' | 'pca';
  /** With scales pca: how many leading columns carry the class centroids (default 4). */
  signal?: number;
  seed?: number;
}

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) + 0.5) / 2 ** 32;
}

export function writeSignedDataset(dir: string, o: SignedDatasetOptions = {}): void {
  const C = o.classes ?? 3;
  const per = o.perClass ?? 100;
  const F = o.features ?? 16;
  const noise = o.noise ?? 1.5;
  const rand = lcg(o.seed ?? 7);
  const gauss = (): number => Math.sqrt(-2 * Math.log(rand())) * Math.cos(2 * Math.PI * rand());
  const signal = o.scales === 'pca' ? (o.signal ?? 4) : F;
  const centroid = Array.from({ length: C }, () => Array.from({ length: F }, (_, j) => (j < signal ? gauss() : 0)));
  const scale = Array.from({ length: F }, (_, j) => {
    if (o.scales === 'unit') return 1;
    if (o.scales === 'pca') return j < signal ? 10 : 10 ** (-(j - signal) / Math.max(1, F - signal - 1));
    return 10 ** (-1 + (2 * j) / Math.max(1, F - 1));
  });
  const offset = Array.from({ length: F }, (_, j) => 0.2 * gauss() * scale[j]);
  const n = C * per;
  const cls = (i: number): number => Math.floor(i / per);
  const split = (k: number): string => (k < 20 ? 'train' : k < 40 ? 'val' : 'test');

  const nodes = ['id,label,split'];
  const features = ['id,' + Array.from({ length: F }, (_, j) => `f${j}`).join(',')];
  for (let i = 0; i < n; i++) {
    nodes.push(`n${i},c${cls(i)},${split(i % per)}`);
    const row = centroid[cls(i)].map((m, j) => ((m + noise * gauss()) * scale[j] + offset[j]).toFixed(4));
    features.push(`n${i},${row.join(',')}`);
  }
  const edges = ['source,target'];
  for (let i = 0; i < n; i++) {
    for (let e = 0; e < 4; e++) {
      const j = e < 3 ? cls(i) * per + Math.floor(rand() * per) : Math.floor(rand() * n);
      if (j !== i) edges.push(`n${i},n${j}`, `n${j},n${i}`);
    }
  }
  writeFileSync(join(dir, 'nodes.csv'), nodes.join('\n') + '\n');
  writeFileSync(join(dir, 'edges.csv'), edges.join('\n') + '\n');
  writeFileSync(join(dir, 'features.csv'), features.join('\n') + '\n');
}
