/**
 * Batched positional reads: the element ranges a batch needs (one per requested node), sorted by
 * position and merged into spans where the gap between two ranges is small, so a batch makes a
 * few large sequential reads instead of one small read per node (a read of a few KB costs about
 * as much as reading the gap: MAX_GAP_BYTES).
 */

export const MAX_GAP_BYTES = 64 * 1024;

export interface Span {
  /** Elements [lo, hi) of the array. */
  lo: number;
  hi: number;
  /** Indices into the request (in ascending start order) served by this span. */
  members: number[];
}

/** Spans covering ranges [start[k], end[k]) (empty ranges included), gaps up to maxGap elements merged. */
export function spansOf(start: ArrayLike<number>, end: ArrayLike<number>, maxGap: number): Span[] {
  const order = Array.from({ length: start.length }, (_, k) => k).sort((a, b) => start[a]! - start[b]! || a - b);
  const spans: Span[] = [];
  for (const k of order) {
    const s = spans[spans.length - 1];
    if (s && start[k]! <= s.hi + maxGap) {
      s.hi = Math.max(s.hi, end[k]!);
      s.members.push(k);
    } else spans.push({ lo: start[k]!, hi: end[k]!, members: [k] });
  }
  return spans;
}
