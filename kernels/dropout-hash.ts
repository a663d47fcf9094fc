/**
 * The dropout mask as a pure function of (seed, element index), the same on every backend.
 *
 * Why not TF.js's seeded randomUniform: it draws every number on the host in JavaScript (about
 * 0.5 s for one [169343, 256] mask here) and uploads it, and a training step of an ogbn-arxiv-sized
 * model needs seven such masks forward and the same seven again when the analytic backward
 * regenerates them: seconds per step on a GPU that does the rest in milliseconds. A counter-based
 * mask costs one integer hash per element, runs where the tensor lives, needs no stored mask and
 * no host round trip, and integer arithmetic gives the same bits in JavaScript and WGSL.
 *
 *   h_i  = mix32(mix32(i xor key) + seed),   key = mix32(seed xor 0x9e3779b9)
 *   keep_i = (h_i >> 8) >= T,                T = round(p * 2^24)
 *   y_i  = x_i * (keep_i ? scale : 0),       scale = float32(1 / (1 - p))
 *
 * mix32 is Chris Wellons' "lowbias32" integer finaliser (an avalanche hash with low bias).
 */

/**
 * lowbias32 on the 32 bits of v, as an int32 (the same bits as WGSL's u32 result). Math.imul keeps
 * products modulo 2^32, as u32 does; staying in int32 keeps V8 on small integers (uint32 values
 * above 2^31 would be heap doubles, about 5x slower in the loop below).
 */
function mix32i(v: number): number {
  let x = v | 0;
  x ^= x >>> 16;
  x = Math.imul(x, 0x7feb352d);
  x ^= x >>> 15;
  x = Math.imul(x, 0x846ca68b | 0);
  x ^= x >>> 16;
  return x;
}

/** lowbias32 on uint32 values. */
export function mix32(v: number): number {
  return mix32i(v) >>> 0;
}

/** The per-call constants of one mask. */
export interface DropoutConstants {
  /** uint32. */
  seed: number;
  /** uint32, mix32(seed ^ 0x9e3779b9). */
  key: number;
  /** Elements whose top 24 hash bits fall below this are dropped. */
  threshold: number;
  /** float32(1 / (1 - p)). */
  scale: number;
}

export function dropoutConstants(p: number, seed: number): DropoutConstants {
  if (!(p >= 0 && p < 1)) throw new Error(`dropout probability must be in [0, 1), got ${p}`);
  const s = seed >>> 0;
  return { seed: s, key: mix32(s ^ 0x9e3779b9), threshold: Math.round(p * 16777216), scale: Math.fround(1 / (1 - p)) };
}

/** out[i] = x[i] * scale where element i is kept, else x[i] * 0 (a signed zero, as in WGSL). */
export function dropoutLoop(x: Float32Array, c: DropoutConstants, out: Float32Array): void {
  const key = c.key | 0, seed = c.seed | 0, threshold = c.threshold, scale = c.scale;
  for (let i = 0; i < x.length; i++) {
    const h = mix32i((mix32i(i ^ key) + seed) | 0);
    // Branch-free (a random keep/drop branch mispredicts half the time): keep is 1 when
    // h >> 8 >= threshold (both below 2^24, so the difference's sign bit decides), else 0.
    const keep = 1 - (((h >>> 8) - threshold) >>> 31);
    out[i] = x[i]! * (scale * keep);
  }
}

/**
 * The same in WGSL: `dropoutKeep(index)` with uniforms seed and key (i32 bit patterns of the
 * uint32 values) and threshold.
 */
export const DROPOUT_WGSL = `
fn mix32(v : u32) -> u32 {
  var x = v;
  x = x ^ (x >> 16u);
  x = x * 0x7feb352du;
  x = x ^ (x >> 15u);
  x = x * 0x846ca68bu;
  x = x ^ (x >> 16u);
  return x;
}
fn dropoutKeep(index : i32) -> bool {
  let h = mix32(mix32(u32(index) ^ bitcast<u32>(uniforms.key)) + bitcast<u32>(uniforms.seed));
  return i32(h >> 8u) >= uniforms.threshold;
}
`;
