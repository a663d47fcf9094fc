/**
 * One forward + backward of the network that keeps what the diagnostics need: per layer the
 * projections xl and xr, the attention alpha (before attention dropout), and the gradients
 * dL/dalpha, dL/dxr and dL/dxl the tape computes for them.
 *
 * TF.js cannot differentiate with respect to a tensor made inside the function, so each of those
 * intermediates passes through an identity op ("tap") whose gradient function records dy. The
 * pass therefore mirrors networkForward (src/model/network.ts) and layerForward
 * (src/model/gatv2-layer.ts) op for op, with the same stages (stagesFor(mode)), the same seeds and
 * the same dropout rule; test/diagnostics-consistency.test.ts proves its loss and parameter
 * gradients equal lossAndGrads'. A change to either forward must be made here too.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { GATv2Config } from '../model/config.js';
import { deriveSeed, layerPrefix, SEED_STREAM, type ForwardOptions, type NetworkConfig, type NetworkInputs, type Activation } from '../model/network.js';
import { customOp } from '../ops/custom-op.js';
import type { GraphTensors } from '../ops/graph-tensors.js';
import { stagesFor } from '../ops/index.js';
import { isSparse, matMulInput, type NodeInput } from '../ops/linear.js';
import { crossEntropy } from '../train/loss.js';

/** What one layer left behind: forward values and the gradients that reached them (null: none did). */
export interface LayerCapture {
  xl: tf.Tensor2D;
  /** null with share_weights (xr is xl). */
  xr: tf.Tensor2D | null;
  alpha: tf.Tensor2D;
  dxl: tf.Tensor | null;
  dxr: tf.Tensor | null;
  dAlpha: tf.Tensor | null;
}

export interface InstrumentedPass {
  /** Cross-entropy of the pass. */
  loss: tf.Scalar;
  /** d(cross-entropy)/d(parameter) for every parameter. */
  grads: Record<string, tf.Tensor>;
  layers: LayerCapture[];
  dispose(): void;
}

/** Identity whose backward hands a copy of the incoming gradient to onGrad. */
function tap(x: tf.Tensor, onGrad: (dy: tf.Tensor) => void): tf.Tensor {
  return customOp(([t]) => ({
    value: tf.clone(t),
    gradFunc: (dy) => {
      onGrad(tf.keep(tf.clone(dy)));
      return tf.clone(dy);
    },
  }))(x);
}

/** networkForward's dropout rule (src/model/network.ts), the same mask for the same seed. */
function dropout<T extends tf.Tensor>(x: T, p: number, seed: number): T {
  const keep = tf.cast(tf.greaterEqual(tf.randomUniform(x.shape, 0, 1, 'float32', seed), p), 'float32');
  return tf.mul(x, tf.mul(keep, 1 / (1 - p))) as T;
}

function activate(x: tf.Tensor2D, a: Activation): tf.Tensor2D {
  if (a === 'elu') return tf.elu(x);
  if (a === 'relu') return tf.relu(x);
  return x;
}

function addBias(x: tf.Tensor2D, b: tf.Tensor | undefined): tf.Tensor2D {
  return b ? tf.add(x, b) : x;
}

/** layerForward with taps on xl, xr and alpha. */
function tappedLayer(
  cfg: GATv2Config, p: Record<string, tf.Tensor>, x: NodeInput, g: GraphTensors,
  opts: { mode: ForwardOptions['mode']; training: boolean; dropoutSeed: number }, cap: Partial<LayerCapture>,
): tf.Tensor2D {
  if (cfg.edgeDim !== null) throw new Error('diagnostics: layers with edge features are not supported by the network forward');
  const stages = stagesFor(opts.mode);
  const H = cfg.heads, C = cfg.outChannels, N = g.layout.numNodes;
  const shape = { heads: H, channels: C, negativeSlope: cfg.negativeSlope };

  const xlRaw = addBias(matMulInput(x, p['lin_l.weight'] as tf.Tensor2D), p['lin_l.bias']);
  cap.xl = tf.keep(xlRaw);
  const xl = tap(xlRaw, (d) => (cap.dxl = d)) as tf.Tensor2D;
  let xr = xl;
  if (!cfg.shareWeights) {
    const xrRaw = addBias(matMulInput(x, p['lin_r.weight'] as tf.Tensor2D), p['lin_r.bias']);
    cap.xr = tf.keep(xrRaw);
    xr = tap(xrRaw, (d) => (cap.dxr = d)) as tf.Tensor2D;
  }

  const e = stages.score(xl, xr, p['att'] as tf.Tensor1D, null, g, shape);
  const alphaRaw = stages.softmax(e, g);
  cap.alpha = tf.keep(alphaRaw);
  const alpha = tap(alphaRaw, (d) => (cap.dAlpha = d)) as tf.Tensor2D;
  let alphaUsed = alpha;
  if (opts.training && cfg.dropout > 0) {
    const keep = tf.cast(tf.greaterEqual(tf.randomUniform(alpha.shape, 0, 1, 'float32', opts.dropoutSeed), cfg.dropout), 'float32');
    alphaUsed = tf.mul(alpha, tf.mul(keep, 1 / (1 - cfg.dropout)));
  }
  const out = stages.aggregate(alphaUsed, xl, g, shape);

  let y: tf.Tensor2D = cfg.concat ? out : tf.mean(tf.reshape(out, [N, H, C]), 1) as tf.Tensor2D;
  y = addBias(y, p['bias']);
  if (cfg.residual) y = tf.add(y, matMulInput(x, p['res.weight'] as tf.Tensor2D));
  return y;
}

