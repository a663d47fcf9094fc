/** Registers this project's kernels, and the fast segment sum and gather, on the cpu backend. */
import { registerTypedArrayKernel } from '../typed-array-kernel.js';
import { TYPED_ARRAY_KERNELS } from '../typed-array-specs.js';

export function registerCpuKernels(): void {
  for (const spec of TYPED_ARRAY_KERNELS) registerTypedArrayKernel('cpu', spec);
}
