/**
 * Runs one GATv2 layer on the current TF.js backend, in float32, on a float64 case (a PyG
 * fixture or a random case): the output, the attention in PyG's edge order, and the gradient of
 * loss = sum(output * upstream) for every parameter (PyG names and layouts), x and edge_attr.
 * Everything it allocates is disposed before it returns.
 */
import * as tf from '@tensorflow/tfjs-core';
import { buildLayout } from '../graph/layout.js';
import { layerForward } from '../model/gatv2-layer.js';
import { releaseEdgeAttrIndex } from '../model/edge-attr.js';
import { fromPyg, toPyg } from '../model/pyg-params.js';
import { graphTensors, type GradMode } from '../ops/graph-tensors.js';
import { type Dense64, dense } from './dense.js';
import type { ReferenceInput } from './reference.js';

export interface LayerResult {
  output: Dense64;
  /** [E', H] in PyG's edge order (the order of the fixtures' attention.alpha). */
  alpha: Dense64;
  /** PyG parameter names, plus `x` and `edge_attr`. */
  grads: Record<string, Dense64>;
}

export async function runLayer(input: ReferenceInput, upstream: Dense64, mode: GradMode): Promise<LayerResult> {
  const cfg = input.config;
  const layout = buildLayout(input.numNodes, input.edgeIndex[0], input.edgeIndex[1], { addSelfLoops: cfg.addSelfLoops });
  const g = graphTensors(layout);
  const names = Object.keys(input.params);
  const params = names.map((n) => fromPyg(n, input.params[n].shape, input.params[n].data));
  const x = tf.tensor2d(Float32Array.from(input.x.data), input.x.shape as [number, number]);
  const edgeAttr = input.edgeAttr
    ? tf.tensor2d(Float32Array.from(input.edgeAttr.data), [input.edgeAttr.shape[0], input.edgeAttr.shape[1] ?? 1])
    : null;
  const up = tf.tensor(Float32Array.from(upstream.data), upstream.shape);
  try {
    const wrt = edgeAttr ? [...params, x, edgeAttr] : [...params, x];
    const [output, alpha, ...grads] = tf.tidy(() => {
      let out: tf.Tensor | null = null;
      let att: tf.Tensor | null = null;
      const lossGrads = tf.grads((...ins: tf.Tensor[]) => {
        const p: Record<string, tf.Tensor> = {};
        names.forEach((n, i) => (p[n] = ins[i]));
        const r = layerForward(cfg, p, ins[names.length] as tf.Tensor2D, g, {
          mode, training: false, edgeAttr: edgeAttr ? (ins[names.length + 1] as tf.Tensor2D) : null,
        });
        out = tf.keep(r.output);
        att = tf.keep(r.alpha);
        return tf.sum(tf.mul(r.output, up));
      });
      const gs2 = lossGrads(wrt);
      return [out!, att!, ...gs2];
    });
    const result: LayerResult = {
      output: dense(output.shape, await output.data()),
      alpha: dense([layout.numEdges, cfg.heads], pygOrder(await alpha.data(), layout.csrToEdgeId, cfg.heads)),
      grads: {},
    };
    for (let i = 0; i < names.length; i++) {
      result.grads[names[i]] = dense(input.params[names[i]].shape, await toPyg(names[i], grads[i]));
    }
    result.grads['x'] = dense(input.x.shape, await grads[names.length].data());
    if (input.edgeAttr) result.grads['edge_attr'] = dense(input.edgeAttr.shape, await grads[names.length + 1].data());
    tf.dispose([output, alpha, ...grads]);
    return result;
  } finally {
    tf.dispose([...params, x, up, ...(edgeAttr ? [edgeAttr] : [])]);
    releaseEdgeAttrIndex(g);
    g.dispose();
  }
}

/** Reorders per-edge rows from CSR positions to PyG edge ids. */
export function pygOrder(csr: ArrayLike<number>, csrToEdgeId: Int32Array, width: number): Float64Array {
  const out = new Float64Array(csr.length);
  for (let p = 0; p < csrToEdgeId.length; p++) {
    const id = csrToEdgeId[p];
    for (let h = 0; h < width; h++) out[id * width + h] = csr[p * width + h];
  }
  return out;
}
