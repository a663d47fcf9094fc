/**
 * Central finite differences of loss = sum(output * upstream) through referenceForward: a check
 * of referenceBackward that assumes nothing about the gradient formulas in gradients.md.
 */
import { type Dense64, sizeOf } from './dense.js';
import { Prng } from '../util/prng.js';
import { type ElementError, worstElementError } from '../util/rel-error.js';
import { type ReferenceInput, referenceBackward, referenceTrace } from './reference.js';
import { referenceMagnitudes } from './reference-magnitude.js';

/** Gradient entries checked on a tensor: flat row-major indices, their values and step sizes. */
export interface GradSubset {
  indices: number[];
  values: number[];
  /** The step each value was taken with (eps, or smaller where a step crossed a kink). */
  steps: number[];
}

export interface FiniteDiffOptions {
  /** Step size; shrunk (up to 4 times, by 10) at an entry whose step crosses a LeakyReLU kink. */
  eps?: number;
  /** Tensors with more entries are checked on this many entries drawn with `seed`. */
  maxEntriesPerTensor?: number;
  seed?: number;
}

export interface GradComparison {
  /** max |analytic - numeric| over the checked entries. */
  maxAbs: number;
  /** The worst per-element error (src/util/rel-error.ts; magnitudes: finiteDifferenceMagnitudes). */
  rel: number;
  /** Flat index of that element, -1 when every entry agrees exactly. */
  at: number;
  /** How many entries were compared. */
  checked: number;
}

/** Float64's unit roundoff, 2^-53. */
const FLOAT64_ROUNDOFF = 2 ** -53;

/** The tensors finite differences perturb: every param, x and edge_attr, by name. */
function perturbable(input: ReferenceInput): Record<string, Dense64> {
  const out: Record<string, Dense64> = { ...input.params, x: input.x };
  if (input.edgeAttr !== null) out['edge_attr'] = input.edgeAttr;
  return out;
}

/** A copy of the input whose tensors may be perturbed in place without touching the caller's. */
function cloneInput(input: ReferenceInput): ReferenceInput {
  const copy = (t: Dense64): Dense64 => ({ shape: [...t.shape], data: Float64Array.from(t.data) });
  const params: Record<string, Dense64> = {};
  for (const [k, v] of Object.entries(input.params)) params[k] = copy(v);
  return { ...input, x: copy(input.x), edgeAttr: input.edgeAttr && copy(input.edgeAttr), params };
}

/** Whether two traces put every z on the same side of the LeakyReLU kink. */
function sameSigns(a: Float64Array, b: Float64Array): boolean {
  for (let r = 0; r < a.length; r++) if (a[r]! > 0 !== b[r]! > 0) return false;
  return true;
}

/** The seeded subset of flat indices to check, or null for all of them. */
function pickIndices(size: number, max: number, rng: Prng): number[] | null {
  if (size <= max) return null;
  const all = Array.from({ length: size }, (_, i) => i);
  return rng.shuffle(all).slice(0, max).sort((a, b) => a - b);
}

/** Every entry (or a seeded subset, see maxEntriesPerTensor) of every perturbable tensor. */
export function finiteDifferenceGrads(
  input: ReferenceInput,
  upstream: Dense64,
  opts: FiniteDiffOptions = {},
): Record<string, GradSubset> {
  const eps0 = opts.eps ?? 1e-6;
  const maxEntries = opts.maxEntriesPerTensor ?? Infinity;
  const rng = new Prng(opts.seed ?? 1);
  const work = cloneInput(input);
  const g = upstream.data;

  // (L(theta + eps) - L(theta - eps)) / 2 eps, summed as sum((y+ - y-) * G) so the entries the
  // perturbation does not reach cancel exactly instead of adding rounding noise to the loss.
  const derivative = (t: Dense64, at: number): { value: number; step: number } => {
    const saved = t.data[at]!;
    let eps = eps0;
    for (let attempt = 0; ; attempt++) {
      t.data[at] = saved + eps;
      const plus = referenceTrace(work);
      t.data[at] = saved - eps;
      const minus = referenceTrace(work);
      t.data[at] = saved;
      // A step across z = 0 differentiates a kink, not the function; shrink it and retry.
      if (!sameSigns(plus.z, minus.z) && attempt < 4) {
        eps /= 10;
        continue;
      }
      let s = 0;
      const yp = plus.output.data;
      const ym = minus.output.data;
      for (let r = 0; r < yp.length; r++) s += (yp[r]! - ym[r]!) * g[r]!;
      return { value: s / (2 * eps), step: eps };
    }
  };

  const result: Record<string, GradSubset> = {};
  for (const [name, t] of Object.entries(perturbable(work))) {
    const size = sizeOf(t.shape);
    const indices = pickIndices(size, maxEntries, rng) ?? Array.from({ length: size }, (_, i) => i);
    const found = indices.map((at) => derivative(t, at));
    result[name] = { indices, values: found.map((r) => r.value), steps: found.map((r) => r.step) };
  }
  return result;
}

/**
 * The scale a finite difference is measured against, per checked entry: the magnitude of the
 * gradient's terms (reference-magnitude.ts) plus the difference's own rounding. The two float64
 * losses it subtracts are each wrong by up to 2^-53 sum_r M(y_r) |G_r|; divided by 2 eps, that
 * is what rounding alone can put in the quotient. The truncation error (eps^2 times a third
 * derivative) is far below both at eps = 1e-6 and is left out.
 */
export function finiteDifferenceMagnitudes(
  input: ReferenceInput, upstream: Dense64, numeric: Record<string, GradSubset>,
): Record<string, Float64Array> {
  const mags = referenceMagnitudes(input, upstream);
  let lossScale = 0;
  for (let r = 0; r < upstream.data.length; r++) lossScale += mags.output.data[r]! * Math.abs(upstream.data[r]!);
  const out: Record<string, Float64Array> = {};
  for (const [name, num] of Object.entries(numeric)) {
    const m = mags.grads[name]!.data;
    out[name] = Float64Array.from(num.indices, (at, r) => m[at]! + (FLOAT64_ROUNDOFF * lossScale) / num.steps[r]!);
  }
  return out;
}

/** Per-tensor agreement of analytic gradients with finite differences, per element. */
export function compareGrads(
  analytic: Record<string, Dense64>,
  numeric: Record<string, GradSubset>,
  magnitudes: Record<string, Float64Array>,
): Record<string, GradComparison> {
  const out: Record<string, GradComparison> = {};
  for (const [name, num] of Object.entries(numeric)) {
    const ana = analytic[name];
    if (ana === undefined) throw new Error(`compareGrads: no analytic gradient for "${name}"`);
    const ours = Float64Array.from(num.indices, (at) => ana.data[at]!);
    let maxAbs = 0;
    ours.forEach((v, r) => (maxAbs = Math.max(maxAbs, Math.abs(v - num.values[r]!))));
    const worst: ElementError = worstElementError(ours, num.values, magnitudes[name]!);
    out[name] = { maxAbs, rel: worst.value, at: worst.index < 0 ? -1 : num.indices[worst.index]!, checked: num.indices.length };
  }
  return out;
}

/** referenceBackward vs finite differences, per tensor. */
export function checkGradsByFiniteDifferences(
  input: ReferenceInput,
  upstream: Dense64,
  opts: FiniteDiffOptions = {},
): Record<string, GradComparison> {
  const { grads } = referenceBackward(input, upstream);
  const numeric = finiteDifferenceGrads(input, upstream, opts);
  return compareGrads(grads, numeric, finiteDifferenceMagnitudes(input, upstream, numeric));
}
