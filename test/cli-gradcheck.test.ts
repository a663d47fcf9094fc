/**
 * `gatv2 gradcheck` as a user runs it (a child process of bin/gatv2.js from the repository root):
 * - the shipped PyG fixtures pass on cpu and on wasm, in analytic and in autograd mode; the
 *   --json report's per-tensor numbers are below tolerance and the table has a row per tensor;
 * - fixture files generated here with the float64 reference (src/check/reference.ts), for option
 *   combinations the shipped files lack, pass on cpu and wasm;
 * - the random-graph mode (no --fixture) with a hub of 500 in-edges passes;
 * - exit 1 when a tensor is out of tolerance (fixtures perturbed here);
 * - exit 2 with one stderr line naming the file and the field, no stack trace, on bad input.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { type Dense64, toNested } from '../src/check/dense.js';
import { loadFixture } from '../src/check/fixture.js';
import { type RandomLayerOptions, randomLayerCase } from '../src/check/random-layer.js';
import { referenceBackward } from '../src/check/reference.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BIN = join(ROOT, 'bin', 'gatv2.js');
const SHIPPED = 'test/fixtures/pyg-gatv2';
const SHIPPED_ABS = join(ROOT, SHIPPED);

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs at most two CLI processes at a time (this is a 2-core machine). */
const MAX_PARALLEL = 2;
let running = 0;
const waiting: (() => void)[] = [];

async function gatv2(...args: string[]): Promise<CliResult> {
  if (running >= MAX_PARALLEL) await new Promise<void>((resolve) => waiting.push(resolve));
  running++;
  try {
    return await spawnCli(args);
  } finally {
    running--;
    waiting.shift()?.();
  }
}

function spawnCli(args: string[]): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

const show = (r: CliResult) => `exit ${r.code}\n--- stdout (tail)\n${r.stdout.slice(-3000)}\n--- stderr\n${r.stderr.slice(-3000)}`;

/** The rows a report on this fixture must have: output, attention, every gradient. */
function expectedTensors(fx: Json): string[] {
  const names = ['output', 'attention', ...Object.keys(fx.params).map((n) => `grad ${n}`), 'grad x'];
  if (fx.config.edge_dim !== null) names.push('grad edge_attr');
  return names.sort();
}

/**
 * One tolerance for every fixture: each element is measured against the magnitude of its terms,
 * which already holds the large-scores fixture's rounding (src/check/reference-magnitude.ts).
 */
function toleranceOf(_file: string): number {
  return 1e-5;
}

function fixtureFiles(dir: string): string[] {
  return readdirSync(dir).filter((f) => f.endsWith('.json')).sort();
}

/** Checks a --json report: one report per fixture file, every tensor, every number within tolerance. */
function assertJsonReport(r: CliResult, dir: string, dirArg: string, backend: string, modes: string[]): Json {
  assert.equal(r.code, 0, show(r));
  const report = JSON.parse(r.stdout) as Json; // stdout is nothing but the JSON document
  assert.equal(report.ok, true);
  assert.equal(report.backend, backend);
  const files = fixtureFiles(dir);
  assert.deepEqual(report.reports.map((x: Json) => basename(x.name)), files);
  for (const rep of report.reports) {
    const file = basename(rep.name);
    assert.equal(rep.name, join(dirArg, file));
    assert.equal(rep.backend, backend);
    assert.equal(rep.ok, true, file);
    const fx = JSON.parse(readFileSync(join(dir, file), 'utf8'));
    assert.deepEqual(rep.rows.map((row: Json) => row.tensor).sort(), expectedTensors(fx), `${file}: one row per tensor`);
    const tol = toleranceOf(file);
    for (const row of rep.rows) {
      assert.deepEqual(Object.keys(row.comparisons).sort(), modes.map((m) => `${m} vs pyg`).sort(), `${file} ${row.tensor}`);
      for (const [label, c] of Object.entries(row.comparisons) as [string, Json][]) {
        const where = `${backend} ${file} ${row.tensor} ${label}`;
        assert.equal(c.tol, tol, where);
        assert.equal(typeof c.rel, 'number', `${where}: rel is a number (NaN would be null)`);
        assert.ok(Number.isFinite(c.maxAbs) && c.rel >= 0 && c.rel < tol, `${where}: rel ${c.rel} (tolerance ${tol})`);
        assert.equal(c.ok, true, where);
      }
    }
  }
  return report;
}

