/**
 * A typed wrapper of tf.customGrad for ops of any number of tensor inputs. tf.customGrad passes
 * the save function after the inputs and runs the forward with the tape off, so every trainable
 * tensor must be one of `inputs` (docs/platform-notes.md, "tf.customGrad rules").
 */
import * as tf from '@tensorflow/tfjs-core';

export interface CustomOpResult {
  value: tf.Tensor;
  /** One gradient per input, given dL/dvalue and the tensors passed to save(). */
  gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.Tensor | tf.Tensor[];
}

export function customOp(
  forward: (inputs: tf.Tensor[], save: tf.GradSaveFunc) => CustomOpResult,
): (...inputs: tf.Tensor[]) => tf.Tensor {
  const op = tf.customGrad(((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const save = args[args.length - 1] as tf.GradSaveFunc;
    const r = forward(args.slice(0, -1) as tf.Tensor[], save);
    return { value: r.value, gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => r.gradFunc(dy as tf.Tensor, saved) };
  }) as Parameters<typeof tf.customGrad>[0]);
  return (...inputs: tf.Tensor[]) => op(...inputs);
}
