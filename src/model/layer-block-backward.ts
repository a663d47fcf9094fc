/**
 * The layer block's analytic backward (./layer-block.ts): the chain of gradients.md "Backward:
 * vector-Jacobian products", read bottom up, one function per step. The three attention stages
 * run through the stage functions the stage ops run (src/ops: aggregateBackward, softmaxBackward,
 * scoreBackward), in this order and with these fusions:
 *   activation   dy = dh * act'(h)              ELU: h + 1 where h < 0 (TF.js's EluGrad); ReLU: [h > 0]
 *   output       dbias = sum_i dy_i;  dout = dy (concat) or dy / H on every head (mean)
 *                dW_res = x~^T dy  (residual, x~ the dropped-out input)
 *   aggregation  dAlpha~_k = <dout_i, xl[j]>, dxl[j] += sum_k alpha~_k dout_i
 *   dropout      dAlpha = dropout(dAlpha~)       ("Projections", last paragraph)
 *   softmax      dE = alpha (dAlpha - sum_row alpha dAlpha)
 *   score        dxl[j] += sum delta_k (added to the aggregation's share in the kernel, input
 *                dxlAdd), dxr[i] = sum delta_k, da = sum dE_k u_k
 *   projections  dW_L = x~^T dxl, db_L = sum_i dxl_i (and R); dx = dropout(dxl W_L^T + dxr W_R^T (+ dy W_res^T))
 *
 * The saved tensors are the op's own clones (tf.grads frees them only once the whole backward is
 * done): each is freed after its last use here, so the layers below run their backward without
 * this one's.
 */
import * as tf from '@tensorflow/tfjs-core';
import { aggregateBackward } from '../ops/aggregate.js';
import { dropout } from '../ops/dropout.js';
import { projectInputGradSum, projectWeightGrads, type NodeInput } from '../ops/linear.js';
import { scoreBackward } from '../ops/score.js';
import { softmaxBackward } from '../ops/softmax.js';
import { activationGrad } from './activation.js';
import { cutRows, padRows, type BlockPlan } from './layer-block-plan.js';

/** What the block's forward saved: xl, xr, alpha (before attention dropout), and x and h where needed. */
export interface BlockSaved {
  xl: tf.Tensor2D;
  xr: tf.Tensor2D;
  alpha: tf.Tensor2D;
  /** The input, when it gets a gradient. */
  x: tf.Tensor2D | undefined;
  /** The output, when the activation's derivative reads it. */
  h: tf.Tensor2D | undefined;
}

type Params = Record<string, tf.Tensor>;
type Term = [dy: tf.Tensor2D, w: tf.Tensor2D];

/**
 * Aggregation, attention dropout and softmax stages: dE [E, H], and the message path's share of
 * dL/dxl. Frees the saved alpha.
 */
function attentionBackward(p: BlockPlan, dy: tf.Tensor2D, s: BlockSaved): { dE: tf.Tensor2D; dxlAgg: tf.Tensor2D } {
  const { cfg } = p, H = p.shape.heads;
  const [dAlphaUsed, dxlAgg] = tf.tidy(() => {
    const dout = padRows(p, cfg.concat || H === 1 ? dy : (tf.tile(tf.div(dy, H), [1, H]) as tf.Tensor2D));
    const alphaUsed = p.attnDrop ? tf.tidy(() => dropout(s.alpha, cfg.dropout, p.opts.attentionSeed)) : s.alpha;
    return aggregateBackward(alphaUsed, s.xl, dout, p.g, p.shape);
  });
  const dE = tf.tidy(() => {
    const dAlpha = p.attnDrop ? dropout(dAlphaUsed, cfg.dropout, p.opts.attentionSeed) : dAlphaUsed;
    return softmaxBackward(s.alpha, dAlpha, p.g);
  });
  tf.dispose([dAlphaUsed, s.alpha]);
  return { dE, dxlAgg };
}

/**
 * Score stage: dxl (its share plus the aggregation's, added in the kernel), dxr and da. With
 * shared weights xr is xl, so dxr joins dxl too. Frees dE, the saved xl and xr, and dxlAgg.
 */
function scoreStage(p: BlockPlan, att: tf.Tensor, dE: tf.Tensor2D, dxlAgg: tf.Tensor2D, s: BlockSaved) {
  const [dxlBoth, dxr, dAtt] = scoreBackward({ xl: s.xl, xr: s.xr, att, edgeProj: null }, dE, p.g, p.shape, dxlAgg) as tf.Tensor2D[];
  tf.dispose([dE, s.xl, s.xr, dxlAgg]);
  if (!p.cfg.shareWeights) return { dxl: dxlBoth!, dxr: dxr!, dAtt: dAtt! };
  const dxl = tf.add(dxlBoth!, dxr!) as tf.Tensor2D;
  dxlBoth!.dispose();
  return { dxl, dxr: dxr!, dAtt: dAtt! };
}

