/**
 * Small seeded pseudo-random numbers, so random test cases are reproducible from a seed alone.
 * mulberry32 is a 32-bit generator with a full 2^32 period: plenty for test data, not for crypto.
 */

/** Uniform numbers in [0, 1) from a 32-bit seed. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A standard normal sample by Box-Muller (one of the pair; simplicity over speed). */
export function normalFrom(uniform: () => number): number {
  const u1 = 1 - uniform(); // in (0, 1], so log never sees 0
  const u2 = uniform();
  return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
}

/** Convenience wrapper over mulberry32 with the draws tests need. */
export class Prng {
  readonly uniform: () => number;

  constructor(seed: number) {
    this.uniform = mulberry32(seed);
  }

  /** Uniform in [lo, hi). */
  range(lo: number, hi: number): number {
    return lo + (hi - lo) * this.uniform();
  }

  /** Integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.uniform() * n);
  }

  normal(mean = 0, std = 1): number {
    return mean + std * normalFrom(this.uniform);
  }

  /** Fisher-Yates shuffle, in place. */
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      [items[i], items[j]] = [items[j]!, items[i]!];
    }
    return items;
  }
}

/**
 * A 32-bit seed derived from a seed and a path of integers (stream, epoch, layer, ...), so every
 * random draw of a run has its own seed and none depends on how many draws came before: that is
 * what lets a resumed run continue exactly. The mixer is murmur3's finaliser.
 */
export function deriveSeed(seed: number, ...path: number[]): number {
  let h = (seed ^ 0x9e3779b9) >>> 0;
  for (const p of [...path, path.length]) {
    h = Math.imul(h ^ (p >>> 0), 0x85ebca6b) >>> 0;
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35) >>> 0;
    h ^= h >>> 16;
  }
  return h >>> 0;
}
