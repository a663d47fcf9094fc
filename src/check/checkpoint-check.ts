/**
 * `gatv2 gradcheck --checkpoint DIR`: the gradient checks on a trained model and real data, not
 * only at random initialisation.
 * - The whole network: analytic vs autograd gradients of the real loss (cross-entropy over a
 *   split) for every parameter (src/check/checkpoint-gradcheck.ts).
 * - Each layer against the float64 reference: the layer's real input (the dataset's features for
 *   the first layer, then the float64 activations of the trained layers below), its trained
 *   weights and a seeded upstream gradient, through analytic, autograd and src/check/reference.ts.
 * In both, a gradient far smaller than the others is measured against 1% of the largest one.
 */
import { pygParamShapes } from '../model/config.js';
import { compareModesOnCheckpoint, type CheckpointGradOptions } from './checkpoint-gradcheck.js';
import { type Dense64, dense } from './dense.js';
import { compare, DEFAULT_TOLERANCE, type CheckReport, type CheckRow, type Comparison } from './gradcheck.js';
import { runLayer } from './layer-run.js';
import { Prng } from '../util/prng.js';
import { referenceBackward, type ReferenceInput } from './reference.js';
import { type Activation } from '../model/activation.js';

/** A parameter in TF layout ([in, out] weights, flat att) -> PyG layout as the reference wants. */
function toPygLayout(name: string, tfShape: number[], values: Float32Array, pygShape: number[]): Dense64 {
  if (!name.endsWith('.weight')) return dense(pygShape, values);
  const [rows, cols] = tfShape;
  const out = new Float64Array(values.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = values[r * cols + c];
  return dense(pygShape, out);
}

function activate(x: Float64Array, a: Activation): Float64Array {
  if (a === 'identity') return x;
  return x.map((v) => (v > 0 ? v : a === 'relu' ? 0 : Math.expm1(v)));
}

/** A floored gradient's error relative to its own peak may not exceed this. */
const FLOORED_OWN_CAP = 1e-3;

/** The largest magnitude of a tensor's values. */
function peakOf(values: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < values.length; i++) m = Math.max(m, Math.abs(values[i]!));
  return m;
}

/**
 * On real data some gradients nearly vanish (early in training attention is almost uniform and a
 * and Theta_R get little: the paper's point; their sums over every edge cancel), and float32
 * rounding is then large relative to them. Such a gradient is measured against `floor` (1% of the
 * largest parameter gradient beside it) instead of its own peak, and must still be within
 * FLOORED_OWN_CAP of its own peak, so a wrong tiny gradient (zeros, say) fails.
 */
function floored(c: Comparison, peak: number, floor: number, tolerance: number): Comparison {
  const rel = c.maxAbs / Math.max(peak, floor, 1e-300);
  const own = c.maxAbs / Math.max(peak, 1e-300);
  return { ...c, rel, ok: Number.isFinite(rel) && rel <= tolerance && own <= FLOORED_OWN_CAP };
}

