/**
 * The per-class numbers papers report beside accuracy, from host logits: the confusion matrix,
 * precision, recall and F1 per class, and macro-F1. Conventions are scikit-learn's
 * (classification_report, f1_score(average='macro'), zero_division=0):
 * - prediction = argmax of the logits (the first class on ties, as scoreSplit);
 * - confusion[t][p] counts nodes of true class t predicted as p;
 * - precision = TP / (TP + FP), recall = TP / (TP + FN), F1 = 2 P R / (P + R), each 0 when its
 *   denominator is 0;
 * - macro-F1 = the mean F1 over the classes that occur in the split's labels or predictions
 *   (sklearn's default labels); a class that neither occurs nor is predicted is left out.
 */

export interface ClassScore {
  precision: number;
  recall: number;
  f1: number;
  /** Nodes of this class in the split. */
  support: number;
}

export interface ClassificationReport {
  nodes: number;
  accuracy: number;
  macroF1: number;
  /** Per class index (0..C-1), also classes absent from the split (all zero, support 0). */
  perClass: ClassScore[];
  /** [true class][predicted class] counts. */
  confusion: number[][];
}

/** Argmax per row (first maximum wins). */
function predictedClass(logits: ArrayLike<number>, row: number, numClasses: number): number {
  let best = 0;
  let max = -Infinity;
  for (let c = 0; c < numClasses; c++) {
    const v = logits[row * numClasses + c];
    if (v > max) {
      max = v;
      best = c;
    }
  }
  return best;
}

/** From true and predicted classes of the same nodes. */
export function reportFromPredictions(truth: ArrayLike<number>, predicted: ArrayLike<number>, numClasses: number): ClassificationReport {
  const confusion = Array.from({ length: numClasses }, () => new Array<number>(numClasses).fill(0));
  let correct = 0;
  for (let k = 0; k < truth.length; k++) {
    confusion[truth[k]][predicted[k]]++;
    if (truth[k] === predicted[k]) correct++;
  }
  const perClass: ClassScore[] = [];
  let f1Sum = 0;
  let present = 0;
  for (let c = 0; c < numClasses; c++) {
    const tp = confusion[c][c];
    let support = 0;
    let predictedAs = 0;
    for (let o = 0; o < numClasses; o++) {
      support += confusion[c][o];
      predictedAs += confusion[o][c];
    }
    const precision = predictedAs > 0 ? tp / predictedAs : 0;
    const recall = support > 0 ? tp / support : 0;
    const f1 = precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0;
    perClass.push({ precision, recall, f1, support });
    if (support > 0 || predictedAs > 0) {
      f1Sum += f1;
      present++;
    }
  }
  return {
    nodes: truth.length,
    accuracy: truth.length > 0 ? correct / truth.length : NaN,
    macroF1: present > 0 ? f1Sum / present : NaN,
    perClass,
    confusion,
  };
}

/** Report of the nodes `nodes` from host logits [N * C] row-major and labels per node. */
export function classificationReport(
  logits: ArrayLike<number>, labels: Int32Array, nodes: Int32Array, numClasses: number,
): ClassificationReport {
  const truth = new Int32Array(nodes.length);
  const predicted = new Int32Array(nodes.length);
  nodes.forEach((i, k) => {
    truth[k] = labels[i];
    predicted[k] = predictedClass(logits, i, numClasses);
  });
  return reportFromPredictions(truth, predicted, numClasses);
}
