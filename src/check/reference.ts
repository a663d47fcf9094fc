/**
 * The float64 oracle: one GATv2 layer, forward and backward, computed the way PyG's GATv2Conv
 * computes it, with plain loops over the edge list. It shares no code with the TensorFlow.js
 * kernels, so agreeing with it means something. Equations cite docs/gradients.md.
 *
 * Evaluation mode: attention dropout is never applied here, whatever config.dropout says.
 */
import { InputError } from '../util/errors.js';
import { type GATv2Config, outputWidth, pygParamShapes } from '../model/config.js';
import { type Dense64, dense, formatShape, shapeEquals } from './dense.js';

export interface ReferenceInput {
  config: GATv2Config;
  numNodes: number;
  /** [sources, targets]: edge k goes from edgeIndex[0][k] to edgeIndex[1][k]. */
  edgeIndex: [Int32Array, Int32Array];
  /** N x F. */
  x: Dense64;
  /** E x edgeDim (or length E when edgeDim is 1); null exactly when config.edgeDim is null. */
  edgeAttr: Dense64 | null;
  /** PyG names and layouts (see pygParamShapes). */
  params: Record<string, Dense64>;
}

export interface ReferenceForward {
  /** N x (H*C) with concat, N x C without. */
  output: Dense64;
  /** The attention edges in PyG's order and alpha, one row [H] per attention edge. */
  attention: { edgeIndex: [Int32Array, Int32Array]; alpha: Dense64 };
}

/** Every intermediate of the forward pass; the backward pass and the kink check reuse them. */
export interface ReferenceTrace extends ReferenceForward {
  /** Attention edges: source j, destination i. */
  src: Int32Array;
  dst: Int32Array;
  /** Input edge behind each attention edge, or -1 for a self loop added for node dst[k]. */
  origin: Int32Array;
  /** Per node: input in-edges kept (self loops excluded when addSelfLoops), for fill 'mean'. */
  keptInDegree: Int32Array;
  /** E' x D edge features of the attention edges (loops get the mean), or null. */
  edgeFeat: Float64Array | null;
  /** N x HC source projection (the message) and target projection. */
  xl: Float64Array;
  xr: Float64Array;
  /** E' x HC pre-activation z_k = xr[i] + xl[j] + W_e e_k. */
  z: Float64Array;
  /** E' x H attention weights. */
  alpha: Float64Array;
  /** N x HC aggregated heads, before mean/bias/residual. */
  out: Float64Array;
}

interface Dims {
  n: number;
  f: number;
  h: number;
  c: number;
  hc: number;
  w: number;
  d: number;
}

/** Shape checks on everything the reference reads; messages name the offending field or edge. */
function validate(input: ReferenceInput): Dims {
  const cfg = input.config;
  const n = input.numNodes;
  const f = cfg.inChannels;
  if (!shapeEquals(input.x.shape, [n, f])) {
    throw new InputError(`x has shape ${formatShape(input.x.shape)}, expected [${n},${f}] (num_nodes, in_channels)`);
  }
  const [srcs, dsts] = input.edgeIndex;
  if (srcs.length !== dsts.length) {
    throw new InputError(`edge_index has ${srcs.length} sources but ${dsts.length} targets`);
  }
  for (let k = 0; k < srcs.length; k++) {
    for (const node of [srcs[k]!, dsts[k]!]) {
      if (!(node >= 0 && node < n)) {
        throw new InputError(
          `edge ${k} (${srcs[k]} -> ${dsts[k]}) names node ${node} but num_nodes is ${n}`,
        );
      }
    }
  }
  const expected = pygParamShapes(cfg);
  for (const [name, shape] of Object.entries(expected)) {
    const p = input.params[name];
    if (p === undefined) throw new InputError(`param "${name}" is missing`);
    if (!shapeEquals(p.shape, shape)) {
      throw new InputError(`param "${name}" has shape ${formatShape(p.shape)}, expected ${formatShape(shape)}`);
    }
  }
  for (const name of Object.keys(input.params)) {
    if (!(name in expected)) throw new InputError(`unknown param "${name}" for this config`);
  }
  const e = srcs.length;
  const d = cfg.edgeDim ?? 0;
  if ((cfg.edgeDim === null) !== (input.edgeAttr === null)) {
    throw new InputError(`edge_attr must be given exactly when edge_dim is set (edge_dim is ${cfg.edgeDim})`);
  }
  if (input.edgeAttr !== null) {
    const s = input.edgeAttr.shape;
    const ok = shapeEquals(s, [e, d]) || (d === 1 && shapeEquals(s, [e]));
    if (!ok) throw new InputError(`edge_attr has shape ${formatShape(s)}, expected [${e},${d}] (edges, edge_dim)`);
  }
  const h = cfg.heads;
  const c = cfg.outChannels;
  return { n, f, h, c, hc: h * c, w: outputWidth(cfg), d };
}

