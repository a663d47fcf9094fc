/**
 * What every run of a session reads its graph through: the whole graph on the backend (full
 * batch, and the diagnostics), the mini-batch plan (--batch-size), and the layer-wise evaluation
 * of a store.
 */
import type * as tf from '@tensorflow/tfjs-core';
import { createNetworkInputs, type NetworkConfig, type NetworkInputs } from '../model/network.js';
import { MemoryAdjacency, type InAdjacency } from '../sample/adjacency.js';
import { storeSamplerWorker, workerAvailable } from '../sample/prefetch.js';
import { memoryFeatures, type FeatureSource } from '../store/features.js';
import type { ResolvedDataset } from '../store/load.js';
import { isStore } from '../store/read.js';
import type { TrainConfig } from './config.js';
import { resolveFanouts, type MiniBatchPlan } from './minibatch.js';
import type { NodeScores } from './node-scores.js';
import type { SessionData } from './session-data.js';
import { storeEvaluator, type TrainData } from './store-data.js';

export interface SessionInputs {
  inputs?: NetworkInputs;
  miniBatch?: MiniBatchPlan;
  evaluate?: (params: Record<string, tf.Tensor>) => Promise<NodeScores>;
  /** Frees the inputs and stops the sampler worker (not the session data). */
  close(): Promise<void>;
}

/** What mini-batch training samples from: the loaded graph's in-edges and features. */
function miniBatchPlan(config: TrainConfig, data: TrainData, net: NetworkConfig, adjacency: InAdjacency, features: FeatureSource): MiniBatchPlan {
  return {
    batchSize: config.batchSize!,
    fanouts: resolveFanouts(config.fanout!, net.layers.length),
    adjacency,
    features,
    labels: data.dataset.labels,
    numClasses: data.numClasses,
    trainNodes: data.splits.train,
    addSelfLoops: config.model.addSelfLoops,
  };
}

function miniBatchOf(config: TrainConfig, d: SessionData, net: NetworkConfig, where: ResolvedDataset): MiniBatchPlan | undefined {
  if (config.batchSize === undefined) return undefined;
  const { fromFiles, whole } = d;
  if (!fromFiles) return miniBatchPlan(config, d.trainData, net, MemoryAdjacency.fromDataset(whole!.dataset), memoryFeatures(whole!.prepared.features));
  return {
    ...miniBatchPlan(config, d.trainData, net, fromFiles.adjacency, fromFiles.features),
    // A worker thread samples and reads the next batches while the step runs.
    ...(workerAvailable() ? {
      source: storeSamplerWorker({
        dir: where.dir, display: where.display, fanouts: resolveFanouts(config.fanout!, net.layers.length),
        addSelfLoops: config.model.addSelfLoops, normalization: d.normalization,
      }),
    } : {}),
  };
}

export function sessionInputs(config: TrainConfig, d: SessionData, net: NetworkConfig, where: ResolvedDataset): SessionInputs {
  const { fromFiles, whole } = d;
  const inputs = whole ? createNetworkInputs(whole.prepared.features, whole.prepared.layout, whole.prepared.dataset.edgeAttr) : undefined;
  const miniBatch = miniBatchOf(config, d, net, where);
  const labels = d.trainData.dataset.labels;
  // On a store, evaluation is layer-wise (as evaluate and predict on it): exact, and bounded.
  const evaluate = !isStore(where.dir) ? undefined
    : fromFiles ? storeEvaluator(fromFiles.adjacency, fromFiles.features, net, labels, { spill: true })
    : storeEvaluator(MemoryAdjacency.fromDataset(whole!.dataset), memoryFeatures(whole!.prepared.features), net, labels, { spill: false });
  return {
    ...(inputs ? { inputs } : {}), ...(miniBatch ? { miniBatch } : {}), ...(evaluate ? { evaluate } : {}),
    async close() {
      inputs?.dispose();
      await miniBatch?.source?.close();
    },
  };
}
