/** Settings of the WebGPU kernels that `gatv2 backends` shows, apart from backend.ts so that it
 * can without loading TF.js's WebGPU backend. */

/** A segment longer than this gets a workgroup instead of one thread (see plans.ts). */
export const DEFAULT_HEAVY_THRESHOLD = 256;

/**
 * Bytes of disposed tensors waiting on unsubmitted programs that make the next program submit.
 * 16 MiB was measured on lavapipe (a 20,000-node step); a large GPU runs graphs whose node-sized
 * tensors alone are hundreds of MiB, where 16 MiB would submit after nearly every program. WebGPU
 * does not say how much memory a GPU has; the largest buffer it may allocate is the nearest
 * measure, so the threshold is 1/256 of maxBufferSize (lavapipe's 4 GiB gives the measured 16 MiB),
 * in whole MiB, never below 16 MiB nor above 1 GiB. `gatv2 backends --json` shows the value.
 */
export function pendingFlushBytes(maxBufferSize: number): number {
  const MiB = 1024 * 1024;
  return Math.min(1024 * MiB, Math.max(16 * MiB, Math.floor(maxBufferSize / 256 / MiB) * MiB));
}


/**
 * Rows per slice of GatV2WeightGrad (weight-grad.ts: TF.js's matmul walks all N rows in each of a
 * few output tiles) when the call gives none, for N of two slices or more; fewer rows make one
 * slice of all of them. 0: always one slice (to measure the split against none).
 */
export const SPLIT_ROWS = 4096;

let splitRows = SPLIT_ROWS;

/** Set once when the backend starts (src/backends/webgpu.ts reads GATV2_SPLIT_ROWS). */
export function setSplitRows(rows: number): void {
  if (!(Number.isInteger(rows) && rows >= 0)) throw new Error(`split rows must be a non-negative integer, got ${rows}`);
  splitRows = rows;
}

export function currentSplitRows(): number {
  return splitRows;
}

/** The slice of a weight gradient over n rows: splitRows, or all n rows (at least 1). */
export function rowsPerSliceFor(n: number): number {
  return splitRows > 0 && n >= 2 * splitRows ? splitRows : Math.max(n, 1);
}
