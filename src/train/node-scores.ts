/**
 * Each node's evaluation outcome, kept instead of its logits: the predicted class (argmax, first
 * of equals) and the cross-entropy against its label, in float64. That is all the epoch's split
 * scores (scoreSplit) and the classification report need, in 12 bytes a node instead of
 * 4 x classes (ogbn-products: 29 MB instead of 460 MB), and it can be filled chunk by chunk as a
 * layer-wise evaluation produces logits (layerwise.ts). Sums run over a split's nodes in the same
 * order and with the same float64 terms as scoreSplit, so the numbers are bit-identical to it.
 */
import { reportFromPredictions, type ClassificationReport } from '../run/classification-metrics.js';
import type { SplitScore } from '../model/loss.js';

export interface NodeScores {
  /** Argmax class of each node's logits. */
  predicted: Int32Array;
  /** Cross-entropy of each node's logits against its label; NaN for a node without one. */
  nll: Float64Array;
}

export function emptyNodeScores(numNodes: number): NodeScores {
  return { predicted: new Int32Array(numNodes), nll: new Float64Array(numNodes) };
}

/** Fills the scores of nodes firstRow.. from their logits (row-major, numClasses per row). */
export function scoreRows(scores: NodeScores, labels: Int32Array, numClasses: number, firstRow: number, logits: Float32Array): void {
  const rows = logits.length / numClasses;
  for (let r = 0; r < rows; r++) {
    const i = firstRow + r;
    const base = r * numClasses;
    let best = 0;
    let max = -Infinity;
    for (let c = 0; c < numClasses; c++) {
      if (logits[base + c]! > max) {
        max = logits[base + c]!;
        best = c;
      }
    }
    let sum = 0;
    for (let c = 0; c < numClasses; c++) sum += Math.exp(logits[base + c]! - max);
    const label = labels[i]!;
    scores.predicted[i] = best;
    scores.nll[i] = label >= 0 ? Math.log(sum) - (logits[base + label]! - max) : NaN;
  }
}

/** The scores of every node from the whole logits matrix [N * C]. */
export function scoresOfLogits(logits: Float32Array, labels: Int32Array, numClasses: number): NodeScores {
  const scores = emptyNodeScores(labels.length);
  scoreRows(scores, labels, numClasses, 0, logits);
  return scores;
}

/** Accuracy and mean loss of a split: equal to scoreSplit on the logits the scores came from. */
export function scoreSplitOf(scores: NodeScores, labels: Int32Array, nodes: Int32Array): SplitScore {
  let correct = 0;
  let loss = 0;
  for (const i of nodes) {
    loss += scores.nll[i]!;
    if (scores.predicted[i] === labels[i]) correct++;
  }
  return { accuracy: correct / nodes.length, loss: loss / nodes.length };
}

/** classificationReport of a split, from the predicted classes. */
export function classificationReportOf(scores: NodeScores, labels: Int32Array, nodes: Int32Array, numClasses: number): ClassificationReport {
  const truth = new Int32Array(nodes.length);
  const predicted = new Int32Array(nodes.length);
  nodes.forEach((i, k) => {
    truth[k] = labels[i]!;
    predicted[k] = scores.predicted[i]!;
  });
  return reportFromPredictions(truth, predicted, numClasses);
}
