/**
 * The neighbour sampler and its blocks (src/sample/): fanout bounds, no repeated edge, only real
 * in-edges, determinism by seed, isolated and hub nodes, blocks equal to a reference built with
 * plain loops from the edge list, and store-backed adjacency equal to the in-memory one.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mulberry32 } from '../src/util/prng.js';
import { loadDataset } from '../src/store/load.js';
import { buildLayout } from '../src/graph/layout.js';
import { MemoryAdjacency, StoreAdjacency } from '../src/sample/adjacency.js';
import { chooseSorted, NeighborSampler, type Block } from '../src/sample/sampler.js';
import { StoreReader } from '../src/store/read.js';
import { writeStore } from '../src/store/write.js';

const N = 300;
const HUB = 0;
/** Nodes with no edge at all. */
const ISOLATED = [290, 291, 292, 293, 294, 295, 296, 297, 298, 299];

/** A random graph with a hub (in-degree 200), isolated nodes, self loops and no duplicate edges. */
function graph(): { source: Int32Array; target: Int32Array } {
  const rand = mulberry32(7);
  const seen = new Set<string>();
  const s: number[] = [], t: number[] = [];
  const add = (a: number, b: number) => {
    if (seen.has(`${a},${b}`)) return;
    seen.add(`${a},${b}`);
    s.push(a);
    t.push(b);
  };
  for (let j = 1; j <= 200; j++) add(j, HUB);
  for (let k = 0; k < 1200; k++) add(Math.floor(rand() * 290), 1 + Math.floor(rand() * 289));
  for (const i of [3, 5, 8]) add(i, i);
  return { source: Int32Array.from(s), target: Int32Array.from(t) };
}

function adjacency() {
  const g = graph();
  return { g, adj: MemoryAdjacency.fromDataset({ nodeIds: new Array<string>(N).fill(''), edgeSource: g.source, edgeTarget: g.target }) };
}

/** In-neighbours of node i (with multiplicity), excluding loops when asked. */
function inNeighbours(g: { source: Int32Array; target: Int32Array }, i: number, noLoops: boolean): number[] {
  const out: number[] = [];
  for (let k = 0; k < g.source.length; k++) if (g.target[k] === i && !(noLoops && g.source[k] === i)) out.push(g.source[k]!);
  return out;
}

/** Global sources of block row d, without the added loop. */
function rowSources(b: Block, d: number): number[] {
  const out: number[] = [];
  for (let p = b.layout.rowPtr[d]!; p < b.layout.rowPtr[d + 1]!; p++) {
    if (b.layout.inputEdgeOf[p] === -1) continue;
    out.push(b.srcNodes[b.layout.csrSrc[p]!]!);
  }
  return out;
}

test('chooseSorted picks k distinct indices of n, ascending, uniformly', () => {
  const rand = mulberry32(1);
  const out = new Int32Array(10);
  const counts = new Array<number>(30).fill(0);
  for (let r = 0; r < 3000; r++) {
    chooseSorted(30, 10, rand, out);
    for (let k = 1; k < 10; k++) assert.ok(out[k]! > out[k - 1]!);
    for (const v of out) counts[v]!++;
  }
  // Each index is drawn with probability 1/3: 1000 expected, sd about 26.
  for (const c of counts) assert.ok(c > 880 && c < 1120, `count ${c}`);
  chooseSorted(4, 4, rand, out);
  assert.deepEqual(Array.from(out.subarray(0, 4)), [0, 1, 2, 3]);
});

test('fanout bounds, no repeated edge, only in-edges, loops per the full graph rule', () => {
  const { g, adj } = adjacency();
  for (const addSelfLoops of [true, false]) {
    const sampler = new NeighborSampler(adj, { fanouts: [5, 3], addSelfLoops });
    const batch = Int32Array.from([HUB, 3, 17, 290, 42, 5]);
    const s = sampler.sample(batch, 11);
    assert.equal(s.blocks.length, 2);
    // The last layer's block has the batch as destinations; each block's sources start with its destinations.
    assert.deepEqual(Array.from(s.blocks[1]!.srcNodes.subarray(0, batch.length)), Array.from(batch));
    assert.equal(s.blocks[1]!.numDst, batch.length);
    assert.equal(s.blocks[0]!.numDst, s.blocks[1]!.numSrc);
    assert.deepEqual(Array.from(s.blocks[0]!.srcNodes.subarray(0, s.blocks[0]!.numDst)), Array.from(s.blocks[1]!.srcNodes));
    for (const [b, fanout] of [[s.blocks[1]!, 5], [s.blocks[0]!, 3]] as const) {
      assert.equal(new Set(b.srcNodes).size, b.numSrc, 'a node appears twice among sources');
      for (let d = 0; d < b.numDst; d++) {
        const i = b.srcNodes[d]!;
        const cand = inNeighbours(g, i, addSelfLoops);
        const got = rowSources(b, d);
        assert.equal(got.length, Math.min(fanout, cand.length), `node ${i}`);
        assert.equal(new Set(got).size, got.length, `node ${i}: an edge drawn twice`);
        for (const j of got) assert.ok(cand.includes(j), `node ${i}: ${j} is not an in-neighbour`);
        const loops = b.layout.rowPtr[d + 1]! - b.layout.rowPtr[d]! - got.length;
        assert.equal(loops, addSelfLoops ? 1 : 0);
        if (addSelfLoops) {
          const last = b.layout.rowPtr[d + 1]! - 1;
          assert.equal(b.layout.csrSrc[last], d, 'the loop comes last in its row');
        }
      }
      for (let r = b.numDst; r < b.numSrc; r++) assert.equal(b.layout.rowPtr[r + 1], b.layout.rowPtr[r], 'a source-only row has edges');
    }
    // Isolated node 290: only its loop (or nothing).
    const d290 = 3;
    assert.equal(s.blocks[1]!.layout.rowPtr[d290 + 1]! - s.blocks[1]!.layout.rowPtr[d290]!, addSelfLoops ? 1 : 0);
  }
});

