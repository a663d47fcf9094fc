/**
 * Starts a TF.js backend and registers this project's kernels on it. The implementation lives in
 * src/backends/ (one module per backend); this module keeps the original import path.
 */
export {
  BACKENDS, CONCRETE_BACKENDS, backendReason, lastBackendChoice, probeAll, probeBackend, selectBackend, useBackend,
} from './backends/index.js';
export type { BackendChoice, BackendName, BackendReport, BackendRequest } from './backends/index.js';
