/**
 * The kernels of the cpu and wasm backends as plain loops over typed arrays and the CSR layout
 * (src/graph/layout.ts). Each does O(E*H*C) work and allocates nothing of size E x N or N x N.
 * Both backends call these same functions; only how they reach the typed arrays differs
 * (kernels/typed-array-kernel.ts). Outputs are passed in zero-filled.
 */

type F32 = Float32Array;
type I32 = Int32Array;

export interface CsrArrays {
  rowPtr: I32;
  csrSrc: I32;
  csrDst: I32;
}

/** gradients.md eq. 1: e[p,h] = sum_c a[h,c] LeakyReLU(xr[i] + xl[j] (+ ep[p]))[h,c]. */
export function scoreForward(
  g: CsrArrays, xl: F32, xr: F32, att: F32, ep: F32 | null,
  H: number, C: number, slope: number, e: F32,
): void {
  const HC = H * C;
  const E = g.csrSrc.length;
  for (let p = 0; p < E; p++) {
    const jo = g.csrSrc[p] * HC, io = g.csrDst[p] * HC, po = p * HC;
    for (let h = 0; h < H; h++) {
      let s = 0;
      const ho = h * C;
      for (let c = 0; c < C; c++) {
        let z = xr[io + ho + c] + xl[jo + ho + c];
        if (ep !== null) z += ep[po + ho + c];
        s += att[ho + c] * (z > 0 ? z : slope * z);
      }
      e[p * H + h] = s;
    }
  }
}

/**
 * gradients.md "Score stage": delta_k[c] = dE_k a[c] s_k[c]; dL/da[c] += dE_k u_k[c];
 * dxr[i] += delta_k; dxl[j] += delta_k; dep[k] = delta_k. z is recomputed, not stored.
 */
export function scoreBackward(
  g: CsrArrays, xl: F32, xr: F32, att: F32, ep: F32 | null, dE: F32,
  H: number, C: number, slope: number,
  dxl: F32, dxr: F32, dAtt: F32, dEp: F32 | null,
): void {
  const HC = H * C;
  const E = g.csrSrc.length;
  for (let p = 0; p < E; p++) {
    const jo = g.csrSrc[p] * HC, io = g.csrDst[p] * HC, po = p * HC;
    for (let h = 0; h < H; h++) {
      const de = dE[p * H + h];
      if (de === 0) continue;
      const ho = h * C;
      for (let c = 0; c < C; c++) {
        let z = xr[io + ho + c] + xl[jo + ho + c];
        if (ep !== null) z += ep[po + ho + c];
        const pos = z > 0;
        dAtt[ho + c] += de * (pos ? z : slope * z);
        const delta = de * att[ho + c] * (pos ? 1 : slope);
        dxr[io + ho + c] += delta;
        dxl[jo + ho + c] += delta;
        if (dEp !== null) dEp[po + ho + c] = delta;
      }
    }
  }
}

/** Largest e[p, h] over the CSR positions start..end-1 (a non-empty row). */
function rowMax(e: F32, start: number, end: number, h: number, H: number): number {
  let m = -Infinity;
  for (let p = start; p < end; p++) m = Math.max(m, e[p * H + h]);
  return m;
}

/** gradients.md eq. 2, per destination row and head, with the row max subtracted. */
export function softmaxForward(rowPtr: I32, e: F32, H: number, alpha: F32): void {
  const N = rowPtr.length - 1;
  for (let i = 0; i < N; i++) {
    const start = rowPtr[i], end = rowPtr[i + 1];
    if (start === end) continue;
    for (let h = 0; h < H; h++) {
      const m = rowMax(e, start, end, h, H);
      let sum = 0;
      for (let p = start; p < end; p++) {
        const v = Math.exp(e[p * H + h] - m);
        alpha[p * H + h] = v;
        sum += v;
      }
      const inv = 1 / sum;
      for (let p = start; p < end; p++) alpha[p * H + h] *= inv;
    }
  }
}

