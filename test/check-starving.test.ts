/**
 * A gradient that nearly vanishes (Theta_R when the attention vector a is small: every score is
 * almost equal, so dL/dxr = sum_k dL/de_k a s_k starves) is checked as tightly as a large one.
 * Under the old measures (error over the tensor's peak; for parameter gradients, over 1% of the
 * layer's largest gradient, capped at 1e-3 of their own peak) a wrong small element passed; the
 * per-element measure over the magnitude of its terms fails it and passes the right one.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compare, DEFAULT_TOLERANCE } from '../src/check/gradcheck.js';
import { type Dense64, dense, maxAbs } from '../src/check/dense.js';
import { randomLayerCase } from '../src/check/random-layer.js';
import { referenceBackward } from '../src/check/reference.js';
import { referenceMagnitudes } from '../src/check/reference-magnitude.js';

/** The per-peak rule checkpoint-check.ts applied before: floored at 1% of the layer's largest. */
function oldFlooredOk(ours: Dense64, ref: Dense64, layerLargest: number): boolean {
  let diff = 0;
  for (let i = 0; i < ref.data.length; i++) diff = Math.max(diff, Math.abs(ours.data[i]! - ref.data[i]!));
  const peak = maxAbs(ref);
  return diff / Math.max(peak, 0.01 * layerLargest) <= DEFAULT_TOLERANCE && diff / peak <= 1e-3;
}

function starvingCase() {
  const { input, upstream } = randomLayerCase({ numNodes: 30, numEdges: 90, inChannels: 6, outChannels: 5, heads: 2, seed: 3 });
  const att = input.params['att']!;
  input.params['att'] = dense(att.shape, att.data.map((v) => v * 1e-4));
  const { grads } = referenceBackward(input, upstream);
  const mag = referenceMagnitudes(input, upstream).grads;
  return { grads, mag };
}

test('a starving Theta_R gradient: the right float32 values pass, a wrong small element fails', () => {
  const { grads, mag } = starvingCase();
  const ref = grads['lin_r.weight']!;
  const layerLargest = Math.max(...Object.entries(grads).filter(([n]) => n !== 'x').map(([, g]) => maxAbs(g)));
  assert.ok(maxAbs(ref) < 1e-3 * layerLargest, `Theta_R starves: ${maxAbs(ref)} against ${layerLargest}`);

  // Right: the reference rounded to float32, what a correct float32 evaluation gives at best.
  const right = dense(ref.shape, Float32Array.from(ref.data));
  assert.ok(compare(right, ref, mag['lin_r.weight']!, DEFAULT_TOLERANCE).ok);

  // Wrong: the element with the smallest terms, off by 0.09% of the tensor's peak (a small term
  // lost): within the old cap (1e-3 of its own peak), far outside that element's rounding.
  const m = mag['lin_r.weight']!.data;
  let at = 0;
  m.forEach((v, i) => { if (v < m[at]!) at = i; });
  const wrong = dense(ref.shape, right.data);
  wrong.data[at] = ref.data[at]! + 9e-4 * maxAbs(ref);
  assert.ok(oldFlooredOk(wrong, ref, layerLargest), 'the old per-peak rule lets it through');
  const c = compare(wrong, ref, mag['lin_r.weight']!, DEFAULT_TOLERANCE);
  assert.equal(c.ok, false, `per element it fails: ${c.rel}`);
  assert.ok(c.rel > 2 * DEFAULT_TOLERANCE, `by far: ${c.rel}`);
  assert.equal(c.at, `[${Math.floor(at / ref.shape[1]!)},${at % ref.shape[1]!}]`, 'and the message names the element');
});

test('a starving a gradient: every element is checked against its own terms, not the peak', () => {
  const { grads, mag } = starvingCase();
  const ref = grads['att']!;
  const right = dense(ref.shape, Float32Array.from(ref.data));
  assert.ok(compare(right, ref, mag['att']!, DEFAULT_TOLERANCE).ok);
  // Every element 0.1% too large: within 1e-3 of its peak (the old cap), far outside rounding.
  const wrong = dense(ref.shape, ref.data.map((v) => v * 1.001));
  assert.equal(compare(wrong, ref, mag['att']!, DEFAULT_TOLERANCE).ok, false);
});
