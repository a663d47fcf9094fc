/**
 * Flags on every command, through the real CLI: an option that takes a value and gets none, or a
 * number option given something else, stops with exit 2 and one line naming the flag (never the
 * default silently); help text wraps at word boundaries; `gatv2` alone lists the commands.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runCli } from './cli-helpers.js';

/** The command exits 2 with one line on stderr, and that line matches `message`. */
async function assertUsageError(argv: string[], message: RegExp): Promise<void> {
  const r = await runCli(argv);
  assert.equal(r.code, 2, `gatv2 ${argv.join(' ')}: exit code (stderr: ${r.err})`);
  const lines = r.err.trim().split('\n');
  assert.equal(lines.length, 1, `gatv2 ${argv.join(' ')}: one line, got:\n${r.err}`);
  assert.match(lines[0], message);
  assert.equal(r.out, '', 'nothing on stdout');
}

test('a flag without its value, as the last word or before another flag, names the flag on every command', async () => {
  const cases: [string[], string][] = [
    [['train', '--lr'], '--lr'],
    [['train', '--dataset'], '--dataset'],
    [['train', '--epochs'], '--epochs'],
    [['train', '--lr', '--epochs', '3'], '--lr'],
    [['evaluate', '--checkpoint'], '--checkpoint'],
    [['predict', '--checkpoint', 'x', '--out', 'p.csv', '--attention'], '--attention'],
    [['gradcheck', '--heads'], '--heads'],
    [['bench', '--grad'], '--grad'],
    [['bench', '--nodes', '--steps', '1'], '--nodes'],
    [['diagnose', '--checkpoint', 'x', '--split'], '--split'],
  ];
  for (const [argv, flag] of cases) await assertUsageError(argv, new RegExp(`^gatv2: ${flag} needs a value`));
});

test('a number option given something else quotes what was typed', async () => {
  await assertUsageError(['train', '--lr', 'abc'], /^gatv2: --lr: expected a number, got 'abc'$/);
  await assertUsageError(['train', '--epochs=5x'], /^gatv2: --epochs: expected a number, got '5x'$/);
  await assertUsageError(['gradcheck', '--heads', '1', 'x'], /^gatv2: --heads: expected a number, got 'x'$/);
  await assertUsageError(['diagnose', '--checkpoint', 'x', '--seed', 'zero'], /^gatv2: --seed: expected a number, got 'zero'$/);
});

test('sizes and counts of bench and gradcheck are checked before any work', async () => {
  await assertUsageError(['bench', '--steps', '0', '--nodes', '100'], /^gatv2: --steps must be an integer >= 1, got 0$/);
  await assertUsageError(['gradcheck', '--heads', '4', '0'], /^gatv2: --heads must be an integer >= 1, got 0$/);
  await assertUsageError(['gradcheck', '--nodes', '3', '--isolated', '3'], /^gatv2: --isolated 3: every one of the 3 nodes would be isolated/);
});

test('gatv2 without a command prints the list of commands and exits 2', async () => {
  const r = await runCli([]);
  assert.equal(r.code, 2);
  for (const c of ['train', 'evaluate', 'predict', 'gradcheck', 'bench', 'backends', 'datasets', 'diagnose']) {
    assert.match(r.err, new RegExp(`^  gatv2 ${c} `, 'm'), `the list names ${c}`);
  }
  assert.match(r.err, /gatv2: Name a command from the list above\.\n$/);
});

test('help wraps at word boundaries within 100 columns when not a terminal, examples one per line', async () => {
  for (const cmd of ['train', 'evaluate', 'predict', 'gradcheck', 'bench', 'backends', 'datasets', 'diagnose']) {
    const r = await runCli([cmd, '--help']);
    assert.equal(r.code, 0);
    const lines = r.out.split('\n');
    for (const line of lines) assert.ok(line.length <= 100, `gatv2 ${cmd} --help: a line of ${line.length} columns: ${line}`);
    // Wrapped at word boundaries, a description reads whole once whitespace is collapsed
    // (broken mid-word, "both, t / he GAT rule" reads "t he").
    const flat = r.out.replace(/\s+/g, ' ');
    if (cmd === 'train') {
      for (const phrase of [
        'validation progress that restarts patience: a loss or accuracy record (both, the GAT rule), loss, acc',
        'best epoch (kept in best/, reported): lowest val loss, highest val acc, or both at their record (GAT)',
        'L2 on all parameters: the optimizer adds wd * w to each gradient (torch.optim weight_decay; the gradient of wd/2 * sum w^2)',
        '--epochs and --patience may change (to extend a finished run), other training flags must match the saved ones',
      ]) assert.ok(flat.includes(phrase), `gatv2 train --help reads "${phrase}" unbroken`);
    }
    // An example is one line: the command whole, its description as a shell comment.
    if (cmd === 'bench') assert.ok(lines.includes('  gatv2 bench --nodes 100000 --avg-degree 10 --grad analytic   # a synthetic graph of 10^6 edges'));
    if (cmd === 'gradcheck') assert.ok(lines.some((l) => l.startsWith('  gatv2 gradcheck --fixture test/fixtures/pyg-gatv2 --backend wasm   # ')));
    if (cmd === 'gradcheck') {
      assert.ok(flat.includes('PyG reference file, or a directory of them (format: test/fixtures/pyg-gatv2/README.md)'));
    }
  }
});