test('a hub is sampled uniformly over its in-neighbours', () => {
  const { adj } = adjacency();
  const sampler = new NeighborSampler(adj, { fanouts: [10], addSelfLoops: true });
  const counts = new Map<number, number>();
  for (let seed = 0; seed < 2000; seed++) {
    const b = sampler.sample(Int32Array.of(HUB), seed).blocks[0]!;
    for (const j of rowSources(b, 0)) counts.set(j, (counts.get(j) ?? 0) + 1);
  }
  // 200 in-neighbours, 10 of them per draw: 100 expected each, sd about 9.7.
  assert.equal(counts.size, 200);
  for (const [j, c] of counts) assert.ok(c > 55 && c < 145, `neighbour ${j}: ${c}`);
});

test('the same seed gives the same blocks; another seed other blocks', () => {
  const { adj } = adjacency();
  const a = new NeighborSampler(adj, { fanouts: [4, 4], addSelfLoops: true });
  const b = new NeighborSampler(adj, { fanouts: [4, 4], addSelfLoops: true });
  const batch = Int32Array.from({ length: 40 }, (_, k) => k * 7);
  const s1 = a.sample(batch, 5), s2 = b.sample(batch, 5), s3 = a.sample(batch, 6);
  assert.deepEqual(s1, s2);
  assert.notDeepEqual(s1.blocks.map((x) => x.srcNodes), s3.blocks.map((x) => x.srcNodes));
  // The scratch map is clean between calls: sampling again gives the same.
  assert.deepEqual(a.sample(batch, 5), s1);
});

/**
 * The reference: with every neighbour taken, hop by hop from the edge list in file order (plain
 * loops, no CSR), new sources in first-seen order, then buildLayout's own sort on the block's
 * edges with the loops appended after the input edges (the PyG order the full graph uses).
 */
function referenceBlocks(g: { source: Int32Array; target: Int32Array }, batch: number[], hops: number, loops: boolean): Block[] {
  const blocks: Block[] = [];
  let dst = batch;
  for (let h = 0; h < hops; h++) {
    const src = [...dst];
    const local = new Map(dst.map((v, k) => [v, k]));
    const es: number[] = [], et: number[] = [];
    // Grouped by destination in dst order, each group in file order.
    for (let d = 0; d < dst.length; d++) {
      for (let k = 0; k < g.source.length; k++) {
        if (g.target[k] !== dst[d] || (loops && g.source[k] === dst[d])) continue;
        const j = g.source[k]!;
        if (!local.has(j)) {
          local.set(j, src.length);
          src.push(j);
        }
        es.push(local.get(j)!);
        et.push(d);
      }
    }
    if (loops) for (let d = 0; d < dst.length; d++) {
      es.push(d);
      et.push(d);
    }
    const layout = buildLayout(src.length, es, et, { addSelfLoops: false });
    blocks.push({ numDst: dst.length, numSrc: src.length, srcNodes: Int32Array.from(src), layout });
    dst = src;
  }
  return blocks.reverse();
}

test('with fanout -1 the blocks equal the plain-loop reference', () => {
  const { g, adj } = adjacency();
  for (const loops of [true, false]) {
    const batch = [HUB, 17, 3, 299, 120, 8];
    const s = new NeighborSampler(adj, { fanouts: [-1, -1, -1], addSelfLoops: loops }).sample(Int32Array.from(batch), 1);
    const ref = referenceBlocks(g, batch, 3, loops);
    s.blocks.forEach((b, l) => {
      const r = ref[l]!;
      assert.equal(b.numDst, r.numDst);
      assert.deepEqual(b.srcNodes, r.srcNodes);
      for (const k of ['rowPtr', 'csrSrc', 'csrDst', 'srcPtr', 'srcOrder'] as const) {
        assert.deepEqual(b.layout[k], r.layout[k], `block ${l} ${k}`);
      }
      assert.equal(b.layout.numEdges, r.layout.numEdges);
    });
  }
});

test('a store-backed adjacency reads the same in-edges as memory', async () => {
  const out = join(mkdtempSync(join(tmpdir(), 'gatv2-sample-')), 'cora.store');
  const ds = await loadDataset('cora');
  await writeStore(ds, out, { featuresDtype: 'float32', overwrite: false, source: 'cora' });
  const reader = new StoreReader(out, out);
  const fromStore = new StoreAdjacency(reader);
  const inMemory = MemoryAdjacency.fromDataset(ds);
  const nodes = Int32Array.from([5, 4, 1000, 6, 2707, 0, 1001, 1002]);
  assert.deepEqual(fromStore.inEdges(nodes), inMemory.inEdges(nodes));
  const s1 = new NeighborSampler(fromStore, { fanouts: [3, 2], addSelfLoops: true }).sample(nodes, 9);
  const s2 = new NeighborSampler(inMemory, { fanouts: [3, 2], addSelfLoops: true }).sample(nodes, 9);
  assert.deepEqual(s1, s2);
  reader.close();
});
