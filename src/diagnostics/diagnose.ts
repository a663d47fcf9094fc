/**
 * diagnoseNetwork: one forward + backward of the network (src/diagnostics/instrumented.ts), then
 * per layer the host analysis of src/diagnostics/layer-flow.ts, gradient norms, and the check of
 * the host loops against the gradients TF.js computed on the tape. The result is plain JSON.
 *
 * Gradients are of the cross-entropy alone. Weight decay adds wd * theta to every parameter's
 * gradient; counting it would hide exactly what the paper points at (a Theta_R that the data
 * never reaches still shows a gradient of wd * ||Theta_R||). weightDecay is recorded so a reader
 * can compare: that term's norm is weightDecay * weight.
 */
import * as tf from '@tensorflow/tfjs-core';
import { inDegrees } from '../graph/layout.js';
import { checkAutogradFits } from '../model/autograd-memory.js';
import { layerPrefix, type NetworkConfig, type NetworkInputs } from '../model/network.js';
import { edgeAttrInCsrOrder } from '../model/edge-attr.js';
import type { GradMode } from '../ops/graph-tensors.js';
import type { Objective } from '../model/objective.js';
import { instrumentedPass, type LayerCapture } from './instrumented.js';
import { layerFlow } from './layer-flow.js';
import { degreeHistogram, normPair, relDiff, sumSquares, summarize } from './stats.js';
import {
  DEFAULT_THRESHOLDS, DIAGNOSTICS_FORMAT, DIAGNOSTICS_VERSION,
  type Consistency, type GradNorms, type GraphStats, type LayerDiagnostics, type NetworkDiagnostics, type Thresholds,
} from '../run/diagnostics-record.js';

export interface DiagnoseOptions {
  /** Which backward the pass runs through (default analytic: the stages' own kernels). */
  mode?: GradMode;
  /** Dropout on (masks from seed), as in a training step; false: evaluation forward. */
  training: boolean;
  /** Seed of the dropout masks: pass the training step's seed to see that step's gradients. */
  seed?: number;
  thresholds?: Partial<Thresholds>;
  /** Bins of the entropy histograms (default 20). */
  entropyBins?: number;
}

type Host = Float32Array;

async function host(t: tf.Tensor | null, size: number): Promise<Host> {
  return t ? ((await t.data()) as Float32Array) : new Float32Array(size);
}

function graphStats(inputs: NetworkInputs): GraphStats {
  const L = inputs.graph.layout;
  const deg = inDegrees(L);
  let one = 0, zero = 0;
  for (const d of deg) {
    if (d === 1) one++;
    if (d === 0) zero++;
  }
  return {
    numNodes: L.numNodes,
    numEdges: L.numEdges,
    selfLoops: L.selfLoopsAdded,
    inDegree: summarize(deg),
    inDegreeOne: one,
    inDegreeZero: zero,
    inDegreeHistogram: degreeHistogram(deg),
  };
}

function gradNorms(names: string[], grads: Record<string, Host>, weights: Record<string, Host>): GradNorms {
  const params: GradNorms['params'] = {};
  const sq = (n: string, which: Record<string, Host>) => (which[n] ? sumSquares(which[n]) : 0);
  for (const n of names) params[n] = normPair(sq(n, grads), sq(n, weights));
  const group = (members: string[]) => {
    const present = members.filter((n) => n in grads);
    if (present.length === 0) return null;
    return normPair(present.reduce((a, n) => a + sq(n, grads), 0), present.reduce((a, n) => a + sq(n, weights), 0));
  };
  return {
    thetaR: group(['lin_r.weight', 'lin_r.bias']),
    thetaL: group(['lin_l.weight', 'lin_l.bias'])!,
    att: group(['att'])!,
    bias: group(['bias']),
    params,
  };
}

