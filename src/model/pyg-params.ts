/**
 * Conversion between PyG's parameter layouts (torch.nn.Linear [out, in], att [1, H, C]) and this
 * project's TF.js layouts ([in, out], att [H*C]). Names are PyG's on both sides.
 */
import * as tf from '@tensorflow/tfjs-core';

/** Row-major data in PyG layout -> tensor in TF layout. */
export function fromPyg(name: string, pygShape: number[], data: ArrayLike<number>): tf.Tensor {
  const f32 = Float32Array.from(data as ArrayLike<number>);
  if (name.endsWith('.weight')) {
    const [out, inp] = pygShape;
    return tf.tidy(() => tf.transpose(tf.tensor2d(f32, [out, inp])));
  }
  return tf.tensor1d(f32);
}

/** Tensor in TF layout -> row-major Float64Array in PyG layout (async: works on GPU backends). */
export async function toPyg(name: string, t: tf.Tensor): Promise<Float64Array> {
  if (!name.endsWith('.weight')) return Float64Array.from(await t.data());
  const tr = tf.transpose(t);
  const data = Float64Array.from(await tr.data());
  tr.dispose();
  return data;
}
