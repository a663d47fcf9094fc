/**
 * The host counts of src/diagnostics/layer-flow.ts, with loops over the CSR layout
 * (src/graph/layout.ts: destination i's in-edges are positions rowPtr[i]..rowPtr[i+1]), after
 * gradients.md "What the paper's closed forms say": the in-degree-1 destinations, the
 * (node, head, channel) triples whose pre-activations all sit on one side of the LeakyReLU, and
 * the attention entropy per (node, head). Every array is the layer's, read back from the backend.
 */
import { histogram, maxAbs, share, summarize } from './stats.js';
import type { AttentionStats, LeakySides, Starvation, Thresholds } from '../run/diagnostics-record.js';

export interface HostFlow {
  rowPtr: Int32Array;
  csrSrc: Int32Array;
  heads: number;
  channels: number;
  /** [N, H*C] projections, [E, H*C] edge term or null, [E, H] alpha and dL/dalpha, [N, H*C] dL/dxr. */
  xl: Float32Array;
  xr: Float32Array;
  edgeProj: Float32Array | null;
  alpha: Float32Array;
  dAlpha: Float32Array;
  dxr: Float32Array;
}

function isZeroRow(a: Float32Array, offset: number, width: number): boolean {
  for (let c = 0; c < width; c++) if (a[offset + c] !== 0) return false;
  return true;
}

/** In-degree 0 and 1, and which destinations' attention receives gradient. */
export function starvation(f: HostFlow): Starvation {
  const { rowPtr, heads: H } = f;
  const N = rowPtr.length - 1, HC = H * f.channels;
  let inDegreeOne = 0, inDegreeZero = 0, active = 0, activeOne = 0, activeZeroRow = 0;
  for (let i = 0; i < N; i++) {
    const start = rowPtr[i], end = rowPtr[i + 1], deg = end - start;
    if (deg === 0) {
      inDegreeZero++;
      continue;
    }
    if (deg === 1) inDegreeOne++;
    let isActive = false;
    for (let q = start * H; q < end * H && !isActive; q++) isActive = f.dAlpha[q] !== 0;
    if (!isActive) continue;
    active++;
    if (deg === 1) activeOne++;
    if (isZeroRow(f.dxr, i * HC, HC)) activeZeroRow++;
  }
  return {
    inDegreeOne,
    inDegreeOneShare: N > 0 ? inDegreeOne / N : 0,
    inDegreeZero,
    active,
    activeInDegreeOneShare: share(activeOne, active),
    activeZeroRowShare: share(activeZeroRow, active),
  };
}

/** positives[hc] = how many of destination i's in-edges have z_k[hc] > 0 (as the kernels: kernels/loops.ts). */
function countPositives(f: HostFlow, i: number, positives: Int32Array): void {
  const HC = f.heads * f.channels, io = i * HC, ep = f.edgeProj;
  positives.fill(0);
  for (let p = f.rowPtr[i]; p < f.rowPtr[i + 1]; p++) {
    const jo = f.csrSrc[p] * HC, po = p * HC;
    for (let hc = 0; hc < HC; hc++) {
      let z = f.xr[io + hc] + f.xl[jo + hc];
      if (ep !== null) z += ep[po + hc];
      if (z > 0) positives[hc]++;
    }
  }
}

/**
 * LeakyReLU sides. A one-side triple (i, h, c) has every s_k[c] equal, so every term of the
 * paper's pair form is 0 and dL/dxr[i,h,c] = 0 up to rounding (the kernels sum dL/de_k s_k, whose
 * cancellation is exact only in real arithmetic): oneSideResidual is its largest |dL/dxr| there
 * relative to the largest anywhere.
 */
export function leakySides(f: HostFlow): { leaky: LeakySides; oneSideResidual: number | null } {
  const { rowPtr, dxr } = f;
  const N = rowPtr.length - 1, HC = f.heads * f.channels;
  let triples = 0, oneSide = 0, noGrad = 0, allTriples = 0, negative = 0, zCount = 0, oneSideMax = 0;
  const positives = new Int32Array(HC);
  for (let i = 0; i < N; i++) {
    const deg = rowPtr[i + 1] - rowPtr[i];
    if (deg === 0) continue;
    countPositives(f, i, positives);
    for (let hc = 0; hc < HC; hc++) negative += deg - positives[hc];
    zCount += deg * HC;
    allTriples += HC;
    // In-degree 1: the pair sum is empty, dL/dxr[i] = 0 exactly (alpha = 1, dL/de = 1*(A - A) = 0).
    if (deg === 1) {
      noGrad += HC;
      continue;
    }
    triples += HC;
    for (let hc = 0; hc < HC; hc++) {
      if (positives[hc] === 0 || positives[hc] === deg) {
        oneSide++;
        noGrad++;
        oneSideMax = Math.max(oneSideMax, Math.abs(dxr[i * HC + hc]));
      }
    }
  }
  const dxrMax = maxAbs(dxr);
  return {
    leaky: {
      triples,
      oneSide,
      oneSideShare: share(oneSide, triples),
      noGradShare: share(noGrad, allTriples),
      negativeShare: share(negative, zCount),
    },
    oneSideResidual: oneSide > 0 && dxrMax > 0 ? oneSideMax / dxrMax : oneSide > 0 ? 0 : null,
  };
}

/** Attention entropy per (node, head) of in-degree >= 2, normalised by its largest value log(deg). */
export function attentionStats(
  f: HostFlow, inDegreeOne: number, opts: { thresholds: Thresholds; entropyBins: number },
): AttentionStats {
  const { rowPtr, alpha, heads: H } = f;
  const N = rowPtr.length - 1;
  // One entry per (node, head) of in-degree >= 2; at most N * H.
  const entropies = new Float64Array(N * H), maxAlphas = new Float64Array(N * H);
  let pairs = 0, uniform = 0, oneHot = 0;
  for (let i = 0; i < N; i++) {
    const start = rowPtr[i], end = rowPtr[i + 1], deg = end - start;
    if (deg < 2) continue;
    const logDeg = Math.log(deg);
    for (let h = 0; h < H; h++) {
      let ent = 0, mx = 0;
      for (let p = start; p < end; p++) {
        const a = alpha[p * H + h];
        if (a > 0) ent -= a * Math.log(a);
        if (a > mx) mx = a;
      }
      const norm = ent / logDeg;
      entropies[pairs] = norm;
      maxAlphas[pairs++] = mx;
      if (norm > opts.thresholds.uniformEntropy) uniform++;
      if (mx > opts.thresholds.oneHotAlpha) oneHot++;
    }
  }
  return {
    pairs,
    entropy: summarize(entropies.subarray(0, pairs)),
    entropyHistogram: histogram(entropies.subarray(0, pairs), opts.entropyBins, 0, 1),
    maxAlpha: summarize(maxAlphas.subarray(0, pairs)),
    nearlyUniformShare: share(uniform, pairs),
    nearlyOneHotShare: share(oneHot, pairs),
    inDegreeOne,
  };
}
