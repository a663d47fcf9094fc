/**
 * The training objective: mean cross-entropy over one split's nodes, plus weight decay as an L2
 * term (weightDecay / 2) * sum ||theta||^2, whose gradient weightDecay * theta is what PyTorch's
 * Adam(weight_decay=...) adds and what the GAT paper's l2_coef * tf.nn.l2_loss gives. Training
 * differentiates the cross-entropy alone and lets the optimizer add that gradient
 * (src/model/optimizers.ts); l2Penalty is the objective gradcheck and the tests differentiate.
 */
import * as tf from '@tensorflow/tfjs-core';

/**
 * [N, C] weights of the split's cross-entropy: 1/|S| at (i, label_i) for every i in S, 0 elsewhere.
 * The loss is then -sum(W * logSoftmax(logits)): no gather of the split's rows, so the backward
 * is elementwise on every backend.
 */
export function splitTargets(labels: Int32Array, nodes: Int32Array, numClasses: number): tf.Tensor2D {
  const w = new Float32Array(labels.length * numClasses);
  for (const i of nodes) w[i * numClasses + labels[i]] = 1 / nodes.length;
  return tf.tensor2d(w, [labels.length, numClasses]);
}

export function crossEntropy(logits: tf.Tensor2D, targets: tf.Tensor2D): tf.Scalar {
  return tf.neg(tf.sum(tf.mul(targets, tf.logSoftmax(logits)))) as tf.Scalar;
}

export function l2Penalty(params: tf.Tensor[], weightDecay: number): tf.Scalar {
  const sq = params.map((p) => tf.sum(tf.square(p)));
  // Pairwise adds, not addN: WebGPU's AddN binds every input at once, and 3 layers' 18 parameters
  // exceed the 16 storage buffers per stage some adapters allow.
  return tf.mul(sq.reduce((a, b) => tf.add(a, b)), weightDecay / 2);
}

export interface SplitScore {
  /** Fraction of the split's nodes whose argmax logit is their label (NaN for an empty split). */
  accuracy: number;
  /** Mean cross-entropy, computed in float64 from the float32 logits. */
  loss: number;
}

/** Accuracy and loss of a split from host logits [N * C], row-major. */
export function scoreSplit(logits: Float32Array, labels: Int32Array, nodes: Int32Array, numClasses: number): SplitScore {
  let correct = 0;
  let loss = 0;
  for (const i of nodes) {
    const row = i * numClasses;
    let best = 0;
    let max = -Infinity;
    for (let c = 0; c < numClasses; c++) {
      if (logits[row + c] > max) {
        max = logits[row + c];
        best = c;
      }
    }
    let sum = 0;
    for (let c = 0; c < numClasses; c++) sum += Math.exp(logits[row + c] - max);
    loss += Math.log(sum) - (logits[row + labels[i]] - max);
    if (best === labels[i]) correct++;
  }
  return { accuracy: correct / nodes.length, loss: loss / nodes.length };
}

/** Softmax of each row, in float64, for predictions. */
export function softmaxRows(logits: Float32Array, numClasses: number): Float64Array {
  const out = new Float64Array(logits.length);
  for (let row = 0; row < logits.length; row += numClasses) {
    let max = -Infinity;
    for (let c = 0; c < numClasses; c++) max = Math.max(max, logits[row + c]);
    let sum = 0;
    for (let c = 0; c < numClasses; c++) sum += (out[row + c] = Math.exp(logits[row + c] - max));
    for (let c = 0; c < numClasses; c++) out[row + c] /= sum;
  }
  return out;
}
