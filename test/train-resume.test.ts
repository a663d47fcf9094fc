/**
 * Interrupting and resuming: a run stopped after some epoch (by a stop request in process, or by
 * SIGINT to the CLI) leaves a valid last checkpoint, and `--resume` continues it to exactly the
 * numbers of a run that was never interrupted (same seed, same backend).
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { readManifest } from '../src/run/checkpoint.js';
import type { EpochMetrics } from '../src/run/metrics.js';
import { trainSession } from '../src/train/session.js';
import { stopControl } from '../src/train/stop.js';
import { runCli, spawnCli } from './cli-helpers.js';
import { CLI_TINY, numbersOf, readJsonl, recorder, tinyConfig, tmpDir } from './train-helpers.js';
import { type RunSummary } from '../src/run/summary.js';

const EPOCHS = 12;
const config = tinyConfig({ epochs: EPOCHS, saveEvery: 5 });
const quiet = () => stopControl({ signals: false });

const metricsOf = (dir: string) => numbersOf(readJsonl<EpochMetrics>(join(dir, 'metrics.jsonl')));
const resultOf = (dir: string) => {
  const { timeMs: _t, meanEpochMs: _m, ...rest } = JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8')) as RunSummary;
  return rest;
};
const bestWeights = (dir: string) => {
  const m = readManifest(join(dir, 'best'));
  return { epoch: m.epoch, bytes: readFileSync(join(dir, 'best', m.weightsManifest[0].paths[0])) };
};

let reference = '';

test('an uninterrupted run, for reference', async () => {
  reference = tmpDir('ref');
  const r = await trainSession({ config, out: reference, reporter: recorder(), stop: quiet() });
  assert.ok(r.summary);
  assert.equal(readJsonl(join(reference, 'metrics.jsonl')).length, EPOCHS);
});

test('stopped after epoch 7 (between two periodic saves), then resumed: the same numbers', async () => {
  const dir = tmpDir('stop');
  const stop = quiet();
  const r = await trainSession({ config, out: dir, reporter: recorder((m) => m.epoch === 7 && stop.request()), stop });
  assert.equal(r.summary, null);
  assert.equal(r.stoppedBy, 'request');
  // The stop wrote the state of epoch 7 (the periodic save was at 5) and no summary.
  assert.equal(readManifest(join(dir, 'last')).epoch, 7);
  assert.equal(readJsonl(join(dir, 'metrics.jsonl')).length, 7);
  assert.ok(!existsSync(join(dir, 'summary.json')));

  const rec = recorder();
  const again = await trainSession({ resume: dir, reporter: rec, stop: quiet() });
  assert.ok(again.summary);
  assert.deepEqual(rec.epochs.map((m) => m.epoch), [8, 9, 10, 11, 12]);
  assert.deepEqual(metricsOf(dir), metricsOf(reference));
  assert.deepEqual(resultOf(dir), resultOf(reference));
  assert.deepEqual(bestWeights(dir), bestWeights(reference));
});

test('SIGINT to `gatv2 train --json` saves and exits 130; --resume finishes with the same numbers', async () => {
  const dir = tmpDir('sigint');
  const child = spawnCli(['train', '--dataset', 'cora', ...CLI_TINY, '--epochs', String(EPOCHS), '--save-every', '5', '--json', '--out', dir]);
  let out = '';
  let signalled = false;
  child.stdout!.on('data', (chunk: Buffer) => {
    out += chunk.toString();
    if (!signalled && out.includes('"epoch":2,')) {
      signalled = true;
      child.kill('SIGINT');
    }
  });
  let err = '';
  child.stderr!.on('data', (chunk: Buffer) => (err += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
  assert.equal(code, 130, err);
  const lines = out.trim().split('\n').map((l) => JSON.parse(l) as { type: string; epoch: number });
  assert.ok(lines.every((l) => l.type === 'epoch'));
  const lastEpoch = lines[lines.length - 1].epoch;
  assert.ok(lastEpoch >= 2 && lastEpoch < EPOCHS, `stopped after epoch ${lastEpoch}`);
  assert.equal(readManifest(join(dir, 'last')).epoch, lastEpoch);
  assert.equal(readJsonl(join(dir, 'metrics.jsonl')).length, lastEpoch);
  assert.match(err, /--resume/);

  const resumed = await runCli(['train', '--resume', dir, '--json']);
  assert.equal(resumed.code, 0, resumed.err);
  const rest = resumed.out.trim().split('\n').map((l) => JSON.parse(l) as { type: string; epoch?: number });
  assert.equal(rest[0].epoch, lastEpoch + 1);
  const summary = rest[rest.length - 1] as unknown as { type: string; runs: RunSummary[] };
  assert.equal(summary.type, 'summary');
  assert.equal(summary.runs[0].epochsRun, EPOCHS);
  assert.deepEqual(metricsOf(dir), metricsOf(reference));
  assert.deepEqual(resultOf(dir), resultOf(reference));
});
