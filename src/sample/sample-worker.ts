/**
 * The sampler's worker thread (prefetch.ts): opens the store, then for each request samples the
 * batch's blocks and reads its feature rows, and posts them back, transferring the arrays.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { StoreReader } from '../store/read.js';
import { storeFeatures } from '../store/features.js';
import { StoreAdjacency } from './adjacency.js';
import type { WorkerSetup } from './prefetch.js';
import { NeighborSampler } from './sampler.js';

const setup = workerData as WorkerSetup;
const reader = new StoreReader(setup.dir, setup.display);
const sampler = new NeighborSampler(new StoreAdjacency(reader), { fanouts: setup.fanouts, addSelfLoops: setup.addSelfLoops });
const features = storeFeatures(reader, { normalization: setup.normalization });

parentPort!.on('message', (m: { key: number; batch: Int32Array; seed: number }) => {
  try {
    const t = performance.now();
    const sampled = sampler.sample(m.batch, m.seed);
    const rows = features.rows(sampled.blocks[0]!.srcNodes);
    const ms = performance.now() - t;
    const transfer: ArrayBuffer[] = [];
    for (const b of sampled.blocks) {
      const l = b.layout;
      for (const a of [b.srcNodes, l.rowPtr, l.csrSrc, l.csrDst, l.csrToEdgeId, l.srcPtr, l.srcOrder, l.inputEdgeOf]) transfer.push(a.buffer as ArrayBuffer);
    }
    for (const a of rows.kind === 'dense' ? [rows.values] : [rows.rowPtr, rows.colIdx, rows.values]) transfer.push(a.buffer as ArrayBuffer);
    parentPort!.postMessage({ key: m.key, batch: sampled.batch, blocks: sampled.blocks, rows, ms }, [...new Set(transfer)]);
  } catch (err) {
    parentPort!.postMessage({ key: m.key, error: (err as Error).message });
  }
});
