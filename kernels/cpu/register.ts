/** Registers this project's kernels, and the fast segment sum and gather, on the cpu backend. */
import { declareMatMulTraits } from '../matmul-traits.js';
import { checkGatKernels } from '../register-kernel.js';
import { registerGatTypedArrayKernel, registerTypedArrayKernel } from '../typed-array-kernel.js';
import { GAT_TYPED_ARRAY_KERNELS, STOCK_TYPED_ARRAY_KERNELS } from '../typed-array-specs.js';

export function registerCpuKernels(): void {
  for (const spec of GAT_TYPED_ARRAY_KERNELS) registerGatTypedArrayKernel('cpu', spec);
  for (const spec of STOCK_TYPED_ARRAY_KERNELS) registerTypedArrayKernel('cpu', spec);
  // TF.js's cpu matmul reads a transposed operand itself: no copy needed.
  declareMatMulTraits('cpu', { explicitTransposes: false, matrixBias: false });
  checkGatKernels('cpu');
}