export async function checkCheckpoint(o: CheckpointGradOptions, upstreamSeed = 0): Promise<CheckReport[]> {
  const cmp = await compareModesOnCheckpoint(o);
  const reports: CheckReport[] = [];
  const tolerance = DEFAULT_TOLERANCE;

  // Every parameter gradient against the network's largest (floored, above).
  const names = Object.keys(cmp.params);
  const peak = (n: string) => peakOf(cmp.grads.autograd[n].values);
  const floor = 0.01 * Math.max(...names.map(peak));
  const networkRows: CheckRow[] = names.map((name) => {
    const a = cmp.grads.analytic[name], b = cmp.grads.autograd[name];
    const c = compare(dense(a.shape, a.values), dense(b.shape, b.values), tolerance);
    return { tensor: `grad ${name}`, comparisons: { 'analytic vs autograd': floored(c, peak(name), floor, tolerance) } };
  });
  reports.push({
    name: `${cmp.checkpoint} (epoch ${cmp.epoch}) on ${cmp.dataset}: loss over the ${cmp.split} split`,
    backend: cmp.backend, rows: networkRows, ok: networkRows.every((r) => r.comparisons['analytic vs autograd'].ok),
  });

  // Layer by layer against float64, on the trained weights and real inputs.
  const ds = cmp.data.dataset;
  const N = ds.nodeIds.length;
  const f = cmp.data.features;
  let x: Float64Array = new Float64Array(N * f.numFeatures);
  if (f.kind === 'dense') x.set(f.values);
  else for (let i = 0; i < N; i++) for (let t = f.rowPtr[i]; t < f.rowPtr[i + 1]; t++) x[i * f.numFeatures + f.colIdx[t]] = f.values[t];
  let width = f.numFeatures;
  const net = cmp.modelConfig.network;
  const rng = new Prng(upstreamSeed);
  for (let l = 0; l < net.layers.length; l++) {
    const cfg = { ...net.layers[l], dropout: 0 };
    const prefix = `conv${l + 1}.`;
    const pyg = pygParamShapes(cfg);
    const params: Record<string, Dense64> = {};
    for (const [name, shape] of Object.entries(pyg)) {
      const p = cmp.params[prefix + name];
      params[name] = toPygLayout(name, p.shape, p.values, shape);
    }
    // Edge features (edges.csv's extra columns) enter every layer as they are, so the edge
    // projection lin_edge and its gradient are checked too.
    const edgeAttr = ds.edgeAttr ? dense([ds.edgeSource.length, ds.edgeAttr.dim], ds.edgeAttr.values) : null;
    const input: ReferenceInput = {
      config: cfg, numNodes: N, edgeIndex: [ds.edgeSource, ds.edgeTarget], x: dense([N, width], x), edgeAttr, params,
    };
    const outWidth = cfg.concat ? cfg.heads * cfg.outChannels : cfg.outChannels;
    const upstream = dense([N, outWidth], Float64Array.from({ length: N * outWidth }, () => rng.normal(0, 1)));
    const reference = referenceBackward(input, upstream);
    const refTensors: Record<string, Dense64> = { output: reference.forward.output, attention: reference.forward.attention.alpha };
    for (const [k, v] of Object.entries(reference.grads)) refTensors[`grad ${k}`] = v;
    const ours: Record<string, Record<string, Dense64>> = {};
    for (const mode of ['analytic', 'autograd'] as const) {
      const r = await runLayer(input, upstream, mode);
      ours[mode] = { output: r.output, attention: r.alpha };
      for (const [k, v] of Object.entries(r.grads)) ours[mode][`grad ${k}`] = v;
    }
    // Parameter gradients against the layer's largest (floored, above); grad x, what the layer
    // below receives, is not a parameter's and keeps the plain rule.
    const isParamGrad = (t: string) => t.startsWith('grad ') && t !== 'grad x';
    const refPeak = (t: string) => peakOf(refTensors[t]!.data);
    const gradFloor = 0.01 * Math.max(0, ...Object.keys(refTensors).filter(isParamGrad).map(refPeak));
    const within = (c: Comparison, t: string) => (isParamGrad(t) ? floored(c, refPeak(t), gradFloor, tolerance) : c);
    const rows: CheckRow[] = Object.keys(refTensors).map((tensor) => ({
      tensor,
      comparisons: {
        'analytic vs autograd': within(compare(ours.analytic[tensor], ours.autograd[tensor], tolerance), tensor),
        'analytic vs float64': within(compare(ours.analytic[tensor], refTensors[tensor], tolerance), tensor),
        'autograd vs float64': within(compare(ours.autograd[tensor], refTensors[tensor], tolerance), tensor),
      },
    }));
    reports.push({
      name: `layer conv${l + 1} of ${cmp.checkpoint} on ${cmp.dataset}: trained weights, real input, seeded upstream`,
      backend: cmp.backend, rows, ok: rows.every((r) => Object.values(r.comparisons).every((c) => c.ok)),
    });
    // The next layer's input: this layer's float64 output through the network's activation.
    x = activate(reference.forward.output.data, net.activation);
    width = outWidth;
  }
  return reports;
}
