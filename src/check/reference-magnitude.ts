/**
 * The magnitude of every number the float64 reference (reference.ts) produces: next to each output,
 * attention weight and gradient, the sum of the absolute values of the terms that make it, which
 * src/util/rel-error.ts divides by. It is the reference's own expression evaluated with every
 * input, product and sum in absolute value (a difference becomes a sum), so it is the scale of the
 * rounding error of any float32 evaluation of the same maths: float32 analytic and autograd are
 * each within a small multiple of float32's unit roundoff of the exact value, relative to it.
 * Where both factors of a product are themselves computed (alpha (A - <G, out>), dL/de u, alpha xl)
 * the product's magnitude is M(a) |b| + |a| M(b), how their errors propagate to first order:
 * M(a) M(b) would count the rounding of one factor's terms times the other's terms, and overstate
 * by orders of magnitude when both cancel.
 *
 * Two places are not sums of products and take their first-order error instead:
 * - LeakyReLU: the error of z passes scaled by the slope on its side of the kink (1 or |slope|).
 * - Softmax: an absolute error dz in the scores moves alpha_k by alpha_k (dz_k - sum_k' alpha_k'
 *   dz_k'), so M(alpha_k) = alpha_k (1 + M(s_k) + sum_k' alpha_k' M(s_k')), the 1 for the exp and
 *   the division themselves. Large scores (hundreds) thus give alpha a large magnitude, as they
 *   give float32 alpha a large error. Below float32's smallest normal number (2^-126) alpha
 *   loses its precision or flushes to zero; FLOAT32_UNDERFLOW_MAGNITUDE is the magnitude whose
 *   rounding that absolute error is, added to every alpha.
 */
import { outputWidth } from '../model/config.js';
import { type Dense64, dense } from './dense.js';
import { edgeAttrGrad, headsResidualBias, linear, linearBackward, type ReferenceInput, type ReferenceTrace, referenceTrace } from './reference.js';

/** 2^-126 (float32's smallest normal) over 2^-24 (its unit roundoff). */
const FLOAT32_UNDERFLOW_MAGNITUDE = 2 ** -102;

export interface ReferenceMagnitudes {
  output: Dense64;
  /** Attention weights, in the reference's (PyG's) edge order. */
  alpha: Dense64;
  /** Same names and shapes as referenceBackward's grads. */
  grads: Record<string, Dense64>;
}

/** Magnitudes of the forward intermediates the backward reuses. */
interface ForwardMagnitudes {
  ef: Float64Array | null;
  xl: Float64Array;
  xr: Float64Array;
  u: Float64Array;
  alpha: Float64Array;
  out: Float64Array;
  y: Float64Array;
}

function absOf(a: Float64Array): Float64Array {
  return a.map(Math.abs);
}

/** The factor the LeakyReLU applies at z (the side of the kink the reference is on). */
function slopeAt(z: number, slope: number): number {
  return z > 0 ? 1 : Math.abs(slope);
}

/** |edge features| of the attention edges; an added loop's mean is sum |e| / in-degree. */
function edgeFeatureMagnitudes(input: ReferenceInput, t: ReferenceTrace, d: number): Float64Array | null {
  if (input.edgeAttr === null || t.edgeFeat === null) return null;
  const ea = input.edgeAttr.data;
  const ne = t.src.length;
  const out = new Float64Array(ne * d);
  const loopAt = new Int32Array(input.numNodes).fill(-1);
  for (let k = 0; k < ne; k++) if (t.origin[k]! < 0) loopAt[t.dst[k]!] = k;
  for (let k = 0; k < ne; k++) {
    const o = t.origin[k]!;
    if (o < 0) continue;
    const loop = loopAt[t.dst[k]!]!;
    for (let q = 0; q < d; q++) {
      out[k * d + q] = Math.abs(ea[o * d + q]!);
      if (loop >= 0) out[loop * d + q]! += Math.abs(ea[o * d + q]!) / t.keptInDegree[t.dst[k]!]!;
    }
  }
  return out;
}

