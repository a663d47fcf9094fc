/**
 * The one way src/ calls this project's kernels: runGatKernel checks the inputs and attrs against
 * the kernel's contract in names.ts at compile time and gives the outputs their contract's type,
 * where tf.engine().runKernel takes any map and returns Tensor | Tensor[] to be cast.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { GatKernelName, KernelAttrs, KernelInputs, KernelOutputs } from './names.js';

/** The attrs argument: optional for a kernel without attributes. */
type AttrsArg<N extends GatKernelName> = keyof KernelAttrs<N> extends never ? [attrs?: KernelAttrs<N>] : [attrs: KernelAttrs<N>];

/** Runs kernel `name` on the current backend. Optional inputs left undefined are not passed. */
export function runGatKernel<N extends GatKernelName>(
  name: N, inputs: KernelInputs<N, tf.Tensor>, ...attrs: AttrsArg<N>
): KernelOutputs<N, tf.Tensor> {
  const given: tf.NamedTensorMap = {};
  for (const [k, t] of Object.entries(inputs as Record<string, tf.Tensor | undefined>)) if (t !== undefined) given[k] = t;
  const a = (attrs[0] ?? {}) as unknown as tf.NamedAttrMap;
  return tf.engine().runKernel(name, given, a) as unknown as KernelOutputs<N, tf.Tensor>;
}

/**
 * Whether the current backend registered kernel `name`: how a call site learns that an optional
 * kernel (names.ts OPTIONAL_KERNELS) is there, without knowing which backend runs.
 */
export function hasGatKernel(name: GatKernelName): boolean {
  return tf.getKernel(name, tf.getBackend()) !== undefined;
}
