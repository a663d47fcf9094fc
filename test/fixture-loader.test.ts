/**
 * The fixture loader: the real fixtures load with the right types, and every malformed file is
 * refused with one InputError line naming the file and the field.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { InputError } from '../src/util/errors.js';
import { listFixtureFiles, loadFixture } from '../src/check/fixture.js';
import { referenceForward } from '../src/check/reference.js';

const FIXTURES = fileURLToPath(new URL('../../test/fixtures/pyg-gatv2/', import.meta.url));
const TINY = join(FIXTURES, 'single-head-tiny.json');
const tmp = mkdtempSync(join(tmpdir(), 'gatv2-fixture-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;
const tinyJson = (): Json => JSON.parse(readFileSync(TINY, 'utf8'));

function write(name: string, content: Json | string): string {
  const path = join(tmp, name);
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
  return path;
}

/** Loading `path` throws a one-line InputError containing the file name and every needle. */
function assertRefused(path: string, ...needles: string[]) {
  assert.throws(
    () => loadFixture(path),
    (e: unknown) => {
      assert.ok(e instanceof InputError, `expected InputError, got ${String(e)}`);
      assert.ok(e.message.includes(basename(path)), `no file name in: ${e.message}`);
      for (const needle of needles) assert.ok(e.message.includes(needle), `"${needle}" not in: ${e.message}`);
      assert.ok(!e.message.includes('\n'), 'one line');
      return true;
    },
  );
}

test('listFixtureFiles: every *.json of a directory, sorted; a file is itself', () => {
  const files = listFixtureFiles(FIXTURES).map((f) => basename(f));
  assert.equal(files.length, 11);
  assert.deepEqual(files, [...files].sort());
  assert.ok(!files.includes('README.md'));
  assert.equal(files[0], 'duplicates-and-loops.json');
  assert.deepEqual(listFixtureFiles(TINY), [TINY]);
  assert.throws(() => listFixtureFiles(join(tmp, 'nowhere')), InputError);
});

test('real fixtures load with converted config and typed arrays', () => {
  const tiny = loadFixture(TINY);
  assert.equal(tiny.numNodes, 5);
  assert.deepEqual(Array.from(tiny.edgeIndex[0]), [0, 4, 4, 3, 3, 3, 1, 1]);
  assert.deepEqual(Array.from(tiny.edgeIndex[1]), [4, 2, 3, 4, 1, 3, 3, 0]);
  assert.ok(tiny.edgeIndex[0] instanceof Int32Array);
  assert.deepEqual(tiny.x.shape, [5, 3]);
  assert.equal(tiny.x.data[0], -1.0276085758313882);
  assert.deepEqual(tiny.params['att']!.shape, [1, 1, 4]);
  assert.deepEqual(tiny.attention.alpha.shape, [12, 1]);
  assert.equal(tiny.edgeAttr, null);

  const edge = loadFixture(join(FIXTURES, 'edge-features.json'));
  assert.deepEqual(edge.config, {
    inChannels: 5, outChannels: 4, heads: 2, concat: true, negativeSlope: 0.2, dropout: 0,
    addSelfLoops: true, edgeDim: 3, fillValue: 'mean', bias: true, shareWeights: false, residual: false,
  });
  assert.deepEqual(edge.edgeAttr!.shape, [35, 3]);
  assert.deepEqual(edge.grads['edge_attr']!.shape, [35, 3]);

  const shared = loadFixture(join(FIXTURES, 'share-weights.json'));
  assert.equal(shared.config.shareWeights, true);
  assert.deepEqual(Object.keys(shared.params).sort(), ['att', 'bias', 'lin_l.bias', 'lin_l.weight']);
  const mean = loadFixture(join(FIXTURES, 'heads3-mean.json'));
  assert.equal(mean.config.concat, false);
  assert.deepEqual(mean.output.shape, [16, 4]);
});

test('a 1-D edge_attr is accepted when edge_dim is 1', () => {
  const j = tinyJson();
  const e = j.edge_index[0].length;
  j.config.edge_dim = 1;
  j.edge_attr = Array.from({ length: e }, (_, k) => k / 10);
  j.params['lin_edge.weight'] = [[0.1], [0.2], [0.3], [0.4]];
  j.grads['lin_edge.weight'] = [[0], [0], [0], [0]];
  j.grads.edge_attr = Array.from({ length: e }, () => 0);
  const fx = loadFixture(write('edge-dim-1.json', j));
  assert.deepEqual(fx.edgeAttr!.shape, [e, 1]);
  assert.equal(fx.edgeAttr!.data[3], 0.3);
  assert.deepEqual(fx.grads['edge_attr']!.shape, [e, 1]);
  assert.equal(referenceForward(fx).output.data.every(Number.isFinite), true);
});

test('not JSON', () => {
  assertRefused(write('not-json.json', '{"config": {'), 'not valid JSON');
  assertRefused(join(tmp, 'absent.json'), 'cannot read');
});

