/**
 * `gatv2 gradcheck --checkpoint DIR`: the gradient checks on a trained model and real data, not
 * only at random initialisation.
 * - The whole network: analytic vs autograd gradients of the real loss (cross-entropy over a
 *   split) for every parameter (src/check/checkpoint-gradcheck.ts).
 * - Each layer against the float64 reference: the layer's real input (the dataset's features for
 *   the first layer, then the float64 activations of the trained layers below), its trained
 *   weights and a seeded upstream gradient, through analytic, autograd and src/check/reference.ts.
 * Every element is measured against the magnitude of its own terms (src/util/rel-error.ts), so
 * the gradients the paper is about, Theta_R and a, which nearly vanish on real data while
 * attention is almost uniform, are held to the same bound as the large ones. The network rows have
 * no float64 terms at hand and use the pair measure of src/model/objective.ts.
 */
import { pygParamShapes } from '../model/config.js';
import { compareModesOnCheckpoint, type CheckpointGradOptions } from './checkpoint-gradcheck.js';
import { type Dense64, dense } from './dense.js';
import { compare, DEFAULT_TOLERANCE, referenceTensors, tensorsOf, type CheckReport, type CheckRow } from './gradcheck.js';
import { runLayer } from './layer-run.js';
import { Prng } from '../util/prng.js';
import { type ReferenceInput } from './reference.js';
import { MODE_AGREEMENT_TOLERANCE } from '../model/objective.js';
import { tensorPairMagnitude } from '../util/rel-error.js';
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

export async function checkCheckpoint(o: CheckpointGradOptions, upstreamSeed = 0): Promise<CheckReport[]> {
  const cmp = await compareModesOnCheckpoint(o);
  const reports: CheckReport[] = [];

  // Every parameter gradient of the real loss, analytic against autograd, element by element.
  const names = Object.keys(cmp.params);
  const networkRows: CheckRow[] = names.map((name) => {
    const a = dense(cmp.grads.analytic[name].shape, cmp.grads.analytic[name].values);
    const b = dense(cmp.grads.autograd[name].shape, cmp.grads.autograd[name].values);
    const c = compare(a, b, dense(a.shape, tensorPairMagnitude(a.data, b.data)), MODE_AGREEMENT_TOLERANCE);
    return { tensor: `grad ${name}`, comparisons: { 'analytic vs autograd': c } };
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
    const { ref, mag } = referenceTensors(input, upstream);
    const ours: Record<string, Record<string, Dense64>> = {};
    for (const mode of ['analytic', 'autograd'] as const) ours[mode] = tensorsOf(await runLayer(input, upstream, mode));
    const rows: CheckRow[] = Object.keys(ref).map((tensor) => ({
      tensor,
      comparisons: {
        'analytic vs autograd': compare(ours.analytic[tensor]!, ours.autograd[tensor]!, mag[tensor]!, DEFAULT_TOLERANCE),
        'analytic vs float64': compare(ours.analytic[tensor]!, ref[tensor]!, mag[tensor]!, DEFAULT_TOLERANCE),
        'autograd vs float64': compare(ours.autograd[tensor]!, ref[tensor]!, mag[tensor]!, DEFAULT_TOLERANCE),
      },
    }));
    reports.push({
      name: `layer conv${l + 1} of ${cmp.checkpoint} on ${cmp.dataset}: trained weights, real input, seeded upstream`,
      backend: cmp.backend, rows, ok: rows.every((r) => Object.values(r.comparisons).every((c) => c.ok)),
    });
    // The next layer's input: this layer's float64 output through the network's activation.
    x = activate(ref['output']!.data, net.activation);
    width = outWidth;
  }
  return reports;
}