/** M(u) for the LeakyReLU outputs and M(alpha) (file comment), per attention edge. */
function attentionMagnitudes(input: ReferenceInput, t: ReferenceTrace, xl: Float64Array, xr: Float64Array, ep: Float64Array | null) {
  const { heads: h, outChannels: c, negativeSlope: slope } = input.config;
  const hc = h * c;
  const ne = t.src.length;
  const att = input.params['att']!.data;
  const u = new Float64Array(ne * hc);
  const score = new Float64Array(ne * h);
  for (let k = 0; k < ne; k++) {
    const i = t.dst[k]!, j = t.src[k]!;
    for (let q = 0; q < hc; q++) {
      const z = xr[i * hc + q]! + xl[j * hc + q]! + (ep ? ep[k * hc + q]! : 0);
      u[k * hc + q] = slopeAt(t.z[k * hc + q]!, slope) * z;
      score[k * h + Math.floor(q / c)]! += Math.abs(att[q]!) * u[k * hc + q]!;
    }
  }
  const weighted = new Float64Array(input.numNodes * h);
  for (let k = 0; k < ne; k++) for (let hh = 0; hh < h; hh++) weighted[t.dst[k]! * h + hh]! += t.alpha[k * h + hh]! * score[k * h + hh]!;
  const alpha = new Float64Array(ne * h);
  for (let k = 0; k < ne; k++) {
    for (let hh = 0; hh < h; hh++) {
      alpha[k * h + hh] = t.alpha[k * h + hh]! * (1 + score[k * h + hh]! + weighted[t.dst[k]! * h + hh]!) + FLOAT32_UNDERFLOW_MAGNITUDE;
    }
  }
  return { u, alpha };
}

function forwardMagnitudes(input: ReferenceInput, t: ReferenceTrace): ForwardMagnitudes {
  const cfg = input.config;
  const n = input.numNodes, f = cfg.inChannels, h = cfg.heads, c = cfg.outChannels, hc = h * c;
  const d = cfg.edgeDim ?? 0;
  const p = (name: string) => absOf(input.params[name]!.data);
  const has = (name: string) => input.params[name] !== undefined;
  const x = absOf(input.x.data);
  const xl = linear(x, n, f, p('lin_l.weight'), hc, has('lin_l.bias') ? p('lin_l.bias') : null);
  const xr = cfg.shareWeights ? xl : linear(x, n, f, p('lin_r.weight'), hc, has('lin_r.bias') ? p('lin_r.bias') : null);
  const ef = edgeFeatureMagnitudes(input, t, d);
  const ep = ef ? linear(ef, t.src.length, d, p('lin_edge.weight'), hc, null) : null;
  const { u, alpha } = attentionMagnitudes(input, t, xl, xr, ep);
  const out = new Float64Array(n * hc);
  for (let k = 0; k < t.src.length; k++) {
    const i = t.dst[k]!, j = t.src[k]!;
    for (let q = 0; q < hc; q++) {
      const hh = k * h + Math.floor(q / c);
      out[i * hc + q]! += alpha[hh]! * Math.abs(t.xl[j * hc + q]!) + t.alpha[hh]! * xl[j * hc + q]!;
    }
  }
  const y = headsResidualBias(out, x, cfg, n, (name) => (has(name) ? p(name) : undefined));
  return { ef, xl, xr, u, alpha, out, y };
}

/** A_k = <G_i, xl[j]> and <G_i, out_i> per head, as reference.ts computes them (signed). */
function softmaxInputs(input: ReferenceInput, t: ReferenceTrace, g: Float64Array) {
  const { heads: h, outChannels: c } = input.config;
  const hc = h * c, ne = t.src.length;
  const A = new Float64Array(ne * h), gDotOut = new Float64Array(input.numNodes * h);
  for (let k = 0; k < ne; k++) {
    for (let q = 0; q < hc; q++) A[k * h + Math.floor(q / c)]! += g[t.dst[k]! * hc + q]! * t.xl[t.src[k]! * hc + q]!;
  }
  for (let i = 0; i < input.numNodes; i++) for (let q = 0; q < hc; q++) gDotOut[i * h + Math.floor(q / c)]! += g[i * hc + q]! * t.out[i * hc + q]!;
  return { A, gDotOut };
}

/**
 * Magnitudes of the attention part of the backward (reference.ts, "Aggregation" to "Score"):
 * M(dxl), M(dxr), M(datt) and M(delta) per attention edge, from the upstream G (exact, so M(G) =
 * |G|).
 */
