/**
 * `--split random:TRAIN,VAL,TEST`: a seeded split stratified by class, for datasets without a
 * split or when another one is wanted. Every labelled node takes part (whatever split the
 * dataset gave it); unlabelled nodes stay unlabeled. Within each class the nodes are shuffled
 * (Fisher-Yates, from one seeded stream, classes in index order), then the first
 * round(TRAIN * n_c) go to train, the next round(VAL * n_c) to val, the next round(TEST * n_c)
 * to test (when the fractions add up to 1: all the rest), and any rest to unlabeled. So each
 * split has the class proportions of the labelled nodes, and the same seed gives the same split.
 */
import { mulberry32 } from '../util/prng.js';
import { InputError } from '../util/errors.js';
import { SPLIT_CODES } from './dataset.js';

export interface RandomSplit {
  kind: 'random';
  train: number;
  val: number;
  test: number;
  seed: number;
}

const SPEC = /^random:([^,]+),([^,]+),([^,]+)$/;

/** Parses `random:0.6,0.2,0.2` (fractions in [0, 1], adding up to at most 1). */
export function parseSplit(text: string, seed: number): RandomSplit {
  const m = SPEC.exec(text.trim());
  const why = `--split must be random:TRAIN,VAL,TEST with fractions adding up to at most 1 (e.g. random:0.6,0.2,0.2), got "${text}"`;
  if (!m) throw new InputError(why);
  const [train, val, test] = [m[1], m[2], m[3]].map((t) => (t.trim() === '' ? NaN : Number(t)));
  if (![train, val, test].every((f) => f >= 0 && f <= 1) || train + val + test > 1 + 1e-9) throw new InputError(why);
  if (!(train > 0 && val > 0)) throw new InputError(`--split needs a train and a val fraction above 0 (early stopping uses val), got "${text}"`);
  if (!(Number.isInteger(seed) && seed >= 0 && seed < 2 ** 32)) throw new InputError(`--split-seed must be an integer in [0, 2^32), got ${seed}`);
  return { kind: 'random', train, val, test, seed };
}

/** Split codes per node (SPLIT_CODES) for labels (-1: unlabelled) of `numClasses` classes. */
export function randomSplit(labels: Int32Array, numClasses: number, spec: RandomSplit): Uint8Array {
  const split = new Uint8Array(labels.length).fill(SPLIT_CODES.unlabeled);
  const byClass: number[][] = Array.from({ length: numClasses }, () => []);
  for (let i = 0; i < labels.length; i++) if (labels[i] >= 0) byClass[labels[i]].push(i);
  const rand = mulberry32(spec.seed);
  const whole = Math.abs(spec.train + spec.val + spec.test - 1) < 1e-9;
  for (const nodes of byClass) {
    for (let k = nodes.length - 1; k > 0; k--) {
      const j = Math.floor(rand() * (k + 1));
      [nodes[k], nodes[j]] = [nodes[j], nodes[k]];
    }
    const n = nodes.length;
    const nTrain = Math.min(n, Math.round(spec.train * n));
    const nVal = Math.min(n - nTrain, Math.round(spec.val * n));
    const nTest = whole ? n - nTrain - nVal : Math.min(n - nTrain - nVal, Math.round(spec.test * n));
    nodes.forEach((i, k) => {
      if (k < nTrain) split[i] = SPLIT_CODES.train;
      else if (k < nTrain + nVal) split[i] = SPLIT_CODES.val;
      else if (k < nTrain + nVal + nTest) split[i] = SPLIT_CODES.test;
    });
  }
  return split;
}
