/**
 * Gradient flow through one GATv2 layer, on the host, with loops over the CSR layout
 * (src/graph/layout.ts: destination i's in-edges are positions rowPtr[i]..rowPtr[i+1]).
 *
 * Input: the layer's own intermediates after `await data()`: xl, xr (and the edge projection),
 * att, alpha (before attention dropout) and the upstream dL/dalpha of the pass. The backward of
 * the softmax and score stages is run with the very functions the cpu and wasm kernels call
 * (kernels/simd/index.ts: WebAssembly SIMD, falling back to the JS loops of kernels/loops.ts), so
 * dL/dxr here is the analytic path's, bit for bit.
 *
 * What is counted, after gradients.md "The paper's main insight":
 *   dL/dxr[i,h,c] = a[h,c] * sum_{k -> i} dL/de_k s_k[c]
 *                 = a[h,c] / 2 * sum_{j,k in N(i)} alpha_ij alpha_ik (A_ij - A_ik)(s_ij[c] - s_ik[c])
 * - in-degree 1: the pair sum is empty, dL/dxr[i] = 0 exactly (alpha = 1, dL/de = 1*(A - A) = 0);
 * - one-side triples (i, h, c): every s_k[c] equal, every pair term 0, so dL/dxr[i,h,c] = 0 up to
 *   rounding (the loops sum dL/de_k s_k, whose cancellation is exact only in real arithmetic);
 * - the share of pre-activations z on the negative side, where s = c (the slope);
 * - the attention entropy per (node, head), normalised by log(in-degree).
 */
import { scoreBackward, softmaxBackward } from '../../kernels/simd/index.js';
import { histogram, maxAbs, share, summarize } from './stats.js';
import type { AttentionStats, LeakySides, Starvation, Thresholds } from '../run/diagnostics-record.js';

export interface LayerFlowInput {
  graph: { rowPtr: Int32Array; csrSrc: Int32Array; csrDst: Int32Array };
  heads: number;
  channels: number;
  negativeSlope: number;
  /** [N, H*C] source and target projections. */
  xl: Float32Array;
  xr: Float32Array;
  /** [E, H*C] projected edge features in CSR order, or null. */
  edgeProj: Float32Array | null;
  /** [H*C] attention vector. */
  att: Float32Array;
  /** [E, H] attention in CSR order, before attention dropout. */
  alpha: Float32Array;
  /** [E, H] upstream dL/dalpha (with attention dropout: the mask and 1/(1-p) are already in it). */
  dAlpha: Float32Array;
}

export interface LayerFlowOptions {
  thresholds: Thresholds;
  /** Bins of the entropy histogram over [0, 1]. */
  entropyBins: number;
}

export interface LayerFlow {
  /** [E, H] dL/de (softmax backward). */
  dE: Float32Array;
  /** [N, H*C] dL/dxr: node i's contribution to Theta_R's gradient is x_i^T dxr[i] (and dxr[i] for b_R). */
  dxr: Float32Array;
  /** [N, H*C] dL/dxl through the score stage only (the message path is not included). */
  dxlScore: Float32Array;
  /** [H*C] dL/da. */
  dAtt: Float32Array;
  starvation: Starvation;
  leaky: LeakySides;
  attention: AttentionStats;
  /** See Consistency.oneSideResidual. */
  oneSideResidual: number | null;
}

/** The analytic backward of the softmax and score stages, on the host (the kernels' own functions). */
function stageBackward(inp: LayerFlowInput): Pick<LayerFlow, 'dE' | 'dxr' | 'dxlScore' | 'dAtt'> {
  const { graph: g, heads: H, channels: C } = inp;
  const N = g.rowPtr.length - 1, E = g.csrSrc.length, HC = H * C;
  const dE = new Float32Array(E * H);
  softmaxBackward(g.rowPtr, inp.alpha, inp.dAlpha, H, dE);
  const dxr = new Float32Array(N * HC), dxlScore = new Float32Array(N * HC), dAtt = new Float32Array(HC);
  scoreBackward(g, inp.xl, inp.xr, inp.att, inp.edgeProj, dE, H, C, inp.negativeSlope, dxlScore, dxr, dAtt, null);
  return { dE, dxr, dxlScore, dAtt };
}

