/**
 * IEEE 754 half precision <-> float32, for `--features-dtype float16` (Node 20 has no
 * Float16Array). Rounding is to nearest, ties to even; values beyond the half range become
 * infinity (the converter refuses them, see write.ts), NaN stays NaN.
 */

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** The half-precision bits of float32 v. */
export function toHalfBits(v: number): number {
  f32[0] = v;
  const x = u32[0]!;
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0); // inf, NaN
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00; // overflow
  if (e <= 0) {
    // Subnormal half (or zero): shift the mantissa with its implicit 1, rounding to nearest even.
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    const half = 1 << (shift - 1);
    let m = mant >>> shift;
    const rest = mant & ((1 << shift) - 1);
    if (rest > half || (rest === half && (m & 1))) m++;
    return sign | m;
  }
  let h = sign | (e << 10) | (mant >>> 13);
  const rest = mant & 0x1fff;
  // A carry out of the mantissa bumps the exponent, which is the right rounding (up to infinity).
  if (rest > 0x1000 || (rest === 0x1000 && (h & 1))) h++;
  return h;
}

/** float32 value of half bits h. */
export function fromHalfBits(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant ? NaN : sign * Infinity;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

/** The largest finite float16 value; larger magnitudes would become infinities. */
export const HALF_MAX = 65504;

/** Index of the first value outside float16's finite range, or -1. */
export function firstOutsideHalf(src: Float32Array): number {
  for (let k = 0; k < src.length; k++) if (Math.abs(src[k]!) > HALF_MAX) return k;
  return -1;
}

export function encodeHalf(src: Float32Array, out: Uint16Array = new Uint16Array(src.length)): Uint16Array {
  for (let k = 0; k < src.length; k++) out[k] = toHalfBits(src[k]!);
  return out;
}

export function decodeHalf(src: Uint16Array, out: Float32Array = new Float32Array(src.length)): Float32Array {
  for (let k = 0; k < src.length; k++) out[k] = fromHalfBits(src[k]!);
  return out;
}
