/**
 * Loads and validates the PyG GATv2Conv reference fixtures (format: test/fixtures/pyg-gatv2/
 * README.md). Every problem becomes one InputError line naming the file and the field, so a bad
 * fixture never reaches the numerical checks as a confusing mismatch.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { InputError } from '../util/errors.js';
import { type GATv2Config, outputWidth, pygParamShapes } from '../model/config.js';
import { type Dense64, describeValue, formatShape, fromNested, shapeEquals } from './dense.js';
import type { ReferenceInput } from './reference.js';

/**
 * A fixture is a layer input (config, graph as given, x, edge_attr (a 1-D edge_attr of an
 * edge_dim 1 fixture is read as E x 1), PyG params) plus PyG's results for it.
 */
export interface Fixture extends ReferenceInput {
  file: string;
  upstream: Dense64;
  output: Dense64;
  attention: { edgeIndex: [Int32Array, Int32Array]; alpha: Dense64 };
  /** Every param, `x`, and `edge_attr` when edge_dim is set. */
  grads: Record<string, Dense64>;
}

const TOP_FIELDS = [
  'config', 'num_nodes', 'edge_index', 'x', 'edge_attr', 'params', 'upstream', 'output', 'attention', 'grads',
];
/** PyG option name -> GATv2Config key. */
const CONFIG_FIELDS = {
  in_channels: 'inChannels',
  out_channels: 'outChannels',
  heads: 'heads',
  concat: 'concat',
  negative_slope: 'negativeSlope',
  dropout: 'dropout',
  add_self_loops: 'addSelfLoops',
  edge_dim: 'edgeDim',
  fill_value: 'fillValue',
  bias: 'bias',
  share_weights: 'shareWeights',
  residual: 'residual',
} as const;

/** The fixture files at `path`: the file itself, or every *.json in the directory, sorted. */
export function listFixtureFiles(path: string): string[] {
  let isDir: boolean;
  try {
    isDir = statSync(path).isDirectory();
  } catch (e) {
    throw new InputError(`${path}: cannot read (${(e as Error).message})`);
  }
  if (!isDir) return [path];
  const files = readdirSync(path).filter((name) => name.endsWith('.json')).sort().map((name) => join(path, name));
  if (files.length === 0) throw new InputError(`${path}: directory holds no *.json fixture files`);
  return files;
}

export function loadFixture(path: string): Fixture {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new InputError(`${path}: cannot read (${oneLine((e as Error).message)})`);
  }
  try {
    return parseFixture(parseJson(text), path);
  } catch (e) {
    if (e instanceof InputError) throw new InputError(`${path}: ${oneLine(e.message)}`);
    throw e;
  }
}

function oneLine(s: string): string {
  return s.replace(/\s+/g, ' ').trim();
}

/**
 * JSON.parse, except that Python's json module writes NaN/Infinity as bare tokens, which are not
 * JSON. Those are read as the non-finite numbers they stand for, so the validation below can
 * name the field that holds them instead of reporting a bare syntax error.
 */
function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (first) {
    const marked = markNonFinite(text);
    if (marked !== text) {
      try {
        return JSON.parse(marked, (_key, v: unknown) =>
          typeof v === 'string' && v.startsWith('\u0000') ? Number(v.slice(1)) : v,
        );
      } catch {
        // fall through to the original message
      }
    }
    throw new InputError(`not valid JSON (${(first as Error).message})`);
  }
}

