#!/usr/bin/env node
// Writes a seeded synthetic graph in the dataset CSV layout (nodes.csv, edges.csv, features.csv
// with dense features), for measuring `gatv2 convert` and mini-batch training at scale:
//   node scripts/make-synthetic-csv.mjs --nodes 2449029 --avg-degree 25.3 --features 100 --classes 47 --out DIR
// Needs `npm run build` first (it uses the generators in dist/). Output is streamed in chunks,
// never held as one string. Splits: 8% train, 2% val, the rest test (ogbn-products' proportions
// are 8/1.6/90). Power-law in-degrees (src/graph/synthetic.ts) unless --uniform.
import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Prng } from '../dist/src/util/prng.js';

const { values: a } = parseArgs({
  options: {
    nodes: { type: 'string' }, 'avg-degree': { type: 'string' }, features: { type: 'string', default: '100' },
    classes: { type: 'string', default: '47' }, out: { type: 'string' }, seed: { type: 'string', default: '1' },
    uniform: { type: 'boolean', default: false },
  },
});
if (!a.nodes || !a['avg-degree'] || !a.out) {
  console.error('usage: make-synthetic-csv.mjs --nodes N --avg-degree D [--features F] [--classes K] [--seed S] [--uniform] --out DIR');
  process.exit(2);
}
const N = Number(a.nodes), D = Number(a['avg-degree']), F = Number(a.features), K = Number(a.classes), seed = Number(a.seed);
const E = Math.round(N * D);
mkdirSync(a.out, { recursive: true });

function writer(file) {
  const fd = openSync(join(a.out, file), 'w');
  let buf = [];
  let size = 0;
  return {
    line(s) {
      buf.push(s);
      size += s.length;
      if (size > 1 << 22) this.flush();
    },
    flush() {
      writeSync(fd, buf.join('\n') + '\n');
      buf = [];
      size = 0;
    },
    close() {
      if (buf.length) this.flush();
      closeSync(fd);
    },
  };
}

const rng = new Prng(seed);
const t0 = Date.now();
const nodes = writer('nodes.csv');
nodes.line('id,label,split');
for (let i = 0; i < N; i++) {
  const u = rng.uniform();
  nodes.line(`${i},${rng.int(K)},${u < 0.08 ? 'train' : u < 0.1 ? 'val' : 'test'}`);
}
nodes.close();

const edges = writer('edges.csv');
edges.line('source,target');
for (let k = 0; k < E; k++) {
  const s = rng.int(N);
  const t = a.uniform ? rng.int(N) : Math.min(N - 1, Math.floor(N * Math.pow(rng.uniform(), 3)));
  edges.line(`${s},${t}`);
}
edges.close();

const feats = writer('features.csv');
feats.line(['id', ...Array.from({ length: F }, (_, c) => `f${c}`)].join(','));
const row = new Array(F);
for (let i = 0; i < N; i++) {
  // Non-negative, as bag-of-words or counts: the GAT recipe divides each row by its sum.
  for (let c = 0; c < F; c++) row[c] = rng.uniform().toFixed(3);
  feats.line(`${i},${row.join(',')}`);
}
feats.close();
console.error(`wrote ${N} nodes, ${E} edges, ${F} features, ${K} classes to ${a.out} in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
