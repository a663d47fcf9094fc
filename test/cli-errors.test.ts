/**
 * Input a user can give that used to end in a stack trace, through the real CLI: each exits 2
 * with one line naming the path and what to fix, and leaves no temporary file behind.
 */
import assert from 'node:assert/strict';
import { cpSync, readdirSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { readManifest } from '../src/run/checkpoint.js';
import { trainSession } from '../src/train/session.js';
import { stopControl } from '../src/train/stop.js';
import { runCli, messageLines } from './cli-helpers.js';
import { recorder, tinyConfig, tmpDir } from './train-helpers.js';

let run = '';

before(async () => {
  run = join(tmpDir('errors'), 'run');
  await trainSession({ config: tinyConfig({ epochs: 2 }), out: run, reporter: recorder(), stop: stopControl({ signals: false }) });
});

/** A copy of the trained run, to damage. */
function copyRun(): string {
  const dir = join(tmpDir('damaged'), 'run');
  cpSync(run, dir, { recursive: true });
  return dir;
}

/** Exit 2, one line on stderr (notes such as "backend: ..." aside) matching `message`, no stack. */
async function assertBadInput(argv: string[], message: RegExp): Promise<void> {
  const r = await runCli(argv);
  assert.equal(r.code, 2, `gatv2 ${argv.join(' ')}: ${r.err}`);
  const lines = messageLines(r.err);
  assert.equal(lines.length, 1, `one line, got:\n${r.err}`);
  assert.match(lines[0], message);
}

test('evaluate on a truncated weights file', async () => {
  const dir = copyRun();
  const weights = join(dir, 'best', readManifest(join(dir, 'best')).weightsManifest[0].paths[0]);
  truncateSync(weights, 100);
  await assertBadInput(['evaluate', '--checkpoint', dir], new RegExp(`^gatv2: ${weights}: holds 100 bytes, model\\.json describes \\d+ \\(truncated\\); train again or restore the file$`));
});

test('evaluate on a checkpoint whose model.json is not JSON, or not a checkpoint', async () => {
  const dir = copyRun();
  writeFileSync(join(dir, 'best', 'model.json'), '{"format": "gatv2-checkpoint", ');
  await assertBadInput(['evaluate', '--checkpoint', dir], /^gatv2: .*best\/model\.json: cannot read the checkpoint manifest \(/);
  writeFileSync(join(dir, 'best', 'model.json'), 'null');
  await assertBadInput(['evaluate', '--checkpoint', dir], /^gatv2: .*best\/model\.json: not a gatv2 checkpoint of format version 1$/);
});

test('evaluate on a directory that does not exist or holds no checkpoint', async () => {
  const missing = join(tmpDir('nothing'), 'nope');
  await assertBadInput(['evaluate', '--checkpoint', missing], new RegExp(`^gatv2: ${missing}: no such checkpoint directory$`));
  const empty = tmpDir('empty');
  await assertBadInput(['predict', '--checkpoint', empty, '--out', join(empty, 'p.csv')], /no checkpoint here/);
});

test('predict --out naming a directory: refused before any work, and no temporary file is left', async () => {
  const outDir = tmpDir('outdir');
  await assertBadInput(['predict', '--checkpoint', run, '--out', outDir], new RegExp(`^gatv2: --out ${outDir}: is a directory; name a file to write$`));
  await assertBadInput(
    ['predict', '--checkpoint', run, '--out', join(outDir, 'p.csv'), '--attention', outDir],
    new RegExp(`^gatv2: --attention ${outDir}: is a directory; name a file to write$`),
  );
  assert.deepEqual(readdirSync(outDir), []);
});

test('train --out naming an existing file', async () => {
  const file = join(tmpDir('outfile'), 'notes.txt');
  writeFileSync(file, 'mine\n');
  await assertBadInput(['train', '--out', file, '--epochs', '1'], new RegExp(`^gatv2: --out ${file}: is a file; name a new or existing directory$`));
  assert.equal(readFileSync(file, 'utf8'), 'mine\n');
});

test('train --resume on a run whose config.json is damaged, or whose last/ is not resumable', async () => {
  const dir = copyRun();
  writeFileSync(join(dir, 'config.json'), '{"format": ');
  await assertBadInput(['train', '--resume', dir], /^gatv2: .*config\.json: cannot read the run configuration \(/);
  const dir2 = copyRun();
  const manifest = JSON.parse(readFileSync(join(dir2, 'last', 'model.json'), 'utf8'));
  delete manifest.trainingState;
  writeFileSync(join(dir2, 'last', 'model.json'), JSON.stringify(manifest));
  await assertBadInput(['train', '--resume', dir2, '--epochs', '3'], /last: holds no training state; it is not a resumable checkpoint of gatv2 train$/);
  const dir3 = copyRun();
  writeFileSync(join(dir3, 'summary.json'), '{"dataset": ');
  await assertBadInput(['train', '--resume', dir3], /^gatv2: .*summary\.json: cannot read the run's summary \(.*\); remove it to finish the run again$/);
});