/** Replaces bare NaN / Infinity / -Infinity outside strings with marked strings. */
function markNonFinite(text: string): string {
  let out = '';
  let i = 0;
  while (i < text.length) {
    const ch = text[i]!;
    if (ch === '"') {
      let j = i + 1;
      while (j < text.length && text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      out += text.slice(i, j + 1);
      i = j + 1;
      continue;
    }
    const token = ['-Infinity', 'Infinity', 'NaN'].find((t) => text.startsWith(t, i));
    if (token !== undefined) {
      out += `"\\u0000${token}"`;
      i += token.length;
    } else {
      out += ch;
      i++;
    }
  }
  return out;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function need(obj: Record<string, unknown>, key: string, field: string): unknown {
  if (!(key in obj)) throw new InputError(`field "${field}" is missing`);
  return obj[key];
}

function integerField(v: unknown, field: string, min: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min) {
    throw new InputError(`field "${field}" is ${describeValue(v)}, expected an integer >= ${min}`);
  }
  return v;
}

function booleanField(v: unknown, field: string): boolean {
  if (typeof v !== 'boolean') throw new InputError(`field "${field}" is ${describeValue(v)}, expected true or false`);
  return v;
}

/** PyG snake_case options -> GATv2Config; every option is required, unknown ones are errors. */
function parseConfig(raw: unknown): GATv2Config {
  if (!isObject(raw)) throw new InputError(`field "config" is ${describeValue(raw)}, expected an object`);
  for (const key of Object.keys(raw)) {
    if (!(key in CONFIG_FIELDS)) throw new InputError(`field "config.${key}" is not a GATv2Conv option`);
  }
  const get = (key: keyof typeof CONFIG_FIELDS) => need(raw, key, `config.${key}`);
  const slope = get('negative_slope');
  if (typeof slope !== 'number' || !Number.isFinite(slope) || slope < 0) {
    throw new InputError(`field "config.negative_slope" is ${describeValue(slope)}, expected a finite number >= 0`);
  }
  const dropout = get('dropout');
  if (typeof dropout !== 'number' || !(dropout >= 0 && dropout < 1)) {
    throw new InputError(`field "config.dropout" is ${describeValue(dropout)}, expected a number in [0, 1)`);
  }
  if (dropout !== 0) {
    throw new InputError(`field "config.dropout" is ${dropout}; fixtures need dropout 0 to be deterministic`);
  }
  const edgeDim = get('edge_dim');
  const fill = get('fill_value');
  if (fill !== 'mean') {
    throw new InputError(`field "config.fill_value" is ${describeValue(fill)}, which is unsupported: only "mean" is`);
  }
  return {
    inChannels: integerField(get('in_channels'), 'config.in_channels', 1),
    outChannels: integerField(get('out_channels'), 'config.out_channels', 1),
    heads: integerField(get('heads'), 'config.heads', 1),
    concat: booleanField(get('concat'), 'config.concat'),
    negativeSlope: slope,
    dropout,
    addSelfLoops: booleanField(get('add_self_loops'), 'config.add_self_loops'),
    edgeDim: edgeDim === null ? null : integerField(edgeDim, 'config.edge_dim', 1),
    fillValue: 'mean',
    bias: booleanField(get('bias'), 'config.bias'),
    shareWeights: booleanField(get('share_weights'), 'config.share_weights'),
    residual: booleanField(get('residual'), 'config.residual'),
  };
}

/** [[sources], [targets]] of node ids in [0, N). */
function parseEdgeIndex(raw: unknown, field: string, numNodes: number): [Int32Array, Int32Array] {
  if (!Array.isArray(raw) || raw.length !== 2 || !Array.isArray(raw[0]) || !Array.isArray(raw[1])) {
    throw new InputError(`field "${field}" is ${describeValue(raw)}, expected [[sources...], [targets...]]`);
  }
  const [s, t] = raw as [unknown[], unknown[]];
  if (s.length !== t.length) {
    throw new InputError(`field "${field}" has ${s.length} sources but ${t.length} targets`);
  }
  const out: [Int32Array, Int32Array] = [new Int32Array(s.length), new Int32Array(s.length)];
  [s, t].forEach((row, r) => {
    row.forEach((v, k) => {
      if (typeof v !== 'number' || !Number.isInteger(v)) {
        throw new InputError(`field "${field}[${r}][${k}]" is ${describeValue(v)}, expected a node id (integer)`);
      }
      if (v < 0 || v >= numNodes) {
        throw new InputError(`field "${field}" names node ${v} at edge ${k} but num_nodes is ${numNodes}`);
      }
      out[r]![k] = v;
    });
  });
  return out;
}

/** A tensor field whose shape must be `shape`; `why` explains the expected shape. */
function tensor(raw: unknown, field: string, shape: number[], why: string, alt?: number[]): Dense64 {
  const t = fromNested(raw, undefined, field);
  if (t.data.length === 0 && shape[0] === 0 && t.shape.length === 1) return { shape, data: t.data };
  if (shapeEquals(t.shape, shape) || (alt !== undefined && shapeEquals(t.shape, alt))) {
    return { shape, data: t.data };
  }
  throw new InputError(`field "${field}" has shape ${formatShape(t.shape)}, expected ${formatShape(shape)} for ${why}`);
}

/** Why each PyG parameter has its shape, in the config's terms. */
function paramWhy(name: string, cfg: GATv2Config): string {
  const hc = `heads=${cfg.heads}, out_channels=${cfg.outChannels}`;
  if (name === 'bias') return cfg.concat ? `${hc}, concat=true` : `out_channels=${cfg.outChannels}, concat=false`;
  if (name === 'lin_edge.weight') return `${hc}, edge_dim=${cfg.edgeDim}`;
  if (name === 'res.weight') {
    return `${cfg.concat ? hc : `out_channels=${cfg.outChannels}`}, concat=${cfg.concat}, in_channels=${cfg.inChannels}`;
  }
  if (name.endsWith('.weight')) return `${hc}, in_channels=${cfg.inChannels}`;
  return hc;
}

/** A {name: tensor} object holding exactly `shapes` (names in PyG spelling). */
function tensorGroup(raw: unknown, field: string, shapes: Record<string, number[]>, why: (name: string) => string) {
  if (!isObject(raw)) throw new InputError(`field "${field}" is ${describeValue(raw)}, expected an object`);
  for (const name of Object.keys(raw)) {
    if (!(name in shapes)) {
      const hint = name.startsWith('lin_r.') ? ' (lin_r is lin_l when share_weights is true)' : '';
      throw new InputError(
        `field "${field}.${name}" is not expected for this config${hint}; expected ${Object.keys(shapes).join(', ')}`,
      );
    }
  }
  const out: Record<string, Dense64> = {};
  for (const [name, shape] of Object.entries(shapes)) {
    const alt = name === 'edge_attr' && shape[1] === 1 ? [shape[0]!] : undefined;
    out[name] = tensor(need(raw, name, `${field}.${name}`), `${field}.${name}`, shape, why(name), alt);
  }
  return out;
}

/** Validates an already-parsed fixture object; messages omit the file (loadFixture adds it). */
export function parseFixture(raw: unknown, file: string): Fixture {
  if (!isObject(raw)) throw new InputError(`top level is ${describeValue(raw)}, expected an object`);
  for (const key of Object.keys(raw)) {
    if (key !== 'about' && !TOP_FIELDS.includes(key)) throw new InputError(`field "${key}" is not a fixture field`);
  }
  const config = parseConfig(need(raw, 'config', 'config'));
  const numNodes = integerField(need(raw, 'num_nodes', 'num_nodes'), 'num_nodes', 1);
  const edgeIndex = parseEdgeIndex(need(raw, 'edge_index', 'edge_index'), 'edge_index', numNodes);
  const e = edgeIndex[0].length;
  const { inChannels: f, heads: h, edgeDim } = config;
  const x = tensor(need(raw, 'x', 'x'), 'x', [numNodes, f], `num_nodes=${numNodes}, in_channels=${f}`);

  const rawEdge = need(raw, 'edge_attr', 'edge_attr');
  let edgeAttr: Dense64 | null = null;
  if (edgeDim === null && rawEdge !== null) {
    throw new InputError(`field "edge_attr" must be null when config.edge_dim is null`);
  }
  if (edgeDim !== null) {
    if (rawEdge === null) throw new InputError(`field "edge_attr" is null but config.edge_dim is ${edgeDim}`);
    const why = `${e} edges, edge_dim=${edgeDim}`;
    edgeAttr = tensor(rawEdge, 'edge_attr', [e, edgeDim], why, edgeDim === 1 ? [e] : undefined);
  }

  const shapes = pygParamShapes(config);
  const params = tensorGroup(need(raw, 'params', 'params'), 'params', shapes, (n) => paramWhy(n, config));
  const w = outputWidth(config);
  const outWhy = `num_nodes=${numNodes}, output width ${w} (${config.concat ? 'heads*out_channels, concat=true' : 'out_channels, concat=false'})`;
  const upstream = tensor(need(raw, 'upstream', 'upstream'), 'upstream', [numNodes, w], outWhy);
  const output = tensor(need(raw, 'output', 'output'), 'output', [numNodes, w], outWhy);

  const att = need(raw, 'attention', 'attention');
  if (!isObject(att)) throw new InputError(`field "attention" is ${describeValue(att)}, expected an object`);
  for (const key of Object.keys(att)) {
    if (key !== 'edge_index' && key !== 'alpha') throw new InputError(`field "attention.${key}" is not expected`);
  }
  const attEdges = parseEdgeIndex(need(att, 'edge_index', 'attention.edge_index'), 'attention.edge_index', numNodes);
  const ea = attEdges[0].length;
  const alpha = tensor(need(att, 'alpha', 'attention.alpha'), 'attention.alpha', [ea, h], `${ea} attention edges, heads=${h}`);

  const gradShapes: Record<string, number[]> = { ...shapes, x: [numNodes, f] };
  if (edgeDim !== null) gradShapes['edge_attr'] = [e, edgeDim];
  const grads = tensorGroup(need(raw, 'grads', 'grads'), 'grads', gradShapes, (n) =>
    n === 'x' ? `num_nodes=${numNodes}, in_channels=${f}` : n === 'edge_attr' ? `${e} edges, edge_dim=${edgeDim}` : paramWhy(n, config),
  );
  return { file, config, numNodes, edgeIndex, x, edgeAttr, params, upstream, output, attention: { edgeIndex: attEdges, alpha }, grads };
}
