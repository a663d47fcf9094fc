/**
 * `--to-undirected`, as PyTorch Geometric's `ToUndirected` transform (torch_geometric.utils.
 * to_undirected): every edge (j, i) is added as (i, j) too, then the list is coalesced: sorted by
 * (source, target) and each repeated pair merged into one edge. Pairs that were already repeated
 * in the input are merged as well, and a self loop meets its own reverse. Edge features of merged
 * edges are reduced with `reduce`: 'add' (PyG's default, so a reciprocal pair's features double)
 * or 'mean'.
 */
import type { EdgeFeatures } from './dataset.js';

export type UndirectedReduce = 'add' | 'mean';
export const UNDIRECTED_REDUCES: UndirectedReduce[] = ['add', 'mean'];

export interface UndirectedEdges {
  source: Int32Array;
  target: Int32Array;
  edgeAttr?: EdgeFeatures;
}

/** Stable counting sort of `order` by key[order[k]] in [0, n). */
function countingSort(order: Int32Array, key: Int32Array, n: number): Int32Array<ArrayBuffer> {
  const start = new Int32Array(n + 1);
  for (let k = 0; k < order.length; k++) start[key[order[k]] + 1]++;
  for (let v = 0; v < n; v++) start[v + 1] += start[v];
  const out = new Int32Array(order.length);
  for (let k = 0; k < order.length; k++) out[start[key[order[k]]]++] = order[k];
  return out;
}

export function toUndirected(
  numNodes: number, source: Int32Array, target: Int32Array, edgeAttr: EdgeFeatures | undefined, reduce: UndirectedReduce,
): UndirectedEdges {
  const e = source.length;
  const src = new Int32Array(2 * e);
  const dst = new Int32Array(2 * e);
  src.set(source);
  src.set(target, e);
  dst.set(target);
  dst.set(source, e);
  // Sorted by (source, target): by target first, then stably by source (LSD radix, two passes).
  let order = new Int32Array(2 * e);
  for (let k = 0; k < order.length; k++) order[k] = k;
  order = countingSort(countingSort(order, dst, numNodes), src, numNodes);

  // Typed arrays sized for the worst case (no repeats), trimmed at the end.
  const outSrc = new Int32Array(2 * e);
  const outDst = new Int32Array(2 * e);
  const groupStart = new Int32Array(2 * e);
  let m = 0;
  for (let k = 0; k < order.length; k++) {
    const p = order[k];
    if (m > 0 && outSrc[m - 1] === src[p] && outDst[m - 1] === dst[p]) continue;
    outSrc[m] = src[p];
    outDst[m] = dst[p];
    groupStart[m] = k;
    m++;
  }
  const result: UndirectedEdges = { source: outSrc.slice(0, m), target: outDst.slice(0, m) };
  if (edgeAttr !== undefined) {
    const d = edgeAttr.dim;
    const values = new Float32Array(m * d);
    // Sums in float64, one rounding to float32 at the end.
    const acc = new Float64Array(d);
    for (let g = 0; g < m; g++) {
      const lo = groupStart[g];
      const hi = g + 1 < m ? groupStart[g + 1] : order.length;
      acc.fill(0);
      for (let k = lo; k < hi; k++) {
        const row = (order[k] % e) * d;
        for (let c = 0; c < d; c++) acc[c] += edgeAttr.values[row + c];
      }
      const scale = reduce === 'mean' ? 1 / (hi - lo) : 1;
      for (let c = 0; c < d; c++) values[g * d + c] = acc[c] * scale;
    }
    result.edgeAttr = { ...edgeAttr, values };
  }
  return result;
}
