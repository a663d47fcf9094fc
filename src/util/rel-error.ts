/**
 * The one relative error of this project, measured per element:
 *
 *     err_i = |ours_i - ref_i| / (magnitude_i + TINY)
 *
 * where magnitude_i is the sum of the absolute values of the terms that make element i: the same
 * expression evaluated with every input, product and sum taken in absolute value. Float32 rounding
 * error is proportional to that sum, not to the element itself (an element whose terms cancel keeps
 * the rounding of its large terms) and not to the largest element of its tensor (a gradient far
 * smaller than its neighbours, a starving one, would then be checked loosely or not at all). So a
 * small element is held to the same bound as a large one.
 *
 * Where the terms are at hand (the float64 reference, src/check/reference-magnitude.ts; a kernel
 * rerun on absolute inputs) the caller passes them. Where they are not, pairMagnitude (|ours| +
 * |ref|) is the honest fallback: it is each element's own size, exact for an element without
 * cancellation and an over-report for one that cancels; tensorPairMagnitude adds the tensor's
 * RMS element for those.
 */

/** Added to every magnitude so that a zero magnitude does not divide by zero. */
export const TINY = 1e-300;

/** The worst element of a comparison: its error and flat index (-1 when nothing differs). */
export interface ElementError {
  value: number;
  index: number;
}

export interface ElementErrorOptions {
  /**
   * Elements NaN on both sides count as agreeing (a kernel test, whose NaN inputs must propagate).
   * Otherwise a NaN anywhere makes the error NaN, so a broken gradient never passes as small.
   */
  nanMatchesNaN?: boolean;
}

/**
 * The worst per-element error of `ours` against `ref` (see the file comment); equal elements,
 * infinities included, count as 0. NaN wins over any number, so a `<=` test on the result fails.
 */
export function worstElementError(
  ours: ArrayLike<number>, ref: ArrayLike<number>, magnitude: ArrayLike<number>, opts: ElementErrorOptions = {},
): ElementError {
  if (ours.length !== ref.length || magnitude.length !== ref.length) {
    throw new Error(`worstElementError: ${ours.length} values against ${ref.length} (magnitudes ${magnitude.length})`);
  }
  let worst: ElementError = { value: 0, index: -1 };
  for (let i = 0; i < ref.length; i++) {
    const a = ours[i]!, b = ref[i]!;
    if (a === b) continue;
    if (Number.isNaN(a) || Number.isNaN(b)) {
      if (opts.nanMatchesNaN && Number.isNaN(a) && Number.isNaN(b)) continue;
      return { value: NaN, index: i };
    }
    const err = Math.abs(a - b) / (Math.abs(magnitude[i]!) + TINY);
    if (!(err <= worst.value)) worst = { value: err, index: i };
  }
  return worst;
}

/** |a_i| + |b_i|: the magnitude to use when the terms of each element are not at hand. */
export function pairMagnitude(a: ArrayLike<number>, b: ArrayLike<number>): Float64Array {
  const out = new Float64Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = Math.abs(a[i]!) + Math.abs(b[i]!);
  return out;
}

/**
 * |a_i| + |b_i| + the root mean square of that over the tensor: the magnitude to use for a whole
 * tensor whose terms are not at hand. An element's terms are at least its own size; one whose
 * terms cancel to near zero keeps their rounding, so it is measured against the tensor's typical
 * element (its RMS, not its peak: a few large elements barely move it, so they do not loosen the
 * bound on the rest as a per-peak measure does).
 */
export function tensorPairMagnitude(a: ArrayLike<number>, b: ArrayLike<number>): Float64Array {
  const out = pairMagnitude(a, b);
  let squares = 0;
  for (let i = 0; i < out.length; i++) squares += out[i]! * out[i]!;
  const rms = out.length > 0 ? Math.sqrt(squares / out.length) : 0;
  for (let i = 0; i < out.length; i++) out[i]! += rms;
  return out;
}

/** worstElementError with tensorPairMagnitude: two evaluations whose terms are not at hand. */
export function worstPairError(ours: ArrayLike<number>, ref: ArrayLike<number>): ElementError {
  return worstElementError(ours, ref, tensorPairMagnitude(ours, ref));
}

/** A flat index as "[r,c]" for a tensor of `shape` (row-major), for messages. */
export function formatIndex(index: number, shape: readonly number[]): string {
  if (index < 0) return '-';
  const at: number[] = [];
  let rest = index;
  for (let d = shape.length - 1; d >= 0; d--) {
    const n = shape[d]!;
    at.unshift(n > 0 ? rest % n : 0);
    rest = n > 0 ? Math.floor(rest / n) : 0;
  }
  return `[${at.join(',')}]`;
}
