/**
 * The CSR edge layout (src/graph/layout.ts) every kernel relies on: PyG's self-loop rule, PyG edge
 * order, a stable sort by destination, the source grouping, and refusal of out-of-range edge ids.
 * Pure JS (no TF.js backend involved).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { InputError } from '../src/util/errors.js';
import { buildLayout, inDegrees, type GraphLayout } from '../src/graph/layout.js';
import { listFixtureFiles, loadFixture } from '../src/check/fixture.js';
import { Prng } from '../src/util/prng.js';

const FIXTURES = fileURLToPath(new URL('../../test/fixtures/pyg-gatv2/', import.meta.url));

/** PyG-order edge list reconstructed from the CSR arrays (edge id -> (source, target)). */
function pygEdges(L: GraphLayout): [number[], number[]] {
  const src = new Array<number>(L.numEdges).fill(-1);
  const dst = new Array<number>(L.numEdges).fill(-1);
  for (let p = 0; p < L.numEdges; p++) {
    src[L.csrToEdgeId[p]!] = L.csrSrc[p]!;
    dst[L.csrToEdgeId[p]!] = L.csrDst[p]!;
  }
  return [src, dst];
}

/** Every structural invariant the kernels assume, checked against the input edge list. */
function assertLayoutInvariants(L: GraphLayout, n: number, source: number[], target: number[], loops: boolean): void {
  const E = L.numEdges;
  assert.equal(L.numNodes, n);
  assert.equal(L.selfLoopsAdded, loops);
  for (const a of [L.csrSrc, L.csrDst, L.csrToEdgeId, L.srcOrder, L.inputEdgeOf]) assert.equal(a.length, E);
  assert.equal(L.rowPtr.length, n + 1);
  assert.equal(L.srcPtr.length, n + 1);

  // PyG order: the input edges (minus their self loops when loops are added), in input order,
  // then exactly one loop per node 0..N-1.
  const keptIdx = source.map((_, k) => k).filter((k) => !loops || source[k] !== target[k]);
  assert.equal(L.keptInputEdges, keptIdx.length);
  assert.equal(E, keptIdx.length + (loops ? n : 0));
  const expectedOrigin = [...keptIdx, ...(loops ? new Array<number>(n).fill(-1) : [])];
  assert.deepEqual(Array.from(L.inputEdgeOf), expectedOrigin);
  const [ps, pd] = pygEdges(L);
  assert.deepEqual(ps, [...keptIdx.map((k) => source[k]!), ...(loops ? [...Array(n).keys()] : [])]);
  assert.deepEqual(pd, [...keptIdx.map((k) => target[k]!), ...(loops ? [...Array(n).keys()] : [])]);
  if (loops) {
    const loopCount = new Array<number>(n).fill(0);
    for (let id = 0; id < E; id++) if (ps[id] === pd[id]) loopCount[ps[id]!]!++;
    assert.deepEqual(loopCount, new Array<number>(n).fill(1), 'exactly one self loop per node');
  }

  // csrToEdgeId is a permutation; CSR sorted by destination; stable (ids increase within a row).
  assert.deepEqual([...L.csrToEdgeId].sort((a, b) => a - b), [...Array(E).keys()]);
  assert.equal(L.rowPtr[0], 0);
  assert.equal(L.rowPtr[n], E);
  for (let i = 0; i < n; i++) {
    assert.ok(L.rowPtr[i]! <= L.rowPtr[i + 1]!);
    for (let p = L.rowPtr[i]!; p < L.rowPtr[i + 1]!; p++) {
      assert.equal(L.csrDst[p], i, `position ${p} lies in row ${i}`);
      if (p > L.rowPtr[i]!) assert.ok(L.csrToEdgeId[p]! > L.csrToEdgeId[p - 1]!, `stable within row ${i}`);
    }
  }
  // srcOrder lists, for each source j, the CSR positions of j's out-edges, in increasing order.
  assert.deepEqual([...L.srcOrder].sort((a, b) => a - b), [...Array(E).keys()]);
  assert.equal(L.srcPtr[0], 0);
  assert.equal(L.srcPtr[n], E);
  for (let j = 0; j < n; j++) {
    const group = Array.from(L.srcOrder.subarray(L.srcPtr[j]!, L.srcPtr[j + 1]!));
    const expected = [...Array(E).keys()].filter((p) => L.csrSrc[p] === j);
    assert.deepEqual(group, expected, `source group of node ${j}`);
  }
  const deg = inDegrees(L);
  for (let i = 0; i < n; i++) assert.equal(deg[i], pd.filter((t) => t === i).length);
}

