/**
 * A minimal float64 dense tensor for the oracle (src/check). Row-major, no TensorFlow.js: the
 * reference must not share any code with the kernels it is used to check.
 */
import { InputError } from '../util/errors.js';

export interface Dense64 {
  shape: number[];
  data: Float64Array;
}

/** Smallest denominator relError uses, so an all-zero reference does not divide by zero. */
export const TINY = 1e-300;

export function sizeOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** "[4,3]", the way error messages print shapes. */
export function formatShape(shape: readonly number[]): string {
  return `[${shape.join(',')}]`;
}

export function shapeEquals(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** A tensor of the given shape; data is copied (or zero-filled when omitted). */
export function dense(shape: readonly number[], data?: ArrayLike<number>): Dense64 {
  const n = sizeOf(shape);
  if (data !== undefined && data.length !== n) {
    throw new Error(`dense: ${data.length} values do not fill shape ${formatShape(shape)}`);
  }
  const out = new Float64Array(n);
  if (data !== undefined) out.set(data);
  return { shape: [...shape], data: out };
}

export function zeros(shape: readonly number[]): Dense64 {
  return dense(shape);
}

export function clone(t: Dense64): Dense64 {
  return { shape: [...t.shape], data: Float64Array.from(t.data) };
}

/** A short description of a JSON value for error messages: 12, NaN, "abc", null, an array... */
export function describeValue(v: unknown): string {
  if (typeof v === 'number') return String(v);
  if (typeof v === 'string') return JSON.stringify(v.length > 30 ? `${v.slice(0, 30)}...` : v);
  if (v === null) return 'null';
  if (Array.isArray(v)) return `an array of ${v.length}`;
  if (typeof v === 'object') return 'an object';
  return String(v);
}

/**
 * Nested JSON arrays of finite numbers -> Dense64. The shape is read from the first element at
 * each depth, then every element is checked against it. `field` names the value in messages
 * (InputError, e.g. `field "x[3][1]" is NaN, expected a finite number`); the caller adds the file.
 * With `shape`, the result must have exactly that shape; an empty array `[]` is accepted for any
 * shape whose first dimension is 0 (JSON cannot spell [0, D]).
 */
export function fromNested(value: unknown, shape?: readonly number[], field = 'value'): Dense64 {
  const inferred: number[] = [];
  let probe: unknown = value;
  while (Array.isArray(probe)) {
    inferred.push(probe.length);
    if (probe.length === 0) break;
    probe = probe[0];
  }
  const data = new Float64Array(sizeOf(inferred));
  let at = 0;
  const walk = (v: unknown, depth: number, path: string): void => {
    if (depth === inferred.length) {
      if (typeof v !== 'number' || !Number.isFinite(v)) {
        throw new InputError(`field "${path}" is ${describeValue(v)}, expected a finite number`);
      }
      data[at++] = v;
      return;
    }
    if (!Array.isArray(v)) {
      throw new InputError(`field "${path}" is ${describeValue(v)}, expected an array of ${inferred[depth]}`);
    }
    if (v.length !== inferred[depth]) {
      throw new InputError(
        `field "${path}" has ${v.length} entries, expected ${inferred[depth]} (ragged nested array)`,
      );
    }
    v.forEach((item, i) => walk(item, depth + 1, `${path}[${i}]`));
  };
  walk(value, 0, field);
  if (shape === undefined) return { shape: inferred, data };
  if (data.length === 0 && sizeOf(shape) === 0 && inferred.length === 1 && shape[0] === 0) {
    return { shape: [...shape], data };
  }
  if (!shapeEquals(inferred, shape)) {
    throw new InputError(`field "${field}" has shape ${formatShape(inferred)}, expected ${formatShape(shape)}`);
  }
  return { shape: inferred, data };
}

/** Dense64 -> nested arrays (for writing JSON). */
export function toNested(t: Dense64): unknown {
  if (t.shape.length === 0) return t.data[0];
  const build = (depth: number, offset: number): unknown => {
    const n = t.shape[depth]!;
    if (depth === t.shape.length - 1) return Array.from(t.data.subarray(offset, offset + n));
    const stride = sizeOf(t.shape.slice(depth + 1));
    return Array.from({ length: n }, (_, i) => build(depth + 1, offset + i * stride));
  };
  return build(0, 0);
}

export function maxAbs(t: Dense64 | ArrayLike<number>): number {
  const data = 'data' in t ? t.data : t;
  let m = 0;
  for (let i = 0; i < data.length; i++) {
    const a = Math.abs(data[i]!);
    if (a > m || Number.isNaN(a)) m = a; // NaN propagates so a broken tensor never looks fine
  }
  return m;
}

/** max |a - b| over all entries; the shapes must hold the same number of entries. */
export function maxAbsDiff(a: Dense64, b: Dense64): number {
  if (a.data.length !== b.data.length) {
    throw new Error(`maxAbsDiff: shapes ${formatShape(a.shape)} and ${formatShape(b.shape)} differ`);
  }
  let m = 0;
  for (let i = 0; i < a.data.length; i++) {
    const d = Math.abs(a.data[i]! - b.data[i]!);
    if (d > m || Number.isNaN(d)) m = d;
  }
  return m;
}

/** Per-tensor relative error: max|ours - ref| / max(max|ref|, tiny). NaN anywhere gives NaN. */
export function relError(ours: Dense64, ref: Dense64, tiny = TINY): number {
  return maxAbsDiff(ours, ref) / Math.max(maxAbs(ref), tiny);
}