/** gradients.md "Softmax stage": dE_k = alpha_k (dAlpha_k - sum_{k'->i} alpha_k' dAlpha_k'). */
export function softmaxBackward(rowPtr: I32, alpha: F32, dAlpha: F32, H: number, dE: F32): void {
  const N = rowPtr.length - 1;
  for (let i = 0; i < N; i++) {
    const start = rowPtr[i], end = rowPtr[i + 1];
    for (let h = 0; h < H; h++) {
      let dot = 0;
      for (let p = start; p < end; p++) dot += alpha[p * H + h] * dAlpha[p * H + h];
      for (let p = start; p < end; p++) dE[p * H + h] = alpha[p * H + h] * (dAlpha[p * H + h] - dot);
    }
  }
}

/** Per-row max of e (0 for an empty row): the shift the autograd twin subtracts. */
export function segmentMax(rowPtr: I32, e: F32, H: number, m: F32): void {
  const N = rowPtr.length - 1;
  for (let i = 0; i < N; i++) {
    const start = rowPtr[i], end = rowPtr[i + 1];
    if (start === end) continue;
    for (let h = 0; h < H; h++) m[i * H + h] = rowMax(e, start, end, h, H);
  }
}

/** gradients.md eq. 3: out[i,h,:] = sum_{k: j->i} alpha_k xl[j,h,:]. */
export function aggregateForward(g: CsrArrays, alpha: F32, xl: F32, H: number, C: number, out: F32): void {
  const HC = H * C;
  const N = g.rowPtr.length - 1;
  for (let i = 0; i < N; i++) {
    const io = i * HC;
    for (let p = g.rowPtr[i]; p < g.rowPtr[i + 1]; p++) {
      const jo = g.csrSrc[p] * HC;
      for (let h = 0; h < H; h++) {
        const a = alpha[p * H + h];
        const ho = h * C;
        for (let c = 0; c < C; c++) out[io + ho + c] += a * xl[jo + ho + c];
      }
    }
  }
}

/** gradients.md "Aggregation stage": A_k = <G_i, xl[j]>; dxl[j] += alpha_k G_i. */
export function aggregateBackward(
  g: CsrArrays, alpha: F32, xl: F32, dOut: F32, H: number, C: number, dAlpha: F32, dxl: F32,
): void {
  const HC = H * C;
  const E = g.csrSrc.length;
  for (let p = 0; p < E; p++) {
    const jo = g.csrSrc[p] * HC, io = g.csrDst[p] * HC;
    for (let h = 0; h < H; h++) {
      const a = alpha[p * H + h];
      const ho = h * C;
      let dot = 0;
      for (let c = 0; c < C; c++) {
        const gi = dOut[io + ho + c];
        dot += gi * xl[jo + ho + c];
        dxl[jo + ho + c] += a * gi;
      }
      dAlpha[p * H + h] = dot;
    }
  }
}

type Typed = Float32Array | Int32Array | Uint8Array;

/** out[ids[r], :] += x[r, :]; rows whose id is outside [0, numSegments) are dropped, as in TF. */
export function unsortedSegmentSum(x: Typed, ids: I32, inner: number, numSegments: number, out: Typed): void {
  for (let r = 0; r < ids.length; r++) {
    const s = ids[r];
    if (s < 0 || s >= numSegments) continue;
    const xo = r * inner, oo = s * inner;
    for (let c = 0; c < inner; c++) out[oo + c] += x[xo + c];
  }
}

/** out[r, :] = x[idx[r], :]; an index outside [0, rows) throws (TF.js reports the same). */
export function gatherRows(x: Typed, idx: I32, inner: number, rows: number, out: Typed): void {
  for (let r = 0; r < idx.length; r++) {
    const s = idx[r];
    if (s < 0 || s >= rows) throw new Error(`gather: index ${s} at position ${r} is not in [0, ${rows})`);
    const xo = s * inner, oo = r * inner;
    for (let c = 0; c < inner; c++) out[oo + c] = x[xo + c];
  }
}

