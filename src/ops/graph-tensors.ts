import * as tf from '@tensorflow/tfjs-core';
import type { GraphLayout } from '../graph/layout.js';

/**
 * The CSR layout as int32 tensors on the current backend, made once per graph and kept for the
 * whole run (kernels take them as inputs, so every backend, GPU included, sees the same layout).
 */
export interface GraphTensors {
  layout: GraphLayout;
  rowPtr: tf.Tensor1D;
  csrSrc: tf.Tensor1D;
  csrDst: tf.Tensor1D;
  srcPtr: tf.Tensor1D;
  srcOrder: tf.Tensor1D;
  dispose(): void;
}

export function graphTensors(layout: GraphLayout): GraphTensors {
  const t = (a: Int32Array) => tf.keep(tf.tensor1d(a, 'int32'));
  const g = {
    layout,
    rowPtr: t(layout.rowPtr),
    csrSrc: t(layout.csrSrc),
    csrDst: t(layout.csrDst),
    srcPtr: t(layout.srcPtr),
    srcOrder: t(layout.srcOrder),
    dispose() {
      for (const x of [g.rowPtr, g.csrSrc, g.csrDst, g.srcPtr, g.srcOrder]) x.dispose();
    },
  };
  return g;
}

/** Which backward a run uses: the hand-derived one of gradients.md, or TF.js autodiff. */
export type GradMode = 'analytic' | 'autograd';