test('missing fields', () => {
  const j = tinyJson();
  delete j.upstream;
  assertRefused(write('missing-upstream.json', j), 'field "upstream" is missing');
  const k = tinyJson();
  delete k.config.heads;
  assertRefused(write('missing-heads.json', k), 'field "config.heads" is missing');
  const g = tinyJson();
  delete g.grads.x;
  assertRefused(write('missing-grad.json', g), 'field "grads.x" is missing');
  const a = tinyJson();
  delete a.attention;
  assertRefused(write('missing-attention.json', a), 'field "attention" is missing');
});

test('wrong shapes', () => {
  const j = tinyJson();
  j.params['lin_l.weight'].pop();
  assertRefused(
    write('short-weight.json', j),
    'field "params.lin_l.weight" has shape [3,3], expected [4,3] for heads=1, out_channels=4, in_channels=3',
  );
  const r = tinyJson();
  r.x[2].pop();
  assertRefused(write('ragged-x.json', r), 'field "x[2]" has 2 entries, expected 3');
  const u = tinyJson();
  u.upstream.push([0, 0, 0, 0]);
  assertRefused(write('long-upstream.json', u), 'field "upstream" has shape [6,4], expected [5,4]');
  const al = tinyJson();
  al.attention.alpha.pop();
  assertRefused(write('short-alpha.json', al), 'field "attention.alpha" has shape [11,1], expected [12,1]');
});

test('NaN and non-number values name the entry', () => {
  const text = readFileSync(TINY, 'utf8').replace('"x": [[-1.0276085758313882', '"x": [[NaN');
  assertRefused(write('nan.json', text), 'field "x[0][0]" is NaN, expected a finite number');
  const inf = readFileSync(TINY, 'utf8').replace('"upstream": [[', '"upstream": [[-Infinity, ');
  assertRefused(write('inf.json', inf), 'upstream');
  const j = tinyJson();
  j.x[1][2] = 'abc';
  assertRefused(write('string.json', j), 'field "x[1][2]" is "abc", expected a finite number');
  const n = tinyJson();
  n.params.att[0][0][1] = null;
  assertRefused(write('null.json', n), 'field "params.att[0][0][1]" is null');
  const s = tinyJson();
  s.config.negative_slope = '0.2';
  assertRefused(write('slope-string.json', s), 'config.negative_slope');
});

test('edge ids out of range or not integers', () => {
  const j = tinyJson();
  j.edge_index[1][3] = 12;
  assertRefused(write('edge-range.json', j), 'field "edge_index" names node 12 at edge 3 but num_nodes is 5');
  const k = tinyJson();
  k.edge_index[0][1] = 1.5;
  assertRefused(write('edge-float.json', k), 'field "edge_index[0][1]" is 1.5');
  const m = tinyJson();
  m.edge_index[1].pop();
  assertRefused(write('edge-count.json', m), 'edge_index', '8 sources but 7 targets');
  const a = tinyJson();
  a.attention.edge_index[0][0] = -1;
  assertRefused(write('att-edge.json', a), 'attention.edge_index', 'node -1');
});

test('unknown or misplaced params and fields', () => {
  const j = tinyJson();
  j.params['lin_z.weight'] = [[1]];
  assertRefused(write('unknown-param.json', j), 'params.lin_z.weight');
  const s = tinyJson();
  s.config.share_weights = true;
  assertRefused(write('shared-lin-r.json', s), 'params.lin_r', 'share_weights');
  const g = tinyJson();
  g.grads.edge_attr = [];
  assertRefused(write('grad-edge-attr.json', g), 'grads.edge_attr');
  const t = tinyJson();
  t.edge_atr = null;
  assertRefused(write('typo.json', t), 'field "edge_atr"');
  const c = tinyJson();
  c.config.head = 2;
  assertRefused(write('config-typo.json', c), 'config.head');
});

test('bad config values', () => {
  const f = tinyJson();
  f.config.fill_value = 'add';
  assertRefused(write('fill.json', f), 'config.fill_value', 'unsupported');
  const h = tinyJson();
  h.config.heads = -2;
  assertRefused(write('heads.json', h), 'field "config.heads" is -2');
  const o = tinyJson();
  o.config.out_channels = 0;
  assertRefused(write('channels.json', o), 'config.out_channels');
  const sl = tinyJson();
  sl.config.negative_slope = -0.1;
  assertRefused(write('slope.json', sl), 'config.negative_slope');
  const d = tinyJson();
  d.config.dropout = 0.5;
  assertRefused(write('dropout.json', d), 'config.dropout');
  const n = tinyJson();
  n.num_nodes = -5;
  assertRefused(write('num-nodes.json', n), 'num_nodes');
  const e = tinyJson();
  e.edge_attr = [[1]];
  assertRefused(write('edge-attr-no-dim.json', e), 'edge_attr', 'edge_dim');
  const ed = tinyJson();
  ed.config.edge_dim = 2;
  assertRefused(write('edge-dim-no-attr.json', ed), 'edge_attr', 'edge_dim is 2');
});
