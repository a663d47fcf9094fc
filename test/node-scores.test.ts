/**
 * Per-node scores (src/train/node-scores.ts) give the same split accuracy and loss as scoreSplit
 * on the logits, bit for bit, and the same classification report, ties and unlabelled nodes included.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Prng } from '../src/util/prng.js';
import { classificationReport } from '../src/run/classification-metrics.js';
import { scoreSplit } from '../src/model/loss.js';
import { classificationReportOf, emptyNodeScores, scoreRows, scoreSplitOf, scoresOfLogits } from '../src/train/node-scores.js';

test('node scores reproduce scoreSplit and classificationReport exactly', () => {
  const N = 500, C = 6;
  const rng = new Prng(3);
  const logits = new Float32Array(N * C);
  for (let k = 0; k < logits.length; k++) logits[k] = (rng.uniform() - 0.5) * 20;
  // Ties: the first of equal maxima is the prediction, as in classificationReport.
  for (let i = 0; i < 50; i++) logits.fill(1.5, i * C, i * C + C);
  const labels = Int32Array.from({ length: N }, (_, i) => (i % 17 === 0 ? -1 : rng.int(C)));
  const labelled = Int32Array.from(labels.keys()).filter((i) => labels[i]! >= 0);
  const splits = [labelled.filter((i) => i % 3 === 0), labelled.filter((i) => i % 3 === 1), labelled.slice(0, 1)];

  const whole = scoresOfLogits(logits, labels, C);
  // Filled in uneven chunks, as a layer-wise pass fills them.
  const chunked = emptyNodeScores(N);
  for (let lo = 0; lo < N; lo += 77) scoreRows(chunked, labels, C, lo, logits.subarray(lo * C, Math.min(N, lo + 77) * C));
  assert.deepEqual(chunked, whole);
  assert.ok(Number.isNaN(whole.nll[0]!), 'an unlabelled node has no loss');

  for (const nodes of splits) {
    assert.deepEqual(scoreSplitOf(whole, labels, nodes), scoreSplit(logits, labels, nodes, C));
    assert.deepEqual(classificationReportOf(whole, labels, nodes, C), classificationReport(logits, labels, nodes, C));
  }
});