test('self-loop rule on a hand-made graph: loops removed, one per node added, duplicates kept', () => {
  // Input edges (j -> i): 0->1, 2->2 (loop), 1->0, 0->1 (duplicate), 3->3 (loop), 2->1, 1->2.
  const source = [0, 2, 1, 0, 3, 2, 1];
  const target = [1, 2, 0, 1, 3, 1, 2];
  const L = buildLayout(4, source, target, { addSelfLoops: true });
  // Kept input edges 0,2,3,5,6 get ids 0..4; ids 5..8 are the loops of nodes 0..3.
  assert.equal(L.numEdges, 9);
  assert.equal(L.keptInputEdges, 5);
  assert.deepEqual(Array.from(L.inputEdgeOf), [0, 2, 3, 5, 6, -1, -1, -1, -1]);
  // Rows: node 0 <- ids 1 (1->0), 5 (loop); node 1 <- 0, 2 (duplicate 0->1 twice), 3 (2->1), 6
  // (loop); node 2 <- 4 (1->2), 7 (loop); node 3 <- 8 (its loop only; 3->3 was removed).
  assert.deepEqual(Array.from(L.rowPtr), [0, 2, 6, 8, 9]);
  assert.deepEqual(Array.from(L.csrToEdgeId), [1, 5, 0, 2, 3, 6, 4, 7, 8]);
  assert.deepEqual(Array.from(L.csrSrc), [1, 0, 0, 0, 2, 1, 1, 2, 3]);
  assert.deepEqual(Array.from(L.csrDst), [0, 0, 1, 1, 1, 1, 2, 2, 3]);
  // Sources: 0 sends CSR positions 1, 2, 3; 1 sends 0, 5, 6; 2 sends 4, 7; 3 sends 8.
  assert.deepEqual(Array.from(L.srcPtr), [0, 3, 6, 8, 9]);
  assert.deepEqual(Array.from(L.srcOrder), [1, 2, 3, 0, 5, 6, 4, 7, 8]);
  assert.deepEqual(Array.from(inDegrees(L)), [2, 4, 2, 1]);
  assertLayoutInvariants(L, 4, source, target, true);

  // Without self loops every input edge stays, input loops included, in input order.
  const bare = buildLayout(4, source, target, { addSelfLoops: false });
  assert.equal(bare.numEdges, 7);
  assert.deepEqual(Array.from(bare.inputEdgeOf), [0, 1, 2, 3, 4, 5, 6]);
  assert.deepEqual(Array.from(bare.rowPtr), [0, 1, 4, 6, 7]);
  assert.deepEqual(Array.from(bare.csrToEdgeId), [2, 0, 3, 5, 1, 6, 4]);
  assertLayoutInvariants(bare, 4, source, target, false);
});

