/**
 * What a backend declares about its stock matmuls when it registers its kernels, so that
 * src/ops/linear.ts writes the projection gradients the way the current backend runs them fast
 * without asking which backend that is.
 */
import * as tf from '@tensorflow/tfjs-core';

/**
 * How a backend's stock matmuls want a product written, declared when it registers its kernels.
 * Both default to false (TF.js's own behaviour).
 */
export interface MatMulTraits {
  /**
   * Transposed operands are materialised before a product rather than read transposed by the
   * matmul: wasm's XNNPACK leaves its fast path when transposeA or transposeB is set, about 12x
   * slower (docs/platform-notes.md). Elsewhere the matmul reads the operand transposed itself,
   * which saves a full copy (and its memory).
   */
  explicitTransposes: boolean;
  /** A fused matmul's bias may be a whole [N, K] matrix (webgpu), not only a vector (wasm). */
  matrixBias: boolean;
}

const NO_TRAITS: MatMulTraits = { explicitTransposes: false, matrixBias: false };
const traitsByBackend = new Map<string, MatMulTraits>();

export function declareMatMulTraits(backendName: string, traits: MatMulTraits): void {
  traitsByBackend.set(backendName, traits);
}

/** The current backend's declared traits. */
export function matMulTraits(): MatMulTraits {
  return traitsByBackend.get(tf.getBackend()) ?? NO_TRAITS;
}