function layerParams(params: Record<string, tf.Tensor>, l: number): Record<string, tf.Tensor> {
  const prefix = layerPrefix(l);
  const out: Record<string, tf.Tensor> = {};
  for (const [name, t] of Object.entries(params)) if (name.startsWith(prefix)) out[name.slice(prefix.length)] = t;
  return out;
}

/**
 * Runs the pass. The caller owns the result (dispose() frees every tensor it holds). Gradients
 * are of the cross-entropy against `targets` alone.
 */
export function instrumentedPass(
  net: NetworkConfig, params: Record<string, tf.Tensor>, inputs: NetworkInputs, targets: tf.Tensor2D, opts: ForwardOptions,
): InstrumentedPass {
  if (opts.training && opts.seed === undefined) throw new Error('diagnostics: training mode needs a dropout seed');
  const drop = opts.training && net.inputDropout > 0;
  const seedOf = (l: number, which: number) => deriveSeed(opts.seed ?? 0, SEED_STREAM.dropout, l, which);
  const names = Object.keys(params);
  const caps: Partial<LayerCapture>[] = net.layers.map(() => ({}));

  // Sparse features are dropped outside the tape: the sparse projection's backward reads the
  // values after tf.grads has disposed what its forward made (as in networkForward).
  let x0: NodeInput = inputs.x;
  let droppedValues: tf.Tensor | null = null;
  if (drop && isSparse(inputs.x)) {
    const sx = inputs.x;
    droppedValues = tf.keep(tf.tidy(() => dropout(sx.values, net.inputDropout, seedOf(0, 0))));
    x0 = { ...sx, values: droppedValues as tf.Tensor1D };
  }

  let loss: tf.Scalar | null = null;
  const f = (...xs: tf.Tensor[]): tf.Scalar => {
    const p: Record<string, tf.Tensor> = {};
    names.forEach((n, k) => (p[n] = xs[k]));
    let h: NodeInput = x0;
    net.layers.forEach((cfg, l) => {
      if (drop && !(l === 0 && droppedValues)) {
        if (isSparse(h)) throw new Error('diagnostics: sparse input after the first layer');
        h = dropout(h, net.inputDropout, seedOf(l, 0));
      }
      const y = tappedLayer(cfg, layerParams(p, l), h, inputs.graph, {
        mode: opts.mode, training: opts.training, dropoutSeed: seedOf(l, 1),
      }, caps[l]);
      h = l < net.layers.length - 1 ? activate(y, net.activation) : y;
    });
    loss = tf.keep(crossEntropy(h as tf.Tensor2D, targets));
    return loss;
  };
  let grads: Record<string, tf.Tensor> = {};
  let value: tf.Tensor | null = null;
  try {
    const r = tf.valueAndGrads(f)(names.map((n) => params[n]));
    value = r.value; // loss itself (f returns it), disposed with it
    names.forEach((n, k) => (grads[n] = r.grads[k]));
  } catch (err) {
    for (const c of caps) tf.dispose([c.xl, c.xr, c.alpha, c.dxl, c.dxr, c.dAlpha].filter((t): t is tf.Tensor => !!t));
    if (loss) (loss as tf.Scalar).dispose();
    throw err;
  } finally {
    droppedValues?.dispose();
  }
  const layers: LayerCapture[] = caps.map((c) => ({
    xl: c.xl!, xr: c.xr ?? null, alpha: c.alpha!, dxl: c.dxl ?? null, dxr: c.dxr ?? null, dAlpha: c.dAlpha ?? null,
  }));
  return {
    loss: loss!,
    grads,
    layers,
    dispose() {
      const ts: tf.Tensor[] = [loss!, value!, ...Object.values(grads)];
      for (const c of layers) for (const t of [c.xl, c.xr, c.alpha, c.dxl, c.dxr, c.dAlpha]) if (t) ts.push(t);
      tf.dispose(ts);
      grads = {};
    },
  };
}
