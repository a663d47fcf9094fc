/**
 * Central finite differences of loss = sum(output * upstream) through referenceForward: a check
 * of referenceBackward that assumes nothing about the gradient formulas in gradients.md.
 */
import { type Dense64, maxAbs, sizeOf } from './dense.js';
import { Prng } from '../util/prng.js';
import { type ReferenceInput, referenceBackward, referenceTrace } from './reference.js';

/** Gradient entries checked on a subset of a tensor: flat row-major indices and their values. */
export interface GradSubset {
  indices: number[];
  values: number[];
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
  /** maxAbs / max(max|analytic| over the whole tensor, max|numeric|, tiny). */
  rel: number;
  /** How many entries were compared. */
  checked: number;
}

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

export function finiteDifferenceGrads(
  input: ReferenceInput,
  upstream: Dense64,
  opts: FiniteDiffOptions = {},
): Record<string, Dense64 | GradSubset> {
  const eps0 = opts.eps ?? 1e-6;
  const maxEntries = opts.maxEntriesPerTensor ?? Infinity;
  const rng = new Prng(opts.seed ?? 1);
  const work = cloneInput(input);
  const g = upstream.data;

  // (L(theta + eps) - L(theta - eps)) / 2 eps, summed as sum((y+ - y-) * G) so the entries the
  // perturbation does not reach cancel exactly instead of adding rounding noise to the loss.
  const derivative = (t: Dense64, at: number): number => {
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
      return s / (2 * eps);
    }
  };

  const result: Record<string, Dense64 | GradSubset> = {};
  for (const [name, t] of Object.entries(perturbable(work))) {
    const size = sizeOf(t.shape);
    const subset = pickIndices(size, maxEntries, rng);
    if (subset === null) {
      const data = new Float64Array(size);
      for (let at = 0; at < size; at++) data[at] = derivative(t, at);
      result[name] = { shape: [...t.shape], data };
    } else {
      result[name] = { indices: subset, values: subset.map((at) => derivative(t, at)) };
    }
  }
  return result;
}

/** Per-tensor agreement of analytic gradients with finite differences (all or a subset). */
export function compareGrads(
  analytic: Record<string, Dense64>,
  numeric: Record<string, Dense64 | GradSubset>,
): Record<string, GradComparison> {
  const out: Record<string, GradComparison> = {};
  for (const [name, num] of Object.entries(numeric)) {
    const ana = analytic[name];
    if (ana === undefined) throw new Error(`compareGrads: no analytic gradient for "${name}"`);
    const indices = 'indices' in num ? num.indices : Array.from(ana.data.keys());
    const values = 'indices' in num ? num.values : Array.from(num.data);
    let worst = 0;
    indices.forEach((at, r) => {
      const d = Math.abs(ana.data[at]! - values[r]!);
      if (d > worst || Number.isNaN(d)) worst = d;
    });
    const scale = Math.max(maxAbs(ana), maxAbs(values), 1e-300);
    out[name] = { maxAbs: worst, rel: worst / scale, checked: indices.length };
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
  return compareGrads(grads, finiteDifferenceGrads(input, upstream, opts));
}
