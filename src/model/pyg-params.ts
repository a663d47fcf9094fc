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

/** Nested arrays of a row-major buffer, for JSON in PyG's layout. */
function nest(data: Float64Array, shape: number[]): unknown {
  if (shape.length <= 1) return Array.from(data);
  const step = data.length / shape[0];
  return Array.from({ length: shape[0] }, (_, i) => nest(data.subarray(i * step, (i + 1) * step), shape.slice(1)));
}

/**
 * A parameter map (PyG names, TF layouts; layer prefixes like "conv1." allowed) as a PyG
 * state_dict in JSON: the `params` field of the fixture files, loadable into torch with
 * `{k: torch.tensor(v) for k, v in state.items()}`. pygShapes gives each name's PyG shape.
 */
export async function exportPygState(
  params: Record<string, tf.Tensor>, pygShapes: Record<string, number[]>,
): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  for (const [name, t] of Object.entries(params)) {
    const shape = pygShapes[name];
    if (!shape) throw new Error(`exportPygState: no PyG shape for ${name}`);
    out[name] = nest(await toPyg(name, t), shape);
  }
  return out;
}

/** The inverse of exportPygState: PyG-layout nested arrays -> tensors in TF layouts. */
export function importPygState(
  state: Record<string, unknown>, pygShapes: Record<string, number[]>,
): Record<string, tf.Tensor> {
  const out: Record<string, tf.Tensor> = {};
  for (const [name, shape] of Object.entries(pygShapes)) {
    if (!(name in state)) throw new Error(`PyG state has no "${name}"`);
    const flat = (state[name] as unknown[]).flat(Infinity) as number[];
    const want = shape.reduce((a, b) => a * b, 1);
    if (flat.length !== want) throw new Error(`PyG state "${name}" has ${flat.length} values, expected ${want} for shape [${shape}]`);
    out[name] = fromPyg(name, shape, flat);
  }
  return out;
}
