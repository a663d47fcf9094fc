/**
 * Batched positional reads: the element ranges a batch needs (one per requested node), sorted by
 * position and merged into spans where the gap between two ranges is small, so neighbouring rows
 * share a read. A gap is read only when copying it costs about what a read call costs (a few KB
 * from the page cache: MAX_GAP_BYTES); wider gaps make a new read, since rows spread over a file
 * (130k random feature rows of ogbn-products' 2.4M, 7 KB apart) would otherwise be read as the
 * whole file, 20x the bytes needed. A span also stops growing at MAX_SPAN_BYTES, which bounds the
 * buffer of one read; a single range longer than that (a hub's in-edges) is still one span.
 */

export const MAX_GAP_BYTES = 4 * 1024;
export const MAX_SPAN_BYTES = 4 * 1024 * 1024;

export interface Span {
  /** Elements [lo, hi) of the array. */
  lo: number;
  hi: number;
  /** Indices into the request (in ascending start order) served by this span. */
  members: number[];
}

/**
 * Spans covering ranges [start[k], end[k]) of an array of `elementBytes`-byte elements (empty
 * ranges included): gaps up to MAX_GAP_BYTES merged, while a span stays within MAX_SPAN_BYTES.
 */
export function spansOf(start: ArrayLike<number>, end: ArrayLike<number>, elementBytes: number): Span[] {
  const maxGap = Math.floor(MAX_GAP_BYTES / elementBytes);
  const maxSpan = Math.floor(MAX_SPAN_BYTES / elementBytes);
  const order = Array.from({ length: start.length }, (_, k) => k).sort((a, b) => start[a]! - start[b]! || a - b);
  const spans: Span[] = [];
  for (const k of order) {
    const s = spans[spans.length - 1];
    // Joins the last span when inside it, or close to it and the span stays within the limit.
    if (s && start[k]! <= s.hi + maxGap && (end[k]! <= s.hi || end[k]! - s.lo <= maxSpan)) {
      s.hi = Math.max(s.hi, end[k]!);
      s.members.push(k);
    } else spans.push({ lo: start[k]!, hi: end[k]!, members: [k] });
  }
  return spans;
}