function isZeroRow(a: Float32Array, offset: number, width: number): boolean {
  for (let c = 0; c < width; c++) if (a[offset + c] !== 0) return false;
  return true;
}

export function layerFlow(inp: LayerFlowInput, opts: LayerFlowOptions): LayerFlow {
  const { graph: g, heads: H, channels: C, xl, xr, edgeProj: ep, alpha, dAlpha } = inp;
  const { rowPtr, csrSrc } = g;
  const N = rowPtr.length - 1, HC = H * C;
  const back = stageBackward(inp);
  const { dxr } = back;

  let inDegreeOne = 0, inDegreeZero = 0, active = 0, activeOne = 0, activeZeroRow = 0;
  let triples = 0, oneSide = 0, noGrad = 0, allTriples = 0, negative = 0, zCount = 0;
  let oneSideMax = 0;
  const positives = new Int32Array(HC);
  // One entry per (node, head) of in-degree >= 2; at most N * H.
  const entropies = new Float64Array(N * H), maxAlphas = new Float64Array(N * H);
  let pairs = 0, uniform = 0, oneHot = 0;

  for (let i = 0; i < N; i++) {
    const start = rowPtr[i], end = rowPtr[i + 1], deg = end - start;
    if (deg === 0) {
      inDegreeZero++;
      continue;
    }
    if (deg === 1) inDegreeOne++;
    let isActive = false;
    for (let q = start * H; q < end * H && !isActive; q++) isActive = dAlpha[q] !== 0;
    if (isActive) {
      active++;
      if (deg === 1) activeOne++;
      if (isZeroRow(dxr, i * HC, HC)) activeZeroRow++;
    }

    // LeakyReLU sides: z_k[c] > 0 is the positive side, as in the kernels (kernels/loops.ts).
    positives.fill(0);
    const io = i * HC;
    for (let p = start; p < end; p++) {
      const jo = csrSrc[p] * HC, po = p * HC;
      for (let hc = 0; hc < HC; hc++) {
        let z = xr[io + hc] + xl[jo + hc];
        if (ep !== null) z += ep[po + hc];
        if (z > 0) positives[hc]++;
      }
    }
    for (let hc = 0; hc < HC; hc++) negative += deg - positives[hc];
    zCount += deg * HC;
    allTriples += HC;
    if (deg === 1) {
      noGrad += HC;
      continue;
    }
    triples += HC;
    for (let hc = 0; hc < HC; hc++) {
      if (positives[hc] === 0 || positives[hc] === deg) {
        oneSide++;
        noGrad++;
        oneSideMax = Math.max(oneSideMax, Math.abs(dxr[io + hc]));
      }
    }

    // Attention entropy per head, normalised by its largest value log(deg).
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

  const dxrMax = maxAbs(dxr);
  return {
    ...back,
    starvation: {
      inDegreeOne,
      inDegreeOneShare: N > 0 ? inDegreeOne / N : 0,
      inDegreeZero,
      active,
      activeInDegreeOneShare: share(activeOne, active),
      activeZeroRowShare: share(activeZeroRow, active),
    },
    leaky: {
      triples,
      oneSide,
      oneSideShare: share(oneSide, triples),
      noGradShare: share(noGrad, allTriples),
      negativeShare: share(negative, zCount),
    },
    attention: {
      pairs,
      entropy: summarize(entropies.subarray(0, pairs)),
      entropyHistogram: histogram(entropies.subarray(0, pairs), opts.entropyBins, 0, 1),
      maxAlpha: summarize(maxAlphas.subarray(0, pairs)),
      nearlyUniformShare: share(uniform, pairs),
      nearlyOneHotShare: share(oneHot, pairs),
      inDegreeOne,
    },
    oneSideResidual: oneSide > 0 && dxrMax > 0 ? oneSideMax / dxrMax : oneSide > 0 ? 0 : null,
  };
}