/** y = x W^T + b for x [n, fin], W [fout, fin] (torch.nn.Linear layout), b [fout] or null. */
function linear(x: Float64Array, n: number, fin: number, w: Float64Array, fout: number, b: Float64Array | null) {
  const y = new Float64Array(n * fout);
  for (let r = 0; r < n; r++) {
    for (let o = 0; o < fout; o++) {
      let s = b ? b[o]! : 0;
      for (let q = 0; q < fin; q++) s += x[r * fin + q]! * w[o * fin + q]!;
      y[r * fout + o] = s;
    }
  }
  return y;
}

/**
 * The attention edge list (PyG: remove_self_loops, then add_self_loops with fill_value 'mean')
 * and the edge features that go with it.
 */
function attentionEdges(input: ReferenceInput, dims: Dims) {
  const [srcs, dsts] = input.edgeIndex;
  const loops = input.config.addSelfLoops;
  const kept: number[] = [];
  for (let k = 0; k < srcs.length; k++) if (!loops || srcs[k] !== dsts[k]) kept.push(k);
  const total = kept.length + (loops ? dims.n : 0);
  const src = new Int32Array(total);
  const dst = new Int32Array(total);
  const origin = new Int32Array(total).fill(-1);
  const keptInDegree = new Int32Array(dims.n);
  kept.forEach((k, pos) => {
    src[pos] = srcs[k]!;
    dst[pos] = dsts[k]!;
    origin[pos] = k;
    keptInDegree[dsts[k]!]!++;
  });
  if (loops) {
    for (let i = 0; i < dims.n; i++) {
      src[kept.length + i] = i;
      dst[kept.length + i] = i;
    }
  }
  let edgeFeat: Float64Array | null = null;
  if (input.edgeAttr !== null) {
    const d = dims.d;
    const ea = input.edgeAttr.data;
    edgeFeat = new Float64Array(total * d);
    kept.forEach((k, pos) => edgeFeat!.set(ea.subarray(k * d, (k + 1) * d), pos * d));
    if (loops) {
      // gradients.md "PyG's extensions": the loop of i carries the mean of i's kept incoming
      // edge features, zero when it has none.
      for (const k of kept) {
        const i = dsts[k]!;
        for (let q = 0; q < d; q++) edgeFeat[(kept.length + i) * d + q]! += ea[k * d + q]! / keptInDegree[i]!;
      }
    }
  }
  return { src, dst, origin, keptInDegree, edgeFeat };
}

/** Forward pass keeping every intermediate. */
export function referenceTrace(input: ReferenceInput): ReferenceTrace {
  const dims = validate(input);
  const { n, f, h, c, hc, w, d } = dims;
  const cfg = input.config;
  const p = input.params;
  const x = input.x.data;
  const { src, dst, origin, keptInDegree, edgeFeat } = attentionEdges(input, dims);
  const ne = src.length;

  // Projections: xl = X W_L^T + b_L (source, message), xr = X W_R^T + b_R (target).
  const xl = linear(x, n, f, p['lin_l.weight']!.data, hc, p['lin_l.bias']?.data ?? null);
  const xr = cfg.shareWeights ? xl : linear(x, n, f, p['lin_r.weight']!.data, hc, p['lin_r.bias']?.data ?? null);
  const edgeProj = edgeFeat ? linear(edgeFeat, ne, d, p['lin_edge.weight']!.data, hc, null) : null;

  // Score stage (eq. 1): z_k = xr[i] + xl[j] (+ W_e e_k), u = LeakyReLU(z), e_k = <a, u>.
  const att = p['att']!.data;
  const slope = cfg.negativeSlope;
  const z = new Float64Array(ne * hc);
  const score = new Float64Array(ne * h);
  for (let k = 0; k < ne; k++) {
    const i = dst[k]!;
    const j = src[k]!;
    for (let hh = 0; hh < h; hh++) {
      let s = 0;
      for (let cc = 0; cc < c; cc++) {
        const q = hh * c + cc;
        const zz = xr[i * hc + q]! + xl[j * hc + q]! + (edgeProj ? edgeProj[k * hc + q]! : 0);
        z[k * hc + q] = zz;
        s += att[q]! * (zz > 0 ? zz : slope * zz);
      }
      score[k * h + hh] = s;
    }
  }

  // Softmax stage (eq. 2), per destination and head, with the max subtracted. PyG adds 1e-16
  // to the denominator; it is >= 1 after the max subtraction, so that is below float64 rounding.
  const mx = new Float64Array(n * h).fill(-Infinity);
  for (let k = 0; k < ne; k++) {
    for (let hh = 0; hh < h; hh++) {
      const at = dst[k]! * h + hh;
      if (score[k * h + hh]! > mx[at]!) mx[at] = score[k * h + hh]!;
    }
  }
  const denom = new Float64Array(n * h);
  const alpha = new Float64Array(ne * h);
  for (let k = 0; k < ne; k++) {
    for (let hh = 0; hh < h; hh++) {
      const at = dst[k]! * h + hh;
      alpha[k * h + hh] = Math.exp(score[k * h + hh]! - mx[at]!);
      denom[at]! += alpha[k * h + hh]!;
    }
  }
  for (let k = 0; k < ne; k++) {
    for (let hh = 0; hh < h; hh++) alpha[k * h + hh]! /= denom[dst[k]! * h + hh]!;
  }

  // Aggregation stage (eq. 3): out_i = sum alpha_k xl[j]; a node without in-edges keeps 0.
  const out = new Float64Array(n * hc);
  for (let k = 0; k < ne; k++) {
    const i = dst[k]!;
    const j = src[k]!;
    for (let q = 0; q < hc; q++) out[i * hc + q]! += alpha[k * h + Math.floor(q / c)]! * xl[j * hc + q]!;
  }

  // Heads: concat, or mean over heads; then residual (W_res x, no bias) and the bias b.
  const y = new Float64Array(n * w);
  for (let i = 0; i < n; i++) {
    for (let q = 0; q < hc; q++) {
      if (cfg.concat) y[i * w + q] = out[i * hc + q]!;
      else y[i * w + (q % c)]! += out[i * hc + q]! / h;
    }
  }
  if (cfg.residual) {
    const res = linear(x, n, f, p['res.weight']!.data, w, null);
    for (let r = 0; r < y.length; r++) y[r]! += res[r]!;
  }
  const bias = p['bias'];
  if (bias) for (let r = 0; r < y.length; r++) y[r]! += bias.data[r % w]!;

  return {
    output: { shape: [n, w], data: y },
    attention: { edgeIndex: [src, dst], alpha: { shape: [ne, h], data: alpha } },
    src,
    dst,
    origin,
    keptInDegree,
    edgeFeat,
    xl,
    xr,
    z,
    alpha,
    out,
  };
}

