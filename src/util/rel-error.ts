/**
 * How far a computed array is from a reference, as one number: max |ours - ref| / max |ref| (a
 * floor of 1e-300 keeps an all-zero reference from dividing by zero). NaN anywhere gives NaN, so a
 * broken gradient never passes as a small error.
 */
export function maxRelError(ours: ArrayLike<number>, ref: ArrayLike<number>): number {
  if (ours.length !== ref.length) throw new Error(`maxRelError: ${ours.length} values against ${ref.length}`);
  let diff = 0, scale = 0;
  for (let i = 0; i < ref.length; i++) {
    const d = Math.abs(ours[i]! - ref[i]!), r = Math.abs(ref[i]!);
    if (Number.isNaN(d)) return NaN;
    if (d > diff) diff = d;
    if (r > scale) scale = r;
  }
  return diff / Math.max(scale, 1e-300);
}
