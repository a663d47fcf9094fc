/**
 * Registers this project's kernels on the webgpu backend (the fused Adam update, dropout and the
 * weight gradient included), and the deterministic segment sum and gather and a column sum in place of TF.js's
 * (whose stock versions stay as fallbacks, see segment-sum.ts and column-sum.ts), and TF.js's matmuls
 * kept from their split-K program, which adds with float atomics (matmul.ts).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { KernelConfig, KernelFunc } from '@tensorflow/tfjs-core';
import { declareMatMulTraits } from '../matmul-traits.js';
import { checkGatKernels, registerGatKernels, type AnyGatKernelImpl } from '../register-kernel.js';
import type { GatWebGPUBackend } from './backend.js';
import { adamKernels } from './adam.js';
import { aggregateKernels } from './aggregate.js';
import { columnSumKernels } from './column-sum.js';
import { dropoutKernels } from './dropout.js';
import { matMulKernels } from './matmul.js';
import { scoreKernels } from './score.js';
import { segmentSumKernels } from './segment-sum.js';
import { softmaxKernels } from './softmax.js';
import { sparseMatMulKernels } from './sparse-matmul.js';
import { weightGradKernels } from './weight-grad.js';

const stockKernels = new Map<string, KernelFunc>();

function stock(name: string): KernelFunc {
  const k = stockKernels.get(name);
  if (!k) throw new Error(`gatv2 webgpu: no stock ${name} kernel to fall back to`);
  return k;
}

/** This project's kernels (names.ts), every one of them, the optional ones included. */
export function webgpuGatKernels(): Array<AnyGatKernelImpl<GatWebGPUBackend>> {
  return [
    ...scoreKernels(), ...softmaxKernels(), ...aggregateKernels(), ...sparseMatMulKernels(),
    ...adamKernels(), ...dropoutKernels(), ...weightGradKernels(),
  ];
}

/** TF.js's own kernels replaced here (their stock versions kept as fallbacks). */
export function webgpuStockReplacements(): KernelConfig[] {
  return [...segmentSumKernels(stock), ...columnSumKernels(stock), ...matMulKernels(stock)];
}

/** Idempotent. Call after @tensorflow/tfjs-backend-webgpu has registered its kernels. */
export function registerWebGPUKernels(): void {
  registerGatKernels('webgpu', webgpuGatKernels());
  // A fused matmul's bias may be a whole matrix here, so a sum of products chains through it.
  declareMatMulTraits('webgpu', { explicitTransposes: false, matrixBias: true });
  checkGatKernels('webgpu');
  for (const config of webgpuStockReplacements()) {
    const existing = tf.getKernel(config.kernelName, 'webgpu');
    if (existing && !(existing as { gatv2?: boolean }).gatv2) stockKernels.set(config.kernelName, existing.kernelFunc);
    if (existing) tf.unregisterKernel(config.kernelName, 'webgpu');
    tf.registerKernel({ ...config, gatv2: true } as KernelConfig);
  }
}
