/**
 * Index data the programs derive from the host copy of index tensors (see backend.ts), built once
 * per tensor and cached on the backend.
 *
 * SegmentPlan splits the segments of a pointer array (rowPtr: a destination's incoming edges;
 * srcPtr: a source's outgoing edges; ...) into light ones, of at most `threshold` entries, reduced
 * by one invocation each, and heavy ones (hubs), reduced by a whole workgroup each. A graph with a
 * node of in-degree 100000 therefore spreads that node over 256 invocations instead of one.
 * Without host values (a pointer tensor computed on the GPU; this project makes none) every
 * segment is treated as heavy: still parallel and deterministic, only wasteful on small segments.
 */
import type { TensorInfo } from '@tensorflow/tfjs-core';
import type { Derived, GatWebGPUBackend } from './backend.js';

export type SegmentPlan =
  | { kind: 'split'; threshold: number; heavy: TensorInfo | null; numHeavy: number; tensors: TensorInfo[] }
  | { kind: 'all-heavy'; numHeavy: number; tensors: TensorInfo[] };

export function segmentPlan(backend: GatWebGPUBackend, ptr: TensorInfo): SegmentPlan {
  const threshold = backend.gat.heavyThreshold;
  const numSegments = ptr.shape[0]! - 1;
  const host = backend.hostInt32(ptr);
  if (!host) return { kind: 'all-heavy', numHeavy: numSegments, tensors: [] };
  return backend.derive(ptr, `plan:${threshold}`, () => {
    const heavyRows: number[] = [];
    for (let s = 0; s < numSegments; s++) if (host[s + 1]! - host[s]! > threshold) heavyRows.push(s);
    const heavy = heavyRows.length > 0 ? backend.indexTensor(Int32Array.from(heavyRows)) : null;
    return { kind: 'split', threshold, heavy, numHeavy: heavyRows.length, tensors: heavy ? [heavy] : [] };
  });
}

/** A grouping of rows by segment id: rows of segment s are order[ptr[s]..ptr[s+1]), ascending. */
export interface SegmentIndex extends Derived {
  ptr: TensorInfo;
  order: TensorInfo;
  /** Rows whose id lies in [0, numSegments): the others are dropped, as TF drops them. */
  kept: number;
}

/** Stable counting sort of `ids` (rows outside [0, numSegments) dropped). */
export function groupBySegment(ids: Int32Array, numSegments: number): { ptr: Int32Array; order: Int32Array } {
  const ptr = new Int32Array(numSegments + 1);
  for (let r = 0; r < ids.length; r++) {
    const s = ids[r]!;
    if (s >= 0 && s < numSegments) ptr[s + 1]++;
  }
  for (let s = 0; s < numSegments; s++) ptr[s + 1] += ptr[s]!;
  const next = ptr.slice(0, numSegments);
  const order = new Int32Array(ptr[numSegments]!);
  for (let r = 0; r < ids.length; r++) {
    const s = ids[r]!;
    if (s >= 0 && s < numSegments) order[next[s]!++] = r;
  }
  return { ptr, order };
}

/** The segment grouping of an int32 ids tensor, or null when its values are not on the host. */
export function segmentIndex(backend: GatWebGPUBackend, ids: TensorInfo, numSegments: number): SegmentIndex | null {
  const host = backend.hostInt32(ids);
  if (!host) return null;
  return backend.derive(ids, `segments:${numSegments}`, () => {
    const { ptr, order } = groupBySegment(host, numSegments);
    const p = backend.indexTensor(ptr);
    const o = backend.indexTensor(order.length > 0 ? order : new Int32Array(1));
    return { ptr: p, order: o, kept: order.length, tensors: [p, o] };
  });
}

/** The transpose (CSC) grouping of a sparse CSR matrix's non-zeros by column. */
export interface ColumnIndex extends Derived {
  colPtr: TensorInfo;
  /** Non-zero positions t, grouped by column, ascending within a column. */
  order: TensorInfo;
  /** Row of each entry of `order`. */
  rowOf: TensorInfo;
}

export function columnIndex(
  backend: GatWebGPUBackend, rowPtr: TensorInfo, colIdx: TensorInfo, numCols: number,
): ColumnIndex | null {
  const rows = backend.hostInt32(rowPtr);
  const cols = backend.hostInt32(colIdx);
  if (!rows || !cols) return null;
  const rowPtrId = (rowPtr.dataId as { id?: number }).id ?? 0;
  return backend.derive(colIdx, `columns:${numCols}:${rowPtrId}`, () => {
    const { ptr, order } = groupBySegment(cols, numCols);
    const rowOfT = new Int32Array(cols.length);
    for (let i = 0; i + 1 < rows.length; i++) for (let t = rows[i]!; t < rows[i + 1]!; t++) rowOfT[t] = i;
    const rowOf = order.map((t) => rowOfT[t]!);
    const c = backend.indexTensor(ptr);
    const o = backend.indexTensor(order.length > 0 ? order : new Int32Array(1));
    const r = backend.indexTensor(rowOf.length > 0 ? rowOf : new Int32Array(1));
    return { colPtr: c, order: o, rowOf: r, tensors: [c, o, r] };
  });
}
