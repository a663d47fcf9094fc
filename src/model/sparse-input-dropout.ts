/**
 * Dropout of sparse input features acts on the stored values (dropping a zero changes nothing).
 * The sparse projection's backward reads those values after tf.grads has disposed everything its
 * forward made, so the dropped values are kept outside any tidy by the owner of the features (the
 * network's inputs, the api's dataset): one tensor, replaced when the seed changes (both gradient
 * modes of one step share it) and freed with its owner.
 */
import * as tf from '@tensorflow/tfjs-core';
import { dropout } from '../ops/dropout.js';
import type { SparseMatrix } from '../ops/linear.js';

export class SparseInputDropout {
  private kept: { key: string; values: tf.Tensor1D } | null = null;

  /** x with its values dropped at rate p by the mask of seed (the kept copy when p and seed repeat). */
  of(x: SparseMatrix, p: number, seed: number): SparseMatrix {
    const key = `${p}:${seed}`;
    if (!this.kept || this.kept.key !== key) {
      this.kept?.values.dispose();
      this.kept = { key, values: tf.keep(tf.tidy(() => dropout(x.values, p, seed))) };
    }
    return { ...x, values: this.kept.values };
  }

  /** Frees the kept copy; the next training pass makes its own. */
  release(): void {
    this.kept?.values.dispose();
    this.kept = null;
  }
}