function attentionBackwardMagnitudes(input: ReferenceInput, t: ReferenceTrace, m: ForwardMagnitudes, g: Float64Array) {
  const { heads: h, outChannels: c, negativeSlope: slope } = input.config;
  const hc = h * c, n = input.numNodes, ne = t.src.length;
  const att = input.params['att']!.data;
  const { A, gDotOut } = softmaxInputs(input, t, g);
  const dxl = new Float64Array(n * hc), dxr = new Float64Array(n * hc);
  const mA = new Float64Array(ne * h), mGDotOut = new Float64Array(n * h);
  for (let k = 0; k < ne; k++) {
    const i = t.dst[k]!, j = t.src[k]!;
    for (let q = 0; q < hc; q++) {
      const hh = Math.floor(q / c);
      mA[k * h + hh]! += Math.abs(g[i * hc + q]!) * m.xl[j * hc + q]!;
      dxl[j * hc + q]! += m.alpha[k * h + hh]! * Math.abs(g[i * hc + q]!);
    }
  }
  for (let i = 0; i < n; i++) for (let q = 0; q < hc; q++) mGDotOut[i * h + Math.floor(q / c)]! += Math.abs(g[i * hc + q]!) * m.out[i * hc + q]!;
  const datt = new Float64Array(hc), delta = new Float64Array(ne * hc);
  for (let k = 0; k < ne; k++) {
    const i = t.dst[k]!, j = t.src[k]!;
    for (let hh = 0; hh < h; hh++) {
      // dL/de_k = alpha_k (A_k - <G_i, out_i>): the difference's magnitude is the sum.
      const e = k * h + hh, diff = A[e]! - gDotOut[i * h + hh]!;
      const de = t.alpha[e]! * diff, mDe = m.alpha[e]! * Math.abs(diff) + t.alpha[e]! * (mA[e]! + mGDotOut[i * h + hh]!);
      for (let q = hh * c; q < (hh + 1) * c; q++) {
        const z = t.z[k * hc + q]!, s = slopeAt(z, slope);
        datt[q]! += mDe * s * Math.abs(z) + Math.abs(de) * m.u[k * hc + q]!;
        const dl = mDe * Math.abs(att[q]!) * s;
        delta[k * hc + q] = dl;
        dxr[i * hc + q]! += dl;
        dxl[j * hc + q]! += dl;
      }
    }
  }
  return { dxl, dxr, datt, delta };
}

/**
 * Per output, attention weight and gradient of referenceBackward(input, upstream): the magnitude
 * of its terms (file comment). The inputs, weights and upstream are taken as exact.
 */
export function referenceMagnitudes(input: ReferenceInput, upstream: Dense64): ReferenceMagnitudes {
  const t = referenceTrace(input);
  const m = forwardMagnitudes(input, t);
  const cfg = input.config;
  const n = input.numNodes, f = cfg.inChannels, h = cfg.heads, c = cfg.outChannels, hc = h * c, w = outputWidth(cfg);
  const d = cfg.edgeDim ?? 0;
  const p = (name: string) => absOf(input.params[name]!.data);
  const x = absOf(input.x.data);
  const dy = absOf(upstream.data);
  const grads: Record<string, Dense64> = {};
  const dx = new Float64Array(n * f);
  if (input.params['bias']) {
    const db = new Float64Array(w);
    for (let r = 0; r < dy.length; r++) db[r % w]! += dy[r]!;
    grads['bias'] = dense([w], db);
  }
  if (cfg.residual) grads['res.weight'] = dense([w, f], linearBackward(dy, x, n, f, p('res.weight'), w, dx).dw);
  // G = dL/dout per head, signed: the attention part needs A_k and <G, out> themselves.
  const up = upstream.data, g = new Float64Array(n * hc);
  for (let i = 0; i < n; i++) for (let q = 0; q < hc; q++) g[i * hc + q] = cfg.concat ? up[i * w + q]! : up[i * w + (q % c)]! / h;
  const { dxl, dxr, datt, delta } = attentionBackwardMagnitudes(input, t, m, g);
  grads['att'] = dense([1, h, c], datt);
  if (m.ef !== null && input.edgeAttr !== null) {
    const dFeat = new Float64Array(t.src.length * d);
    grads['lin_edge.weight'] = dense([hc, d], linearBackward(delta, m.ef, t.src.length, d, p('lin_edge.weight'), hc, dFeat).dw);
    grads['edge_attr'] = dense(input.edgeAttr.shape, edgeAttrGrad(dFeat, t, input.edgeAttr.data.length, n, d, cfg.addSelfLoops));
  }
  const dl = cfg.shareWeights ? dxl.map((v, r) => v + dxr[r]!) : dxl;
  const left = linearBackward(dl, x, n, f, p('lin_l.weight'), hc, dx);
  grads['lin_l.weight'] = dense([hc, f], left.dw);
  if (input.params['lin_l.bias']) grads['lin_l.bias'] = dense([hc], left.db);
  if (!cfg.shareWeights) {
    const right = linearBackward(dxr, x, n, f, p('lin_r.weight'), hc, dx);
    grads['lin_r.weight'] = dense([hc, f], right.dw);
    if (input.params['lin_r.bias']) grads['lin_r.bias'] = dense([hc], right.db);
  }
  grads['x'] = dense([n, f], dx);
  return { output: dense([n, w], m.y), alpha: dense([t.src.length, h], m.alpha), grads };
}
