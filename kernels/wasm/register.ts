/** Registers this project's kernels, and the fast segment sum and gather (wasm has no segment sum
 * at all), on the wasm backend. The loops run in JS over views of the wasm heap. */
import { registerTypedArrayKernel } from '../typed-array-kernel.js';
import { TYPED_ARRAY_KERNELS } from '../typed-array-specs.js';

export function registerWasmKernels(): void {
  for (const spec of TYPED_ARRAY_KERNELS) registerTypedArrayKernel('wasm', spec);
}