interface TableReport {
  backend: string;
  status: string;
  header: string[];
  rows: Map<string, string[]>;
  tolerance: string;
}

/** Parses the human-readable tables: "<file>  [backend b]  PASS", header, dashes, rows, tolerance. */
function parseTables(stdout: string): Map<string, TableReport> {
  const lines = stdout.split('\n');
  const out = new Map<string, TableReport>();
  for (let i = 0; i < lines.length; i++) {
    const m = /^(.+?)  \[backend (\S+)\]  (PASS|FAIL)$/.exec(lines[i]!);
    if (!m) continue;
    const header = lines[i + 1]!.trim().split(/ {2,}/);
    assert.match(lines[i + 2]!, /^-+( +-+)+$/);
    const rows = new Map<string, string[]>();
    let k = i + 3;
    for (; k < lines.length && !lines[k]!.startsWith('tolerance (relative, per element):'); k++) {
      const cells = lines[k]!.trim().split(/ {2,}/);
      assert.equal(cells.length, header.length, `row "${lines[k]}" has one cell per column`);
      rows.set(cells[0]!, cells);
    }
    out.set(m[1]!, { backend: m[2]!, status: m[3]!, header, rows, tolerance: lines[k] ?? '' });
    i = k;
  }
  return out;
}

/** Checks the table output: a PASS table per file, a row per tensor, every rel below tolerance. */
function assertTableReport(r: CliResult, dir: string, dirArg: string, backend: string, modes: string[]): void {
  assert.equal(r.code, 0, show(r));
  const tables = parseTables(r.stdout);
  const files = fixtureFiles(dir);
  assert.deepEqual([...tables.keys()].map((f) => basename(f)).sort(), files);
  for (const file of files) {
    const t = tables.get(join(dirArg, file));
    assert.ok(t, `table for ${file}`);
    assert.equal(t.backend, backend);
    assert.equal(t.status, 'PASS', file);
    const labels = modes.map((m) => `${m} vs pyg`);
    assert.deepEqual(t.header, ['tensor', ...labels.flatMap((l) => [`${l} abs`, 'rel', 'at']), 'ok'], `${file}: columns`);
    const fx = JSON.parse(readFileSync(join(dir, file), 'utf8'));
    assert.deepEqual([...t.rows.keys()].sort(), expectedTensors(fx), `${file}: a row for every tensor`);
    const tol = toleranceOf(file);
    for (const [tensor, cells] of t.rows) {
      assert.equal(cells[cells.length - 1], 'ok', `${file} ${tensor}`);
      for (let c = 1; c < cells.length - 1; c++) {
        if (t.header[c] === 'at') {
          assert.match(cells[c]!, /^(-|\[\d+(,\d+)*\])$/, `${file} ${tensor}: "${cells[c]}" names an element`);
          continue;
        }
        const v = Number(cells[c]);
        assert.ok(Number.isFinite(v), `${file} ${tensor}: "${cells[c]}" is a number`);
        if (t.header[c] === 'rel') assert.ok(v < tol, `${file} ${tensor} rel ${v} (tolerance ${tol})`);
      }
    }
    for (const l of labels) assert.ok(t.tolerance.includes(`${l} ${tol.toExponential(2)}`), t.tolerance);
  }
  assert.match(r.stdout, /rel = the worst element's \|ours - ref\| \/ \(sum of the absolute values of the terms/);
  assert.match(r.stdout, new RegExp(`\\n${files.length}/${files.length} cases within tolerance\\n`));
}

// ---------------------------------------------------------------------------------------------
// Fixtures generated at test time with the float64 reference, in the format of
// test/fixtures/pyg-gatv2/README.md, for option combinations the shipped files do not have.

const tmp = mkdtempSync(join(tmpdir(), 'gatv2-cli-'));
const GENERATED = join(tmp, 'generated');
after(() => rmSync(tmp, { recursive: true, force: true }));

function writeFixture(path: string, opts: RandomLayerOptions, flatEdgeAttr = false): Json {
  const { input, upstream } = randomLayerCase(opts);
  if (flatEdgeAttr) {
    assert.equal(input.config.edgeDim, 1);
    input.edgeAttr = { shape: [input.edgeAttr!.shape[0]!], data: input.edgeAttr!.data }; // 1-D, as PyG allows
  }
  const { forward, grads } = referenceBackward(input, upstream);
  const c = input.config;
  const nested = (t: Dense64) => toNested(t);
  const group = (g: Record<string, Dense64>) => Object.fromEntries(Object.entries(g).map(([k, v]) => [k, nested(v)]));
  const json = {
    about: 'Generated by test/cli-gradcheck.test.ts with the float64 reference (src/check/reference.ts).',
    config: {
      in_channels: c.inChannels, out_channels: c.outChannels, heads: c.heads, concat: c.concat,
      negative_slope: c.negativeSlope, dropout: 0, add_self_loops: c.addSelfLoops, edge_dim: c.edgeDim,
      fill_value: 'mean', bias: c.bias, share_weights: c.shareWeights, residual: c.residual,
    },
    num_nodes: input.numNodes,
    edge_index: [Array.from(input.edgeIndex[0]), Array.from(input.edgeIndex[1])],
    x: nested(input.x),
    edge_attr: input.edgeAttr === null ? null : nested(input.edgeAttr),
    params: group(input.params),
    upstream: nested(upstream),
    output: nested(forward.output),
    attention: {
      edge_index: [Array.from(forward.attention.edgeIndex[0]), Array.from(forward.attention.edgeIndex[1])],
      alpha: nested(forward.attention.alpha),
    },
    grads: group(grads),
  };
  writeFileSync(path, JSON.stringify(json));
  return json;
}

const base = { numNodes: 14, numEdges: 36, inChannels: 5, outChannels: 3 };
const GENERATED_CASES: { file: string; opts: RandomLayerOptions; flat?: boolean; check: (fx: Json) => void }[] = [
  {
    file: 'edge-share-residual-mean.json',
    opts: { ...base, heads: 3, edgeDim: 2, shareWeights: true, residual: true, concat: false, duplicates: 2, isolated: 1, seed: 201 },
    check: (fx) => {
      assert.equal(fx.params['lin_r.weight'], undefined);
      assert.deepEqual(fx.params['res.weight'].length, 3, 'res.weight [C, F] for mean heads');
      assert.equal(fx.output[0].length, 3);
    },
  },
  {
    file: 'edge-dim-1-flat-edge-attr.json',
    opts: { ...base, heads: 2, edgeDim: 1, duplicates: 2, seed: 202 },
    flat: true,
    check: (fx) => {
      assert.ok(fx.edge_attr.every((v: unknown) => typeof v === 'number'), '1-D edge_attr');
      assert.ok(fx.grads.edge_attr.every((v: unknown) => typeof v === 'number'), '1-D edge_attr gradient');
    },
  },
  {
    file: 'no-bias-residual-mean.json',
    opts: { ...base, heads: 4, bias: false, residual: true, concat: false, seed: 203 },
    check: (fx) => {
      for (const k of ['bias', 'lin_l.bias', 'lin_r.bias']) assert.equal(fx.params[k], undefined);
    },
  },
  {
    file: 'no-self-loops-edge-features.json',
    opts: { ...base, heads: 2, edgeDim: 3, addSelfLoops: false, isolated: 2, selfLoops: 2, seed: 204 },
    check: (fx) => assert.equal(fx.attention.edge_index[0].length, fx.edge_index[0].length, 'no loop added or removed'),
  },
  {
    file: 'input-loops-duplicates-edge-features.json',
    opts: { ...base, heads: 2, edgeDim: 2, selfLoops: 4, duplicates: 4, isolated: 1, seed: 205 },
    check: (fx) => {
      const [s, t] = fx.edge_index as [number[], number[]];
      assert.ok(s.some((v, k) => v === t[k]), 'input self loops');
      const keys = s.map((v, k) => `${v}->${t[k]}`);
      assert.ok(new Set(keys).size < keys.length, 'duplicate edges');
      const loops = s.filter((v, k) => v === t[k]).length;
      assert.equal(fx.attention.edge_index[0].length, s.length - loops + fx.num_nodes);
    },
  },
];

mkdirSync(GENERATED);
for (const c of GENERATED_CASES) c.check(writeFixture(join(GENERATED, c.file), c.opts, c.flat));

// ---------------------------------------------------------------------------------------------
// Inputs for the failure cases, written before any run starts.

/** Fixtures whose expected numbers were moved: exit 1 naming exactly the moved tensor. */
const PERTURBED = join(tmp, 'perturbed');
mkdirSync(PERTURBED);
{
  const tiny = JSON.parse(readFileSync(join(SHIPPED_ABS, 'single-head-tiny.json'), 'utf8'));
  tiny.output[0][0] += 0.5; // the expected output moved: our output no longer matches
  writeFileSync(join(PERTURBED, 'a-output-moved.json'), JSON.stringify(tiny));
  const edges = JSON.parse(readFileSync(join(SHIPPED_ABS, 'edge-features.json'), 'utf8'));
  edges.grads['lin_edge.weight'][1][2] += 0.05; // one gradient entry moved
  writeFileSync(join(PERTURBED, 'b-grad-moved.json'), JSON.stringify(edges));
  writeFileSync(join(PERTURBED, 'c-untouched.json'), readFileSync(join(SHIPPED_ABS, 'heads3-mean.json')));
}

const TINY_TEXT = readFileSync(join(SHIPPED_ABS, 'single-head-tiny.json'), 'utf8');
const TINY_NODES = JSON.parse(TINY_TEXT).num_nodes as number;

/** A directory holding a good fixture and, after it, `name` edited by `f`. */
function malformedDir(name: string, f: (fx: Json) => void): string {
  const dir = join(tmp, name.replace('.json', ''));
  mkdirSync(dir);
  writeFileSync(join(dir, 'a-good.json'), TINY_TEXT); // sorted first: nothing may run before validation
  const fx = JSON.parse(TINY_TEXT);
  f(fx);
  writeFileSync(join(dir, name), JSON.stringify(fx));
  return dir;
}

const MISSING = join(tmp, 'no-such-fixture.json');
const NO_HEADS = malformedDir('b-no-heads.json', (fx) => delete fx.config.heads);
const BAD_ATT = malformedDir('b-att-shape.json', (fx) => (fx.params.att = [[[1, 2, 3]]]));
const BAD_EDGE = malformedDir('b-edge.json', (fx) => (fx.edge_index[1][2] = fx.num_nodes));
const NAN_X = join(tmp, 'nan-x.json'); // Python's json writes NaN as a bare token
writeFileSync(NAN_X, TINY_TEXT.replace(/"x":\s*\[\s*\[\s*[-0-9.e]+/, (m) => m.replace(/[-0-9.e]+$/, 'NaN')));
const TRUNCATED = join(tmp, 'truncated.json');
writeFileSync(TRUNCATED, TINY_TEXT.slice(0, 200));

// Every CLI run starts now, two at a time; the tests below await their own.
const RUNS = {
  cpuAnalytic: gatv2('gradcheck', '--fixture', SHIPPED, '--backend', 'cpu', '--mode', 'analytic', '--json'),
  cpuAutograd: gatv2('gradcheck', '--fixture', SHIPPED, '--backend', 'cpu', '--mode', 'autograd'),
  wasmAnalytic: gatv2('gradcheck', '--fixture', SHIPPED, '--backend', 'wasm', '--mode', 'analytic'),
  wasmAutograd: gatv2('gradcheck', '--fixture', SHIPPED, '--backend', 'wasm', '--mode', 'autograd', '--json'),
  generatedCpu: gatv2('gradcheck', '--fixture', GENERATED, '--backend', 'cpu', '--json'),
  generatedWasm: gatv2('gradcheck', '--fixture', GENERATED, '--backend', 'wasm', '--mode', 'both'),
  random: gatv2('gradcheck', '--backend', 'cpu', '--hub', '500', '--isolated', '3', '--heads', '1', '4', '8', '--fd-entries', '16', '--json'),
  perturbedJson: gatv2('gradcheck', '--fixture', PERTURBED, '--backend', 'cpu', '--json'),
  perturbedTable: gatv2('gradcheck', '--fixture', PERTURBED, '--backend', 'wasm', '--mode', 'analytic'),
  missing: gatv2('gradcheck', '--fixture', MISSING),
  noHeads: gatv2('gradcheck', '--fixture', NO_HEADS),
  badAtt: gatv2('gradcheck', '--fixture', BAD_ATT, '--backend', 'wasm'),
  badEdge: gatv2('gradcheck', '--fixture', BAD_EDGE),
  nanX: gatv2('gradcheck', '--fixture', NAN_X),
  truncated: gatv2('gradcheck', '--fixture', TRUNCATED),
  unknownBackend: gatv2('gradcheck', '--fixture', SHIPPED, '--backend', 'no-such-backend'),
};

// ---------------------------------------------------------------------------------------------

test('generated fixtures load with the fixture loader (1-D edge_attr read as E x 1)', () => {
  for (const c of GENERATED_CASES) {
    const fx = loadFixture(join(GENERATED, c.file));
    if (c.flat) assert.deepEqual(fx.edgeAttr!.shape, [fx.edgeIndex[0].length, 1]);
  }
});

test('shipped fixtures, cpu, analytic mode (--json): exit 0, every tensor below tolerance', async () => {
  const report = assertJsonReport(await RUNS.cpuAnalytic, SHIPPED_ABS, SHIPPED, 'cpu', ['analytic']);
  assert.equal(report.reports.length, 11);
});

test('shipped fixtures, cpu, autograd mode (table): exit 0, a row for every tensor', async () => {
  assertTableReport(await RUNS.cpuAutograd, SHIPPED_ABS, SHIPPED, 'cpu', ['autograd']);
});

test('shipped fixtures, wasm, analytic mode (table): exit 0, a row for every tensor', async () => {
  assertTableReport(await RUNS.wasmAnalytic, SHIPPED_ABS, SHIPPED, 'wasm', ['analytic']);
});

test('shipped fixtures, wasm, autograd mode (--json): exit 0, every tensor below tolerance', async () => {
  assertJsonReport(await RUNS.wasmAutograd, SHIPPED_ABS, SHIPPED, 'wasm', ['autograd']);
});

test('generated fixtures (edge_dim + share_weights + residual + mean, 1-D edge_attr, ...), cpu, both modes (--json)', async () => {
  const report = assertJsonReport(await RUNS.generatedCpu, GENERATED, GENERATED, 'cpu', ['analytic', 'autograd']);
  assert.equal(report.reports.length, GENERATED_CASES.length);
});

test('generated fixtures, wasm, both modes (table)', async () => {
  assertTableReport(await RUNS.generatedWasm, GENERATED, GENERATED, 'wasm', ['analytic', 'autograd']);
});

test('random graphs without --fixture: H = 1, 4, 8 with a hub of 500 in-edges (--json)', async () => {
  const r = await RUNS.random;
  assert.equal(r.code, 0, show(r));
  const report = JSON.parse(r.stdout) as Json;
  assert.equal(report.ok, true);
  assert.deepEqual(report.reports.map((x: Json) => /H=(\d+)/.exec(x.name)![1]), ['1', '4', '8']);
  for (const rep of report.reports) {
    assert.match(rep.name, /hub=500/);
    assert.match(rep.name, /isolated=3/);
    for (const row of rep.rows) {
      const c = row.comparisons;
      assert.ok(c['analytic vs autograd'].rel <= 1e-5, `${rep.name} ${row.tensor}`);
      if (row.tensor.startsWith('grad ')) assert.ok(c['float64 vs finite diff'].rel <= 1e-6, `${rep.name} ${row.tensor} fd`);
    }
  }
});

test('a tensor out of tolerance: exit 1, and the report names exactly that tensor (--json, cpu; table, wasm)', async () => {
  const r = await RUNS.perturbedJson;
  assert.equal(r.code, 1, show(r));
  const report = JSON.parse(r.stdout) as Json;
  assert.equal(report.ok, false);
  const failing = (rep: Json) =>
    rep.rows.filter((row: Json) => !Object.values(row.comparisons).every((c: Json) => c.ok)).map((row: Json) => row.tensor);
  const byFile = Object.fromEntries(report.reports.map((rep: Json) => [basename(rep.name), rep]));
  assert.deepEqual(failing(byFile['a-output-moved.json']), ['output']);
  assert.deepEqual(failing(byFile['b-grad-moved.json']), ['grad lin_edge.weight']);
  assert.deepEqual(failing(byFile['c-untouched.json']), []);
  assert.deepEqual(report.reports.map((rep: Json) => rep.ok), [false, false, true]);
  // Both modes see the moved output entry: max abs error 0.5.
  const out = byFile['a-output-moved.json'].rows.find((row: Json) => row.tensor === 'output');
  for (const mode of ['analytic', 'autograd']) {
    const c = out.comparisons[`${mode} vs pyg`];
    assert.ok(c.maxAbs > 0.49 && c.maxAbs < 0.51, `${mode}: max abs ${c.maxAbs}`);
    assert.equal(c.ok, false);
  }

  const t = await RUNS.perturbedTable;
  assert.equal(t.code, 1, show(t));
  const tables = parseTables(t.stdout);
  const a = tables.get(join(PERTURBED, 'a-output-moved.json'))!;
  assert.equal(a.status, 'FAIL');
  assert.equal(a.rows.get('output')!.at(-1), 'FAIL');
  assert.equal(a.rows.get('grad att')!.at(-1), 'ok');
  assert.equal(tables.get(join(PERTURBED, 'b-grad-moved.json'))!.rows.get('grad lin_edge.weight')!.at(-1), 'FAIL');
  // The report says which element failed.
  const moved = byFile['a-output-moved.json'].rows.find((row: Json) => row.tensor === 'output').comparisons['analytic vs pyg'];
  assert.equal(moved.at, '[0,0]');
  assert.equal(tables.get(join(PERTURBED, 'c-untouched.json'))!.status, 'PASS');
  assert.match(t.stdout, /\n1\/3 cases within tolerance\n/);
});

// ---------------------------------------------------------------------------------------------
// Bad input: exit 2, one line on stderr naming the file and the field, no stack trace.

function assertBadInput(r: CliResult, ...needles: string[]): void {
  assert.equal(r.code, 2, show(r));
  const lines = r.stderr.split('\n').filter((l) => l.trim() !== '');
  assert.equal(lines.length, 1, `one line on stderr:\n${r.stderr}`);
  assert.doesNotMatch(r.stderr, /^\s*at /m, 'no stack trace');
  assert.match(lines[0]!, /^gatv2: /);
  for (const needle of needles) assert.ok(lines[0]!.includes(needle), `"${needle}" not in: ${lines[0]}`);
  assert.equal(r.stdout, '', 'nothing checked, nothing printed');
}

test('bad input: an unreadable fixture path exits 2 naming it', async () => {
  assertBadInput(await RUNS.missing, MISSING, 'cannot read');
});

test('bad input: malformed fixtures exit 2 naming the file and the field (checked before any run)', async () => {
  assertBadInput(await RUNS.noHeads, 'b-no-heads.json', 'config.heads'); // a required option missing
  assertBadInput(await RUNS.badAtt, 'b-att-shape.json', 'params.att', '[1,1,3]'); // a parameter of the wrong shape
  assertBadInput(await RUNS.badEdge, 'b-edge.json', 'edge_index', `node ${TINY_NODES}`); // an edge to no node
  assert.notEqual(readFileSync(NAN_X, 'utf8'), TINY_TEXT);
  assertBadInput(await RUNS.nanX, 'nan-x.json', 'x[0][0]', 'NaN'); // a bare NaN token
  assertBadInput(await RUNS.truncated, 'truncated.json', 'not valid JSON'); // not JSON at all
});

test('bad input: an unknown backend exits 2 naming it', async () => {
  assertBadInput(await RUNS.unknownBackend, 'no-such-backend', 'cpu', 'wasm');
});
