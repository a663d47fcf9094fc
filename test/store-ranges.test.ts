/**
 * Merging a batch's ranges into reads (src/store/ranges.ts): every range is covered by its span,
 * close ranges share a read, and no span outgrows MAX_SPAN_BYTES unless one range alone is longer.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_GAP_BYTES, MAX_SPAN_BYTES, spansOf } from '../src/store/ranges.js';
import { Prng } from '../src/util/prng.js';

test('spans cover their ranges, merge small gaps and stay within the span limit', () => {
  const rng = new Prng(5);
  // 200,000 rows of 100 float32s spread over 2.4M rows: 4.8 KB apart on average, so about half
  // the gaps are under the gap limit; without the span limit the merged reads could grow to most
  // of the matrix.
  const row = 100;
  const nodes = Array.from({ length: 200_000 }, () => rng.int(2_400_000));
  nodes.push(nodes[0]!, 7); // a repeat, and a row near the start
  const start = Float64Array.from(nodes, (i) => i * row), end = Float64Array.from(nodes, (i) => (i + 1) * row);
  const spans = spansOf(start, end, 4);
  const seen = new Int32Array(nodes.length);
  let prevHi = -Infinity;
  for (const s of spans) {
    assert.ok((s.hi - s.lo) * 4 <= MAX_SPAN_BYTES, `span of ${(s.hi - s.lo) * 4} bytes`);
    assert.ok(s.lo >= prevHi - row, 'spans come in order');
    prevHi = s.hi;
    for (const k of s.members) {
      assert.ok(start[k]! >= s.lo && end[k]! <= s.hi);
      seen[k]++;
    }
  }
  assert.ok(seen.every((c) => c === 1), 'each range in exactly one span');
  assert.ok(spans.length < 0.9 * nodes.length, `${spans.length} reads for ${nodes.length} rows: close rows share reads`);
  // Within a span, each range starts at most MAX_GAP_BYTES after the ones before it end.
  for (const s of spans) {
    const ms = [...s.members].sort((a, b) => start[a]! - start[b]!);
    let hi = end[ms[0]!]!;
    for (const k of ms.slice(1)) {
      assert.ok((start[k]! - hi) * 4 <= MAX_GAP_BYTES, 'a gap wider than the limit was read');
      hi = Math.max(hi, end[k]!);
    }
  }
  assert.ok(spans.length >= (2_400_000 * row * 4) / MAX_SPAN_BYTES / 2, 'the whole matrix is not one read');

  // Ranges further apart than the gap limit are separate reads; one range past the span limit is one span.
  const far = spansOf([0, 11 + MAX_GAP_BYTES], [10, 20 + MAX_GAP_BYTES], 1);
  assert.equal(far.length, 2);
  const hub = spansOf([0, 5], [MAX_SPAN_BYTES * 2, 10], 1);
  assert.equal(hub.length, 1);
  assert.deepEqual([hub[0]!.lo, hub[0]!.hi], [0, MAX_SPAN_BYTES * 2]);
});
