/**
 * `gatv2 runs DIR`: every run directory under DIR with its dataset, epochs, best validation and
 * test accuracy and status (finished, stopped, failed, killed), newest first, from the files the
 * trainer writes.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { RunRow } from '../src/cli/runs.js';
import { readRunStatus, STATUS_FILE } from '../src/train/run-status.js';
import { trainSession } from '../src/train/session.js';
import { stopControl } from '../src/train/stop.js';
import { runCli } from './cli-helpers.js';
import { recorder, tinyConfig, tmpDir } from './train-helpers.js';
import { type RunSummary } from '../src/run/summary.js';

test('gatv2 runs: finished, stopped, failed and killed runs, newest first, with their numbers', async () => {
  const root = tmpDir('runs');
  const quiet = () => stopControl({ signals: false });
  const config = tinyConfig({ epochs: 6, saveEvery: 4 });

  const finished = await trainSession({ config, out: join(root, 'a-finished'), reporter: recorder(), stop: quiet() });
  assert.ok(finished.summary);

  const stop = quiet();
  await trainSession({ config, out: join(root, 'b-stopped'), reporter: recorder((m) => m.epoch === 2 && stop.request()), stop });

  // A run whose checkpoint cannot be written (best/ is a file) fails at its first save (epoch 4,
  // after metrics.jsonl); status.json keeps the error.
  const failedDir = join(root, 'c-failed');
  await assert.rejects(trainSession({
    config, out: failedDir, stop: quiet(), reporter: recorder((m) => m.epoch === 1 && writeFileSync(join(failedDir, 'best'), 'x')),
  }));
  assert.equal(readRunStatus(failedDir)?.status, 'failed');

  // A run killed without a chance to write: status.json still says running, for a process that is gone.
  const stop2 = quiet();
  const killedDir = join(root, 'd-killed');
  await trainSession({ config, out: killedDir, reporter: recorder((m) => m.epoch === 3 && stop2.request()), stop: stop2 });
  const gone = Number(execFileSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']).toString());
  writeFileSync(join(killedDir, STATUS_FILE), JSON.stringify({ status: 'running', epoch: 3, pid: gone, host: hostname(), at: new Date().toISOString() }));

  const r = await runCli(['runs', root, '--json']);
  assert.equal(r.code, 0, r.err);
  const rows = JSON.parse(r.out) as RunRow[];
  assert.deepEqual(rows.map((x) => [x.run, x.status, x.epochs]), [
    ['d-killed', 'killed', 3], ['c-failed', 'failed', 4], ['b-stopped', 'stopped', 2], ['a-finished', 'finished', 6],
  ]);
  assert.ok(rows.every((x) => x.dataset === 'cora' && x.maxEpochs === 6));
  const summary = JSON.parse(readFileSync(join(root, 'a-finished', 'summary.json'), 'utf8')) as RunSummary;
  const a = rows[3];
  assert.equal(a.testAcc, summary.best.testAcc);
  assert.equal(a.bestValAcc, summary.best.valAcc);
  assert.equal(a.testMacroF1, summary.classification!.test.macroF1);
  assert.match(rows[1].error ?? '', /best/);
  assert.ok(rows[2].bestValAcc !== null && rows[2].testAcc !== null);

  const text = await runCli(['runs', root]);
  assert.equal(text.code, 0, text.err);
  assert.match(text.out, /^run\s+dataset\s+status\s+epochs\s+best val\s+test acc\s+test macro-F1\s+created/);
  assert.match(text.out, /a-finished\s+cora\s+finished\s+6\/6/);

  const missing = await runCli(['runs', join(root, 'nope')]);
  assert.equal(missing.code, 2);
  assert.match(missing.err, /no such directory/);
});
