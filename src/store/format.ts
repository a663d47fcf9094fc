/**
 * The binary graph store written by `gatv2 convert`: a directory of flat little-endian arrays and
 * one JSON manifest (MANIFEST_FILE) that names each array's file, element type, length, byte size
 * and SHA-256. A store is read with positional reads straight into typed arrays: no parsing.
 *
 * Arrays (N nodes, E input edges, F features):
 *   indptr        int32 | int64 [N+1]   CSR by destination: the in-edges of node i are positions
 *                                       indptr[i]..indptr[i+1] (int64 only when E >= 2^31)
 *   indices       int32 [E]             source node of each position (edges sorted stably by
 *                                       destination: duplicates and self loops kept, as in edges.csv)
 *   labels        int32 [N]             class index, -1 for none
 *   split         uint8 [N]             SPLIT_CODES
 *   node_ids      utf8 + offsets        the user's node ids (node_id_offsets int32 | int64 [N+1])
 *   features      float32 | float16 [N*F] dense row-major, or, for sparse features,
 *   feat_indptr   int32 | int64 [N+1], feat_indices int32 [nnz], feat_values float32 | float16 [nnz]
 * Class names (and feature names, when the CSV had them) are in the manifest.
 */

export const STORE_FORMAT = 'gatv2-store';
export const STORE_VERSION = 1;
export const MANIFEST_FILE = 'gatv2-store.json';

export type StoreDtype = 'int32' | 'int64' | 'uint8' | 'float32' | 'float16' | 'utf8';

export const DTYPE_BYTES: Record<StoreDtype, number> = { int32: 4, int64: 8, uint8: 1, float32: 4, float16: 2, utf8: 1 };

export interface StoreArray {
  /** File name inside the store directory. */
  file: string;
  dtype: StoreDtype;
  /** Number of elements. */
  length: number;
  /** Byte size of the file: length * DTYPE_BYTES[dtype]. */
  bytes: number;
  /** Hex SHA-256 of the file's bytes. */
  sha256: string;
}

export type ArrayName =
  | 'indptr' | 'indices' | 'labels' | 'split' | 'node_id_offsets' | 'node_ids'
  | 'features' | 'feat_indptr' | 'feat_indices' | 'feat_values';

export interface StoreManifest {
  format: typeof STORE_FORMAT;
  version: typeof STORE_VERSION;
  /** The dataset's name (the source directory's base name). */
  name: string;
  /** Where it was converted from, as given (for the record only). */
  source: string;
  createdAt: string;
  numNodes: number;
  numEdges: number;
  numFeatures: number;
  featureKind: 'dense' | 'sparse';
  featuresDtype: 'float32' | 'float16';
  classNames: string[];
  featureNames?: string[];
  /** Warnings the loader gave while reading the source (an empty edge list...). */
  warnings: string[];
  arrays: Partial<Record<ArrayName, StoreArray>>;
}

/** The offset type a CSR pointer array needs to hold `maxValue`. */
export function offsetDtype(maxValue: number): 'int32' | 'int64' {
  return maxValue <= 0x7fffffff ? 'int32' : 'int64';
}
