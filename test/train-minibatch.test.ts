/**
 * Mini-batch training through the session and the CLI: deterministic by seed, interrupted and
 * resumed to the same numbers, the per-epoch batch counts and timings in metrics and --json,
 * --check-grads on a batch, and the flag errors.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { EpochMetrics } from '../src/run/metrics.js';
import { loadDataset } from '../src/store/load.js';
import { infer, scoreStoreFromFiles } from '../src/train/inference.js';
import { predictionsCsv } from '../src/cli/predict.js';
import { scoreSplitOf } from '../src/train/node-scores.js';
import { writeStore } from '../src/store/write.js';
import { splitIndices } from '../src/data/dataset.js';
import { MemoryAdjacency } from '../src/sample/adjacency.js';
import { NeighborSampler } from '../src/sample/sampler.js';
import { epochBatches, resolveFanouts, sampleBatch } from '../src/train/minibatch.js';
import { trainSession } from '../src/train/session.js';
import { stopControl } from '../src/train/stop.js';
import { runCli } from './cli-helpers.js';
import { CLI_TINY, readJsonl, recorder, tinyConfig, tmpDir } from './train-helpers.js';
import { loadModel } from '../src/run/saved-model.js';

const EPOCHS = 6;
const config = tinyConfig({ epochs: EPOCHS, saveEvery: 2, batchSize: 32, fanout: [5, 3] });
const quiet = () => stopControl({ signals: false });

/** Metrics without wall times. */
const numbers = (dir: string) =>
  readJsonl<EpochMetrics>(join(dir, 'metrics.jsonl')).map(({ epochMs: _e, samplingMs: _s, samplingWaitMs: _w, stepMs: _t, ...rest }) => rest);

test('mini-batch: the same seed gives the same run; a stop and --resume give the same numbers', async () => {
  const a = tmpDir('mb-a');
  const ra = await trainSession({ config, out: a, reporter: recorder(), stop: quiet() });
  assert.ok(ra.summary);
  const ms = numbers(a);
  assert.equal(ms.length, EPOCHS);
  // 140 training nodes in batches of 32: 5 batches an epoch.
  for (const m of ms) assert.equal(m.batches, 5);
  for (const m of readJsonl<EpochMetrics>(join(a, 'metrics.jsonl'))) assert.ok(m.samplingMs! >= 0 && m.stepMs! > 0);
  assert.ok(ms[EPOCHS - 1]!.trainLoss < ms[0]!.trainLoss, 'the loss does not fall');
  // sampledEdges: every block edge of the epoch's steps, as the sampler makes them.
  const ds = await loadDataset('cora');
  const sampler = new NeighborSampler(MemoryAdjacency.fromDataset(ds), { fanouts: resolveFanouts([5, 3], 2), addSelfLoops: true });
  for (const m of ms.slice(0, 2)) {
    let edges = 0;
    epochBatches(splitIndices(ds, 'train'), 32, config.seed, m.epoch).forEach((batch, b) => {
      for (const block of sampleBatch(sampler, batch, config.seed, m.epoch, b).blocks) edges += block.layout.numEdges;
    });
    assert.equal(m.sampledEdges, edges, `epoch ${m.epoch}`);
  }

  const b = tmpDir('mb-b');
  const stop = quiet();
  const rb = await trainSession({ config, out: b, reporter: recorder((m) => m.epoch === 3 && stop.request()), stop });
  assert.equal(rb.summary, null);
  const again = await trainSession({ resume: b, reporter: recorder(), stop: quiet() });
  assert.ok(again.summary);
  assert.deepEqual(numbers(b), ms);
  assert.equal(again.summary.runs[0]!.best.testAcc, ra.summary.runs[0]!.best.testAcc);

  // Another seed samples other batches.
  const c = tmpDir('mb-c');
  await trainSession({ config: { ...config, seed: 1 }, out: c, reporter: recorder(), stop: quiet() });
  assert.notDeepEqual(numbers(c), ms);
});

test('CLI: --batch-size/--fanout with --json and --check-grads', async () => {
  const dir = tmpDir('mb-cli');
  const r = await runCli(['train', '--dataset', 'cora', ...CLI_TINY, '--epochs', '2', '--batch-size', '64', '--fanout', '4',
    '--check-grads', '1', '--json', '--out', dir]);
  assert.equal(r.code, 0, r.err);
  const epochs = r.out.trim().split('\n').map((l) => JSON.parse(l) as EpochMetrics & { type: string }).filter((l) => l.type === 'epoch');
  assert.equal(epochs.length, 2);
  for (const e of epochs) {
    assert.equal(e.batches, 3);
    assert.ok(e.gradCheck!.worst.relDiff < 1e-4, `analytic vs autograd on a batch: ${e.gradCheck!.worst.relDiff}`);
  }
  const cfg = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as { config: { batchSize: number; fanout: number[] } };
  assert.equal(cfg.config.batchSize, 64);
  assert.deepEqual(cfg.config.fanout, [4]);
});

