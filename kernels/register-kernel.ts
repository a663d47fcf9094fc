/**
 * How every backend registers this project's kernels: registerGatKernel hands the kernel function
 * its inputs and attrs typed by the kernel's contract (names.ts), and checkGatKernels, called at
 * the end of a backend's registration, fails its start when a required kernel is missing, so no
 * backend can quietly implement a narrower contract than the others.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { KernelBackend, TensorInfo } from '@tensorflow/tfjs-core';
import { OPTIONAL_KERNELS, PROJECT_KERNELS, type GatKernelName, type KernelAttrs, type KernelInputs, type KernelOutputs } from './names.js';

/** What a kernel function of kernel N receives on a backend of class B. */
export interface GatKernelArgs<N extends GatKernelName, B = KernelBackend> {
  inputs: KernelInputs<N, TensorInfo>;
  attrs: KernelAttrs<N>;
  backend: B;
}

export type GatKernelFunc<N extends GatKernelName, B = KernelBackend> = (args: GatKernelArgs<N, B>) => KernelOutputs<N, TensorInfo>;

/** A kernel function with its name, for a backend's list of kernels. */
export interface GatKernelImpl<N extends GatKernelName, B> {
  name: N;
  func: GatKernelFunc<N, B>;
}

/** Any kernel's implementation (the name tells which contract its function follows). */
export type AnyGatKernelImpl<B> = { [N in GatKernelName]: GatKernelImpl<N, B> }[GatKernelName];

/** A typed list entry: gatKernel(GAT_SCORE, (args) => ...) checks the function against the contract. */
export function gatKernel<N extends GatKernelName, B>(name: N, func: GatKernelFunc<N, B>): GatKernelImpl<N, B> {
  return { name, func };
}

/** Registers (or replaces) kernel `name` on `backendName`. */
export function registerGatKernel<N extends GatKernelName, B = KernelBackend>(
  name: N, backendName: string, func: GatKernelFunc<N, B>,
): void {
  if (tf.getKernel(name, backendName)) tf.unregisterKernel(name, backendName);
  const kernelFunc: tf.KernelFunc = ({ inputs, attrs, backend }) =>
    func({ inputs: inputs as unknown as KernelInputs<N, TensorInfo>, attrs: (attrs ?? {}) as unknown as KernelAttrs<N>, backend: backend as unknown as B }) as TensorInfo | TensorInfo[];
  tf.registerKernel({ kernelName: name, backendName, kernelFunc, gatv2: true } as tf.KernelConfig);
}

export function registerGatKernels<B>(backendName: string, impls: Array<AnyGatKernelImpl<B>>): void {
  for (const k of impls) registerGatKernel(k.name, backendName, k.func as GatKernelFunc<GatKernelName, B>);
}

/** The required kernels (names.ts, all but OPTIONAL_KERNELS) that `backendName` lacks. */
export function missingGatKernels(backendName: string): GatKernelName[] {
  return PROJECT_KERNELS.filter((n) => !OPTIONAL_KERNELS.has(n) && tf.getKernel(n, backendName) === undefined);
}

/** Throws when `backendName` lacks a required kernel. */
export function checkGatKernels(backendName: string): void {
  const missing = missingGatKernels(backendName);
  if (missing.length > 0) throw new Error(`gatv2 ${backendName}: required kernels not registered: ${missing.join(', ')}`);
}