async function layerDiagnostics(
  net: NetworkConfig, l: number, cap: LayerCapture, inputs: NetworkInputs,
  grads: Record<string, Host>, weights: Record<string, Host>, opts: Required<Pick<DiagnoseOptions, 'entropyBins'>> & { thresholds: Thresholds },
): Promise<LayerDiagnostics> {
  const cfg = net.layers[l];
  const L = inputs.graph.layout;
  const H = cfg.heads, C = cfg.outChannels, HC = H * C, N = L.numNodes, E = L.numEdges;
  const xl = await host(cap.xl, N * HC);
  const xr = cap.xr ? await host(cap.xr, N * HC) : xl;
  // The edge term W_e e of the score (edge features), in CSR order, as the layer computed it.
  let edgeProj: Host | null = null;
  if (cfg.edgeDim !== null && inputs.edgeAttr) {
    const ep = tf.tidy(() => tf.matMul(edgeAttrInCsrOrder(inputs.edgeAttr!, inputs.graph), tf.tensor2d(weights['lin_edge.weight'], [cfg.edgeDim!, HC])));
    edgeProj = await host(ep, E * HC);
    ep.dispose();
  }
  const flow = layerFlow({
    graph: L, heads: H, channels: C, negativeSlope: cfg.negativeSlope,
    xl, xr, edgeProj, att: weights['att'],
    alpha: await host(cap.alpha, E * H), dAlpha: await host(cap.dAlpha, E * H),
  }, { thresholds: opts.thresholds, entropyBins: opts.entropyBins });

  const tapeDxl = await host(cap.dxl, N * HC);
  const check: Consistency = { dxrRelErr: null, thetaRBiasRelErr: null, starvedRowsZero: null, oneSideResidual: flow.oneSideResidual };
  if (cap.xr) {
    const tapeDxr = await host(cap.dxr, N * HC);
    check.dxrRelErr = relDiff(flow.dxr, tapeDxr);
    let zero = true;
    for (let i = 0; i < N && zero; i++) {
      if (L.rowPtr[i + 1] - L.rowPtr[i] !== 1) continue;
      for (let c = 0; c < HC; c++) if (tapeDxr[i * HC + c] !== 0) zero = false;
    }
    check.starvedRowsZero = zero;
    const gb = grads['lin_r.bias'];
    if (gb) {
      // dL/db_R = sum_i dL/dxr[i] (gradients.md "Projections"), summed in float64.
      const sum = new Float64Array(HC);
      for (let i = 0; i < N; i++) for (let c = 0; c < HC; c++) sum[c] += flow.dxr[i * HC + c];
      check.thetaRBiasRelErr = relDiff(sum, gb);
    }
  }

  const names = Object.keys(weights);
  return {
    layer: l,
    name: layerPrefix(l).slice(0, -1),
    heads: H,
    channels: C,
    gradNorms: gradNorms(names, grads, weights),
    nodeGrads: { dxr: Math.sqrt(sumSquares(flow.dxr)), dxlScore: Math.sqrt(sumSquares(flow.dxlScore)), dxl: Math.sqrt(sumSquares(tapeDxl)) },
    starvation: flow.starvation,
    leaky: flow.leaky,
    attention: flow.attention,
    check,
  };
}

/**
 * One forward + backward (in `opts.training` mode, through `opts.mode`'s backward) and the
 * gradient-flow diagnostics of every layer. Leaves no tensor behind; the parameters are only read.
 */
export async function diagnoseNetwork(
  net: NetworkConfig, params: Record<string, tf.Tensor>, inputs: NetworkInputs, objective: Objective, opts: DiagnoseOptions,
): Promise<NetworkDiagnostics> {
  const started = performance.now();
  const mode = opts.mode ?? 'analytic';
  const thresholds = { ...DEFAULT_THRESHOLDS, ...opts.thresholds };
  const entropyBins = opts.entropyBins ?? 20;
  const fwd = opts.training ? { mode, training: true, seed: opts.seed ?? 0 } : { mode, training: false };
  if (mode === 'autograd') checkAutogradFits(net, inputs.graph.layout.numEdges, 'diagnostics through autograd (--mode autograd)');
  const pass = instrumentedPass(net, params, inputs, objective.targets, fwd);
  try {
    const layers: LayerDiagnostics[] = [];
    for (let l = 0; l < net.layers.length; l++) {
      const prefix = layerPrefix(l);
      const grads: Record<string, Host> = {}, weights: Record<string, Host> = {};
      for (const [name, t] of Object.entries(params)) {
        if (!name.startsWith(prefix)) continue;
        const short = name.slice(prefix.length);
        weights[short] = (await t.data()) as Float32Array;
        grads[short] = (await pass.grads[name].data()) as Float32Array;
      }
      layers.push(await layerDiagnostics(net, l, pass.layers[l], inputs, grads, weights, { thresholds, entropyBins }));
    }
    return {
      format: DIAGNOSTICS_FORMAT,
      version: DIAGNOSTICS_VERSION,
      mode,
      training: opts.training,
      seed: opts.training ? (opts.seed ?? 0) : null,
      loss: (await pass.loss.data())[0],
      weightDecay: objective.weightDecay,
      thresholds,
      graph: graphStats(inputs),
      layers,
      ms: performance.now() - started,
    };
  } finally {
    pass.dispose();
  }
}
