/**
 * Where a mini-batch's sampled blocks and feature rows come from. In the training thread
 * (sampleInThread), or from a worker thread reading a store's files (StoreSamplerWorker): the
 * worker samples and reads batches ahead, up to `depth` in flight, while the training thread runs
 * steps, so a step waits for sampling only when sampling is slower than the step. Both do the
 * same computation from the same seeds, so the batches are the same bit for bit.
 */
import type { FeatureNormalization } from '../data/feature-normalization.js';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { DenseFeatures, SparseFeatures } from '../data/dataset.js';
import type { FeatureSource } from '../store/features.js';
import type { InAdjacency } from './adjacency.js';
import { NeighborSampler, type Block, type SampledBatch } from './sampler.js';

export interface PreparedBatch {
  sampled: SampledBatch;
  /** Feature rows of the first block's sources. */
  rows: SparseFeatures | DenseFeatures;
  /** Time the sampler spent on this batch (in whichever thread ran it). */
  ms: number;
}

export interface BatchSource {
  /** Asks for batch `key` (its nodes and sampling seed); results come back by get(key). */
  request(key: number, batch: Int32Array, seed: number): void;
  get(key: number): Promise<PreparedBatch>;
  close(): Promise<void>;
}

export interface SamplerSetup {
  fanouts: number[];
  addSelfLoops: boolean;
}

/** Sampling in the calling thread, when asked for (get). */
export function sampleInThread(adjacency: InAdjacency, features: FeatureSource, setup: SamplerSetup): BatchSource {
  const sampler = new NeighborSampler(adjacency, setup);
  const pending = new Map<number, { batch: Int32Array; seed: number }>();
  return {
    request(key, batch, seed) {
      pending.set(key, { batch, seed });
    },
    async get(key) {
      const p = pending.get(key);
      if (!p) throw new Error(`batch ${key} was not requested`);
      pending.delete(key);
      const t = performance.now();
      const sampled = sampler.sample(p.batch, p.seed);
      const rows = features.rows(sampled.blocks[0]!.srcNodes);
      return { sampled, rows, ms: performance.now() - t };
    },
    async close() {},
  };
}

/** What the worker is started with (workerData). */
export interface WorkerSetup extends SamplerSetup {
  dir: string;
  display: string;
  /** The run's resolved feature transform (plain data: it crosses to the worker as workerData). */
  normalization: FeatureNormalization;
}

const WORKER_FILE = fileURLToPath(new URL('./sample-worker.js', import.meta.url));

/** Whether the worker's module exists next to this one (not in a single-file bundle). */
export function workerAvailable(): boolean {
  return existsSync(WORKER_FILE);
}

/** Sampling in a worker thread that opens the store itself (nothing large crosses threads but results). */
export function storeSamplerWorker(setup: WorkerSetup): BatchSource {
  const worker = new Worker(WORKER_FILE, { workerData: setup });
  const waiting = new Map<number, { resolve: (b: PreparedBatch) => void; reject: (e: Error) => void }>();
  const done = new Map<number, PreparedBatch>();
  let failure: Error | null = null;
  worker.on('message', (m: { key: number; blocks: Block[]; batch: Int32Array; rows: SparseFeatures | DenseFeatures; ms: number } | { key: number; error: string }) => {
    if ('error' in m) {
      const e = new Error(`sampler worker: ${m.error}`);
      const w = waiting.get(m.key);
      if (w) {
        waiting.delete(m.key);
        w.reject(e);
      } else failure = e;
      return;
    }
    const b: PreparedBatch = { sampled: { batch: m.batch, blocks: m.blocks }, rows: m.rows, ms: m.ms };
    const w = waiting.get(m.key);
    if (w) {
      waiting.delete(m.key);
      w.resolve(b);
    } else done.set(m.key, b);
  });
  worker.on('error', (e) => {
    failure = e;
    for (const w of waiting.values()) w.reject(e);
    waiting.clear();
  });
  return {
    request(key, batch, seed) {
      worker.postMessage({ key, batch, seed });
    },
    get(key) {
      if (failure) return Promise.reject(failure);
      const b = done.get(key);
      if (b) {
        done.delete(key);
        return Promise.resolve(b);
      }
      return new Promise((resolve, reject) => waiting.set(key, { resolve, reject }));
    },
    async close() {
      await worker.terminate();
    },
  };
}