test('layout invariants on random graphs with loops, duplicates, isolated nodes and a hub', () => {
  const rng = new Prng(42);
  for (let trial = 0; trial < 12; trial++) {
    const n = 1 + rng.int(25);
    const receivers = Math.max(1, n - rng.int(3)); // the last nodes receive nothing
    const source: number[] = [];
    const target: number[] = [];
    const e = rng.int(60);
    for (let k = 0; k < e; k++) {
      source.push(rng.int(n));
      target.push(rng.int(receivers));
    }
    for (let k = 0; k < 5 && e > 0; k++) {
      const c = rng.int(e);
      source.push(source[c]!);
      target.push(target[c]!); // duplicates
    }
    for (let k = 0; k < 4; k++) {
      const v = rng.int(receivers);
      source.push(v);
      target.push(v); // explicit self loops
    }
    for (let k = 0; k < 30; k++) {
      source.push(rng.int(n));
      target.push(0); // a hub
    }
    for (const loops of [true, false]) {
      assertLayoutInvariants(buildLayout(n, source, target, { addSelfLoops: loops }), n, source, target, loops);
    }
  }
  // No edges at all: only the loops, or nothing.
  assertLayoutInvariants(buildLayout(5, [], [], { addSelfLoops: true }), 5, [], [], true);
  const empty = buildLayout(5, [], [], { addSelfLoops: false });
  assertLayoutInvariants(empty, 5, [], [], false);
  assert.deepEqual(Array.from(empty.rowPtr), [0, 0, 0, 0, 0, 0]);
});

test('attention edge order matches PyG GATv2Conv on every shipped fixture', () => {
  const files = listFixtureFiles(FIXTURES);
  assert.ok(files.length >= 11);
  for (const file of files) {
    const fx = loadFixture(file);
    const L = buildLayout(fx.numNodes, fx.edgeIndex[0], fx.edgeIndex[1], { addSelfLoops: fx.config.addSelfLoops });
    const [src, dst] = pygEdges(L);
    assert.deepEqual(src, Array.from(fx.attention.edgeIndex[0]), `${file}: attention sources`);
    assert.deepEqual(dst, Array.from(fx.attention.edgeIndex[1]), `${file}: attention targets`);
    assertLayoutInvariants(L, fx.numNodes, Array.from(fx.edgeIndex[0]), Array.from(fx.edgeIndex[1]), fx.config.addSelfLoops);
  }
});

test('edge ids outside [0, N) are an InputError naming the first bad edge', () => {
  const refused = (n: number, s: number[], t: number[], ...needles: (string | RegExp)[]) =>
    assert.throws(
      () => buildLayout(n, s, t, { addSelfLoops: true }),
      (e: unknown) => {
        assert.ok(e instanceof InputError, `expected InputError, got ${String(e)}`);
        for (const needle of needles) {
          if (typeof needle === 'string') assert.ok(e.message.includes(needle), `"${needle}" not in: ${e.message}`);
          else assert.match(e.message, needle);
        }
        assert.ok(!e.message.includes('\n'));
        return true;
      },
    );
  refused(3, [0, 1, 3], [1, 2, 0], 'edge 2 (3 -> 0)', '[0, 3)');
  refused(3, [0, 1, 2], [1, 2, 3], 'edge 2 (2 -> 3)');
  refused(3, [0, -1], [1, 2], 'edge 1 (-1 -> 2)');
  refused(3, [0, 1.5], [1, 2], 'edge 1 (1.5 -> 2)');
  refused(3, [0, Number.NaN], [1, 2], 'edge 1 (NaN -> 2)');
  // The first offender is named, not a later one; a self loop on a bad id is still refused.
  refused(4, [0, 7, 9], [1, 0, 0], 'edge 1 (7 -> 0)');
  refused(2, [0, 2], [1, 2], 'edge 1 (2 -> 2)');
  refused(1, [0], [1], 'edge 0 (0 -> 1)');
  // Other malformed graphs.
  refused(-1, [], [], 'non-negative integer');
  refused(3, [0, 1], [1], '2 edge sources but 1 edge targets');
  // Int32Array input (how the CLI passes edges) behaves the same.
  assert.throws(
    () => buildLayout(2, Int32Array.from([0, 1]), Int32Array.from([1, 5]), { addSelfLoops: false }),
    (e: unknown) => e instanceof InputError && e.message.includes('edge 1 (1 -> 5)'),
  );
});