/** y[i,:] = sum_t values[t] W[colIdx[t], :] over row i's non-zeros (sparse X times dense W). */
export function sparseMatMul(rowPtr: I32, colIdx: I32, values: F32, w: F32, K: number, y: F32): void {
  const N = rowPtr.length - 1;
  for (let i = 0; i < N; i++) {
    const yo = i * K;
    for (let t = rowPtr[i]; t < rowPtr[i + 1]; t++) {
      const v = values[t], wo = colIdx[t] * K;
      for (let k = 0; k < K; k++) y[yo + k] += v * w[wo + k];
    }
  }
}

/** dW = X^T dY for the same sparse X: dW[colIdx[t], :] += values[t] dY[i, :]. */
export function sparseMatMulGrad(rowPtr: I32, colIdx: I32, values: F32, dy: F32, K: number, dw: F32): void {
  const N = rowPtr.length - 1;
  for (let i = 0; i < N; i++) {
    const yo = i * K;
    for (let t = rowPtr[i]; t < rowPtr[i + 1]; t++) {
      const v = values[t], wo = colIdx[t] * K;
      for (let k = 0; k < K; k++) dw[wo + k] += v * dy[yo + k];
    }
  }
}

/**
 * One Adam step (names.ts ADAM_UPDATE, torch.optim.Adam): g = grad + wd p, m' = b1 m + (1 - b1) g,
 * v' = b2 v + (1 - b2) g^2, p' = p - stepSize m' / (sqrt(v') / sqrtBc2 + eps).
 *
 * Rounding: the scalars are rounded to float32 once (as the op path's scalar tensors are), each
 * element is evaluated in float64 from its float32 inputs, and each output is rounded to float32
 * once, on its store (p' uses the float64 m' and v'). The op path rounds after every one of its
 * ~13 ops; this differs from it in the last bit or two (and is closer to the exact value).
 * Rounding after every step with Math.fround gives the op path's bits on cpu, but made this loop
 * about twice as slow: on wasm, slower than the op path's XNNPACK kernels; this one is on par.
 */
export function adamUpdate(
  p: F32, m: F32, v: F32, g: F32,
  beta1: number, beta2: number, epsilon: number, weightDecay: number, stepSize: number, sqrtBc2: number,
  pOut: F32, mOut: F32, vOut: F32,
): void {
  const f = Math.fround;
  const b1 = f(beta1), c1 = f(1 - beta1), b2 = f(beta2), c2 = f(1 - beta2);
  const eps = f(epsilon), wd = f(weightDecay), step = f(stepSize), sb2 = f(sqrtBc2);
  const n = p.length;
  for (let k = 0; k < n; k++) {
    const gk = g[k] + wd * p[k];
    const mk = m[k] * b1 + gk * c1;
    const vk = v[k] * b2 + gk * gk * c2;
    mOut[k] = mk;
    vOut[k] = vk;
    pOut[k] = p[k] - (mk / (Math.sqrt(vk) / sb2 + eps)) * step;
  }
}

/**
 * dW = x^T dy, the weight gradient of y = x W (gradients.md "Projections": dW_L = x~^T dxl), for
 * dense x [N, F] and dy [N, K]: dW[f, :] += x[r, f] dy[r, :] over the rows r in order. The
 * reference of GatV2WeightGrad (names.ts WEIGHT_GRAD); x already dropped out where it applies.
 */
export function weightGrad(x: F32, dy: F32, N: number, F: number, K: number, dw: F32): void {
  for (let r = 0; r < N; r++) {
    for (let f = 0; f < F; f++) {
      const a = x[r * F + f];
      const wo = f * K, yo = r * K;
      for (let k = 0; k < K; k++) dw[wo + k] += a * dy[yo + k];
    }
  }
}
