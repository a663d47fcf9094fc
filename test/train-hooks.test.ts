/**
 * --diagnostics through the run hooks (src/train/run-hooks.ts, built by src/api/diagnostics-hooks.ts):
 * the trainer calls them on its schedule with the step's weights and masks, the files and notes are
 * those of a diagnosed run, training itself is untouched, and a stopped run still gets its report.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { useBackend } from '../src/backends/index.js';
import { train } from '../src/api/train.js';
import { trainSession } from '../src/train/session.js';
import { stopControl } from '../src/train/stop.js';
import { readDiagnostics } from '../src/run/diagnostics-file.js';
import { summarizeDiagnostics } from '../src/diagnostics/summary.js';
import { SEED_STREAM } from '../src/model/network.js';
import { deriveSeed } from '../src/util/prng.js';
import type { EpochProbe } from '../src/train/run-hooks.js';
import { numbersOf, recorder, tinyConfig, tmpDir, type Recorder } from './train-helpers.js';

const quiet = () => stopControl({ signals: false });

/** A recorder that also keeps the notes. */
function noting(onEpoch?: Parameters<typeof recorder>[0]): Recorder & { notes: string[] } {
  const notes: string[] = [];
  return Object.assign(recorder(onEpoch), { notes, note: (s: string) => void notes.push(s) });
}

test('--diagnostics through the hooks: diagnostics.jsonl on schedule, the summary and report notes, training unchanged', async () => {
  await useBackend('cpu');
  const config = tinyConfig({ epochs: 5, diagnostics: 2, weightDecay: 5e-4, seed: 3 });
  const dir = tmpDir('hooks-diag');
  const rec = noting();
  const r = await train({ config, out: dir, reporter: rec });
  assert.ok(r.summary);

  const records = readDiagnostics(dir);
  assert.deepEqual(records.map((d) => d.epoch), [1, 2, 4], 'epoch 1 and every 2 epochs');
  for (const d of records) {
    // The step's own weights and dropout masks, before its update: the diagnosed cross-entropy is
    // the epoch's training loss (another pass over the same numbers).
    assert.equal(d.seed, deriveSeed(config.seed, SEED_STREAM.step, d.epoch));
    assert.equal(d.training, true);
    assert.equal(d.mode, config.grad);
    assert.equal(d.weightDecay, config.weightDecay);
    const loss = rec.epochs[d.epoch - 1]!.trainLoss;
    assert.ok(Math.abs(d.loss - loss) <= 1e-5 * Math.abs(loss), `epoch ${d.epoch}: ${d.loss} vs ${loss}`);
  }
  // The end of the run: the last diagnosis summarised, then the report's path.
  assert.equal(rec.notes.at(-2), summarizeDiagnostics(records.at(-1)!));
  assert.equal(rec.notes.at(-1), `report: ${join(dir, 'report.html')}`);
  assert.ok(existsSync(join(dir, 'report.html')));

  // The same run undiagnosed trains the same numbers and writes neither file.
  const plain = tmpDir('hooks-plain');
  const rp = recorder();
  await train({ config: { ...config, diagnostics: 0 }, out: plain, reporter: rp });
  assert.deepEqual(numbersOf(rp.epochs), numbersOf(rec.epochs));
  assert.ok(!existsSync(join(plain, 'diagnostics.jsonl')));
  assert.ok(!existsSync(join(plain, 'report.html')));
});

test('a stopped diagnosed run gets its report; the resumed run diagnoses on from where it stopped', async () => {
  await useBackend('cpu');
  const dir = tmpDir('hooks-stop');
  const stop = quiet();
  const first = noting((m) => m.epoch === 3 && stop.request());
  const r = await train({ config: tinyConfig({ epochs: 6, diagnostics: 2, saveEvery: 2 }), out: dir, reporter: first, stop });
  assert.equal(r.stoppedBy, 'request');
  assert.equal(first.notes.at(-1), `report: ${join(dir, 'report.html')}`);
  assert.deepEqual(readDiagnostics(dir).map((d) => d.epoch), [1, 2]);

  const again = noting();
  await train({ resume: dir, reporter: again });
  assert.deepEqual(readDiagnostics(dir).map((d) => d.epoch), [1, 2, 4, 6]);
  assert.equal(again.notes.at(-1), `report: ${join(dir, 'report.html')}`);
});

test('the session hands each run its own hooks; diagnostics without a diagnose hook are refused', async () => {
  await useBackend('cpu');
  const calls: string[] = [];
  const config = tinyConfig({ epochs: 3, seeds: 2, diagnostics: 3 });
  const dir = tmpDir('hooks-seeds');
  await trainSession({
    config, out: dir, reporter: recorder(), stop: quiet(),
    runHooks: (run) => ({
      async diagnose(p: EpochProbe) {
        calls.push(`${run.config.seed}:diagnose ${p.epoch} ${p.forward.seed === deriveSeed(run.config.seed, SEED_STREAM.step, p.epoch)}`);
      },
      afterRun() {
        calls.push(`${run.config.seed}:afterRun ${existsSync(join(run.dir, 'summary.json'))}`);
      },
    }),
  });
  assert.deepEqual(calls, [
    '0:diagnose 1 true', '0:diagnose 3 true', '0:afterRun true',
    '1:diagnose 1 true', '1:diagnose 3 true', '1:afterRun true',
  ]);
  await assert.rejects(
    trainSession({ config: tinyConfig({ epochs: 1, diagnostics: 1 }), out: tmpDir('hooks-none'), reporter: recorder(), stop: quiet() }),
    /no diagnose hook/,
  );
});
