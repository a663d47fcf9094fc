/**
 * Mini-batch progress off a terminal: a line on the epoch's batches (rate and time left) every
 * batchEveryMs and when the batches are done, nothing with --json (stdout is for the JSON lines).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { createReporter, formatDuration } from '../src/train/progress.js';

function capture(): { stream: PassThrough; text: () => string } {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (c: Buffer) => (text += c.toString()));
  return { stream, text: () => text };
}

test('durations read as seconds, minutes or hours', () => {
  assert.deepEqual([formatDuration(4.4), formatDuration(127), formatDuration(3900), formatDuration(-1)], ['4s', '2m07s', '1h05m', '0s']);
});

test('off a terminal, batch progress is a line every batchEveryMs with batches/s and the time left', () => {
  for (const json of [false, true]) {
    let t = 0;
    const err = capture(), out = capture();
    const r = createReporter({ json, tty: false, err: err.stream, out: out.stream, batchEveryMs: 10_000, now: () => t });
    r.runStart({ seed: 0, index: 0, count: 1, startEpoch: 0, maxEpochs: 3 });
    t = 4000;
    r.batch!(1, 10);
    t = 10_000;
    r.batch!(4, 10);
    t = 15_000;
    r.batch!(6, 10);
    t = 25_000;
    r.batch!(10, 10);
    const want = json ? '' : 'epoch 1: batch 4/10, 0.40 batches/s, epoch\'s batches done in 15s\nepoch 1: batch 10/10, 0.40 batches/s, evaluating\n';
    assert.equal(err.text(), want, `json ${json}`);
  }
});