/**
 * Projections' parameters: dW = x~^T d(product) for each product of the dropped-out input x~
 * (regenerated or read through its mask, see projectWeightGrads), and the bias sums.
 */
function projectionGrads(
  p: BlockPlan, P: Params, xIn: NodeInput, d: { dxl: tf.Tensor2D; dxr: tf.Tensor2D; dyAll: tf.Tensor2D }, grads: Params,
): void {
  const { cfg } = p;
  const weighted: Array<[string, tf.Tensor2D, tf.Tensor2D]> = [['lin_l.weight', d.dxl, P['lin_l.weight'] as tf.Tensor2D]];
  if (!cfg.shareWeights && !p.rectXr) weighted.push(['lin_r.weight', d.dxr, P['lin_r.weight'] as tf.Tensor2D]);
  if (cfg.residual) weighted.push(['res.weight', d.dyAll, P['res.weight'] as tf.Tensor2D]);
  const drop = p.inDrop > 0 ? { p: p.inDrop, seed: p.opts.inputSeed } : null;
  const wGrads = projectWeightGrads(xIn, drop, weighted.map(([, dy, w]) => [dy, w]));
  weighted.forEach(([name], k) => (grads[name] = wGrads[k]!));
  if (p.rectXr) {
    // x~[:R]^T dxr: the dropout mask is a function of the element index, so regenerating it on
    // the first R rows gives the first R rows of x~.
    grads['lin_r.weight'] = tf.tidy(() => projectWeightGrads(cutRows(p, xIn as tf.Tensor2D), drop, [[d.dxr, P['lin_r.weight'] as tf.Tensor2D]])[0]!);
  }
  if (cfg.bias) grads['lin_l.bias'] = tf.sum(d.dxl, 0);
  if (cfg.bias && !cfg.shareWeights) grads['lin_r.bias'] = tf.sum(d.dxr, 0);
}

/** dL/dx~ = dxl W_L^T + dxr W_R^T (+ dy W_res^T), before the input dropout's backward. */
function inputGradSum(p: BlockPlan, P: Params, d: { dxl: tf.Tensor2D; dxr: tf.Tensor2D; dyAll: tf.Tensor2D }): tf.Tensor2D {
  const { cfg } = p;
  return tf.tidy(() => projectInputGradSum([
    [d.dxl, P['lin_l.weight'] as tf.Tensor2D],
    ...(cfg.shareWeights ? [] : [[p.rectXr ? padRows(p, d.dxr) : d.dxr, P['lin_r.weight'] as tf.Tensor2D] as Term]),
    ...(cfg.residual ? [[d.dyAll, P['res.weight'] as tf.Tensor2D] as Term] : []),
  ]));
}

/**
 * The block's gradients, given dh = dL/dh: one per parameter (in p.names order), then dL/dx when
 * the input gets one. `x` is the block's input when it does not (the features).
 */
export function blockBackward(p: BlockPlan, P: Params, x: NodeInput, dh: tf.Tensor2D, s: BlockSaved): tf.Tensor[] {
  return tf.tidy(() => {
    const { cfg } = p;
    const grads: Params = {};
    const dy = tf.tidy(() => activationGrad(dh, s.h, p.opts.activation));
    s.h?.dispose();
    // Without an activation dy is dh itself, the caller's tensor: never ours to free.
    const freeDy = () => {
      if (dy !== dh) dy.dispose();
    };
    if (cfg.bias) grads['bias'] = tf.sum(dy, 0);
    // The residual's gradients read dy on all N rows (x~ has N rows).
    const dyAll = cfg.residual ? padRows(p, dy) : dy;
    const { dE, dxlAgg } = attentionBackward(p, dy, s);
    // Only the residual's gradients read dy again.
    if (!cfg.residual) freeDy();
    const { dxl, dxr, dAtt } = scoreStage(p, P['att']!, dE, dxlAgg, s);
    grads['att'] = dAtt;
    const xIn = p.opts.inputGrad ? (s.x as NodeInput) : x;
    projectionGrads(p, P, xIn, { dxl, dxr, dyAll }, grads);
    const out = p.names.map((n) => grads[n]!);
    if (!p.opts.inputGrad) return out;
    const dxd = inputGradSum(p, P, { dxl, dxr, dyAll });
    tf.dispose([dxl, dxr, s.x!]);
    if (dyAll !== dy) dyAll.dispose();
    freeDy();
    out.push(p.inDrop > 0 ? tf.tidy(() => dropout(dxd, p.inDrop, p.opts.inputSeed)) : dxd);
    return out;
  });
}