test('CLI: mini-batch flag errors are one line, exit 2', async () => {
  const cases: Array<[string[], RegExp]> = [
    [['--batch-size', '32'], /--batch-size needs --fanout/],
    [['--fanout', '5,5'], /--fanout needs --batch-size/],
    [['--batch-size', '32', '--fanout', '5,x'], /--fanout: "5,x" is not a comma-separated list/],
    [['--batch-size', '32', '--fanout', '5,5,5'], /--fanout: 3 values for 2 layers/],
    [['--batch-size', '0', '--fanout', '5'], /--batch-size must be a positive integer/],
    [['--batch-size', '32', '--fanout', '0'], /--fanout: "0" is not/],
  ];
  for (const [flags, want] of cases) {
    const r = await runCli(['train', '--dataset', 'cora', ...CLI_TINY, '--epochs', '1', '--out', tmpDir('mb-bad'), ...flags]);
    assert.equal(r.code, 2, `${flags.join(' ')}: ${r.err}`);
    assert.equal(r.err.trim().split('\n').length, 1, r.err);
    assert.match(r.err, want);
  }
});

test('a store trained from its files: the same batches as from memory, evaluate reproduces the result', async () => {
  const store = join(tmpDir('mb-store'), 'cora.store');
  await writeStore(await loadDataset('cora'), store, { featuresDtype: 'float32', overwrite: false, source: 'cora' });
  const fromCsv = tmpDir('mb-csv');
  await trainSession({ config: { ...config, epochs: 3 }, out: fromCsv, reporter: recorder(), stop: quiet() });
  const fromStore = tmpDir('mb-files');
  const r = await trainSession({ config: { ...config, epochs: 3, dataset: store }, out: fromStore, reporter: recorder(), stop: quiet() });
  assert.ok(r.summary);
  // The same sampled batches and feature rows: the same training losses, bit for bit.
  const losses = (dir: string) => numbers(dir).map((m) => m.trainLoss);
  assert.deepEqual(losses(fromStore), losses(fromCsv));
  // Layer-wise evaluation on the store is exact: the accuracies agree with the full forward's.
  const accs = (dir: string) => numbers(dir).map((m) => [m.trainAcc, m.valAcc, m.testAcc]);
  assert.deepEqual(accs(fromStore), accs(fromCsv));
  const ev = await runCli(['evaluate', '--checkpoint', fromStore, '--json']);
  assert.equal(ev.code, 0, ev.err);
  const splits = (JSON.parse(ev.out) as { splits: Record<string, { accuracy: number; loss: number }> }).splits;
  assert.equal(splits['test']!.accuracy, r.summary.runs[0]!.best.testAcc);
  assert.equal(splits['val']!.loss, r.summary.runs[0]!.best.valLoss);
  // evaluate took the store's files (not a whole load): its scores are the run's, and a CSV
  // dataset is not scored that way.
  const scored = await scoreStoreFromFiles(fromStore, {});
  assert.ok(scored);
  assert.equal(scoreSplitOf(scored.scores, scored.labels, scored.splits.test).accuracy, r.summary.runs[0]!.best.testAcc);
  assert.equal(await scoreStoreFromFiles(fromStore, { dataset: 'cora' }), null);
  // predict on the store from its files writes what the whole-store path computes, byte for byte.
  const csv = join(tmpDir('mb-predict'), 'p.csv');
  const pr = await runCli(['predict', '--checkpoint', fromStore, '--out', csv, '--json']);
  assert.equal(pr.code, 0, pr.err);
  const m = await loadModel(fromStore, { strictLabels: false });
  try {
    const want = [...predictionsCsv(m.data.dataset.nodeIds, m.checkpoint.manifest.modelConfig.classNames, (await infer(m)).logits)].join('');
    assert.equal(readFileSync(csv, 'utf8'), want);
  } finally {
    m.dispose();
  }
  const summary = JSON.parse(pr.out) as { predictions: { rows: number }; accuracy: Record<string, { accuracy: number }> };
  assert.equal(summary.predictions.rows, 2708);
  assert.equal(summary.accuracy['test']!.accuracy, r.summary.runs[0]!.best.testAcc);
  assert.deepEqual(readdirSync(join(csv, '..')), ['p.csv'], 'no temporary file left');
  // --diagnostics needs the whole graph.
  await assert.rejects(
    trainSession({ config: { ...config, epochs: 1, dataset: store, diagnostics: 1 }, out: tmpDir('mb-diag'), reporter: recorder(), stop: quiet() }),
    /--diagnostics needs the whole graph in memory/,
  );
});