export function referenceForward(input: ReferenceInput): ReferenceForward {
  const t = referenceTrace(input);
  return { output: t.output, attention: t.attention };
}

/** dW = dY^T X for Y = X W^T (dY [n, fout], X [n, fin]); dX += dY W. */
function linearBackward(dy: Float64Array, x: Float64Array, n: number, fin: number, w: Float64Array, fout: number, dx: Float64Array | null) {
  const dw = new Float64Array(fout * fin);
  const db = new Float64Array(fout);
  for (let r = 0; r < n; r++) {
    for (let o = 0; o < fout; o++) {
      const g = dy[r * fout + o]!;
      if (g === 0) continue;
      db[o]! += g;
      for (let q = 0; q < fin; q++) {
        dw[o * fin + q]! += g * x[r * fin + q]!;
        if (dx) dx[r * fin + q]! += g * w[o * fin + q]!;
      }
    }
  }
  return { dw, db };
}

/**
 * Gradients of loss = sum(output * upstream) with respect to every param, x and edge_attr
 * (same names and shapes as the inputs), following gradients.md "Backward".
 */
export function referenceBackward(
  input: ReferenceInput,
  upstream: Dense64,
): { forward: ReferenceForward; grads: Record<string, Dense64> } {
  const t = referenceTrace(input);
  const cfg = input.config;
  const p = input.params;
  const n = input.numNodes;
  const f = cfg.inChannels;
  const h = cfg.heads;
  const c = cfg.outChannels;
  const hc = h * c;
  const w = outputWidth(cfg);
  const d = cfg.edgeDim ?? 0;
  const ne = t.src.length;
  const x = input.x.data;
  if (!shapeEquals(upstream.shape, [n, w])) {
    throw new InputError(`upstream has shape ${formatShape(upstream.shape)}, expected [${n},${w}] like the output`);
  }
  const dy = upstream.data;
  const grads: Record<string, Dense64> = {};
  const dx = new Float64Array(n * f);

  // Output bias and residual: db = sum_i dL/dy_i; dW_res = dY^T X; dX += dY W_res.
  if (p['bias']) {
    const db = new Float64Array(w);
    for (let r = 0; r < dy.length; r++) db[r % w]! += dy[r]!;
    grads['bias'] = dense([w], db);
  }
  if (cfg.residual) {
    const { dw } = linearBackward(dy, x, n, f, p['res.weight']!.data, w, dx);
    grads['res.weight'] = dense([w, f], dw);
  }

  // G_i = dL/dout_i per head: the slice of dL/dy_i (concat) or dL/dy_i / H (mean over heads).
  const g = new Float64Array(n * hc);
  for (let i = 0; i < n; i++) {
    for (let q = 0; q < hc; q++) g[i * hc + q] = cfg.concat ? dy[i * w + q]! : dy[i * w + (q % c)]! / h;
  }

  // Aggregation stage: A_k = <G_i, xl[j]>, dL/dxl[j] += alpha_k G_i (message path).
  const dxl = new Float64Array(n * hc);
  const dxr = new Float64Array(n * hc);
  const A = new Float64Array(ne * h);
  for (let k = 0; k < ne; k++) {
    const i = t.dst[k]!;
    const j = t.src[k]!;
    for (let q = 0; q < hc; q++) {
      const hh = Math.floor(q / c);
      A[k * h + hh]! += g[i * hc + q]! * t.xl[j * hc + q]!;
      dxl[j * hc + q]! += t.alpha[k * h + hh]! * g[i * hc + q]!;
    }
  }
  // Softmax stage: dL/de_k = alpha_k (A_k - <G_i, out_i>), using sum_k' alpha_k' A_k' = <G_i, out_i>.
  const gDotOut = new Float64Array(n * h);
  for (let i = 0; i < n; i++) {
    for (let q = 0; q < hc; q++) gDotOut[i * h + Math.floor(q / c)]! += g[i * hc + q]! * t.out[i * hc + q]!;
  }
  // Score stage: delta_k[c] = dL/de_k a[c] s_k[c], with s = 1 where z > 0 else the slope (as
  // torch's leaky_relu backward); dL/da += dL/de_k u_k; delta flows to xr[i], xl[j] and W_e e_k.
  const att = p['att']!.data;
  const slope = cfg.negativeSlope;
  const datt = new Float64Array(hc);
  const delta = new Float64Array(ne * hc);
  for (let k = 0; k < ne; k++) {
    const i = t.dst[k]!;
    const j = t.src[k]!;
    for (let q = 0; q < hc; q++) {
      const hh = Math.floor(q / c);
      const de = t.alpha[k * h + hh]! * (A[k * h + hh]! - gDotOut[i * h + hh]!);
      const zz = t.z[k * hc + q]!;
      datt[q]! += de * (zz > 0 ? zz : slope * zz);
      const dl = de * att[q]! * (zz > 0 ? 1 : slope);
      delta[k * hc + q] = dl;
      dxr[i * hc + q]! += dl;
      dxl[j * hc + q]! += dl;
    }
  }
  grads['att'] = dense([1, h, c], datt);

  // Edge features: dW_e = sum_k delta_k e_k^T, dL/de_k = W_e^T delta_k; an added loop's
  // gradient is split evenly (1 / in-degree) over the input edges its mean was taken from.
  if (t.edgeFeat !== null && input.edgeAttr !== null) {
    const we = p['lin_edge.weight']!.data;
    const dFeat = new Float64Array(ne * d);
    const { dw } = linearBackward(delta, t.edgeFeat, ne, d, we, hc, dFeat);
    grads['lin_edge.weight'] = dense([hc, d], dw);
    const dEdge = new Float64Array(input.edgeAttr.data.length);
    const dLoop = new Float64Array(n * d);
    for (let k = 0; k < ne; k++) {
      const o = t.origin[k]!;
      for (let q = 0; q < d; q++) {
        if (o >= 0) dEdge[o * d + q]! += dFeat[k * d + q]!;
        else dLoop[t.dst[k]! * d + q]! += dFeat[k * d + q]!;
      }
    }
    for (let k = 0; k < ne; k++) {
      const o = t.origin[k]!;
      if (o < 0 || !cfg.addSelfLoops) continue;
      const i = t.dst[k]!;
      for (let q = 0; q < d; q++) dEdge[o * d + q]! += dLoop[i * d + q]! / t.keptInDegree[i]!;
    }
    grads['edge_attr'] = dense(input.edgeAttr.shape, dEdge);
  }

  // Projections: dW = dxl^T X, db = sum dxl, dX += dxl W (and the same for the target side).
  // With shared weights xr is xl, so both paths land on lin_l.
  const dl = cfg.shareWeights ? dxl.map((v, r) => v + dxr[r]!) : dxl;
  const left = linearBackward(dl, x, n, f, p['lin_l.weight']!.data, hc, dx);
  grads['lin_l.weight'] = dense([hc, f], left.dw);
  if (p['lin_l.bias']) grads['lin_l.bias'] = dense([hc], left.db);
  if (!cfg.shareWeights) {
    const right = linearBackward(dxr, x, n, f, p['lin_r.weight']!.data, hc, dx);
    grads['lin_r.weight'] = dense([hc, f], right.dw);
    if (p['lin_r.bias']) grads['lin_r.bias'] = dense([hc], right.db);
  }
  grads['x'] = dense([n, f], dx);
  return { forward: { output: t.output, attention: t.attention }, grads };
}
