/**
 * The layering of docs/architecture.md ("Layers"), enforced: every relative import of src/ and
 * kernels/ points to a lower layer or stays inside its own folder; the engines (train, check,
 * bench, diagnostics, report, exchange) never import each other; and no files import each other
 * in a circle. A failure names the importing file, its line, and the rule it breaks.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import { PACKAGE_DIR } from './cli-helpers.js';

/** Bottom first. A module may import from a strictly lower rank, or from its own folder. */
const LAYERS: Array<{ rank: number; folders: string[] }> = [
  { rank: 0, folders: ['src/util'] },
  { rank: 1, folders: ['kernels'] },
  { rank: 2, folders: ['src/backends', 'src/graph'] },
  { rank: 3, folders: ['src/data'] },
  { rank: 4, folders: ['src/store'] },
  { rank: 5, folders: ['src/sample'] },
  { rank: 6, folders: ['src/ops'] },
  { rank: 7, folders: ['src/model'] },
  { rank: 8, folders: ['src/run'] },
  { rank: 9, folders: ['src/train', 'src/check', 'src/bench', 'src/diagnostics', 'src/report', 'src/exchange'] },
  { rank: 10, folders: ['src/api'] },
  { rank: 11, folders: ['src/cli'] },
  { rank: 12, folders: ['src/index.ts'] },
];

/** AssemblyScript kernel source: compiled to wasm, never imported by TypeScript. */
const NOT_TYPESCRIPT = ['kernels/simd/assembly'];

interface Import { from: string; to: string; line: number; text: string }

function sourceFiles(dir: string): string[] {
  const abs = join(PACKAGE_DIR, dir);
  if (!existsSync(abs)) return [];
  const out: string[] = [];
  for (const name of readdirSync(abs)) {
    const rel = `${dir}/${name}`;
    if (NOT_TYPESCRIPT.includes(rel)) continue;
    if (statSync(join(PACKAGE_DIR, rel)).isDirectory()) out.push(...sourceFiles(rel));
    else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) out.push(rel);
  }
  return out;
}

const IMPORT = /(?:\bfrom\s*|\bimport\s*\(\s*|^\s*import\s+)(['"])(\.{1,2}\/[^'"]+)\1/;

function importsOf(file: string): Import[] {
  const lines = readFileSync(join(PACKAGE_DIR, file), 'utf8').split('\n');
  const out: Import[] = [];
  lines.forEach((text, k) => {
    const m = IMPORT.exec(text);
    if (!m) return;
    const to = normalize(join(dirname(file), m[2]!)).replace(/\.js$/, '.ts');
    out.push({ from: file, to, line: k + 1, text: text.trim() });
  });
  return out;
}

/** The folder entry of LAYERS a file belongs to, and its rank. */
function layerOf(file: string): { folder: string; rank: number } {
  for (const { rank, folders } of LAYERS) {
    for (const folder of folders) if (file === folder || file.startsWith(`${folder}/`)) return { folder, rank };
  }
  throw new Error(`${file}: in no layer of test/layering.test.ts; add its folder to LAYERS and to docs/architecture.md`);
}

/** Why an import from `from` to `to` breaks the layering, or null when it is allowed. */
function ruleBroken(from: string, to: string): string | null {
  const a = layerOf(from), b = layerOf(to);
  if (a.folder === b.folder || b.rank < a.rank) return null;
  return b.rank === a.rank ? `sideways: ${a.folder} and ${b.folder} are on one layer` : `up: ${b.folder} is above ${a.folder}`;
}

const files = [...sourceFiles('src'), ...sourceFiles('kernels')];
const imports = files.flatMap(importsOf);

test('every source file belongs to a layer, and every relative import resolves to a source file', () => {
  for (const f of files) layerOf(f);
  const known = new Set(files);
  const broken = imports.filter((i) => !known.has(i.to)).map((i) => `${i.from}:${i.line}: ${i.text}`);
  assert.deepEqual(broken, [], 'imports of files that do not exist');
});

test('imports point down the layers, and engines do not import each other', () => {
  const wrong: string[] = [];
  for (const i of imports) {
    const why = ruleBroken(i.from, i.to);
    if (why) wrong.push(`${i.from}:${i.line}: ${i.text}  (${why})`);
  }
  assert.deepEqual(wrong, [], 'imports against docs/architecture.md "Layers"');
});

test('no files import each other in a circle', () => {
  const next = new Map<string, Import[]>();
  for (const i of imports) next.set(i.from, [...(next.get(i.from) ?? []), i]);
  const state = new Map<string, 'open' | 'done'>();
  const circles: string[] = [];
  const visit = (file: string, path: Import[]): void => {
    state.set(file, 'open');
    for (const i of next.get(file) ?? []) {
      if (state.get(i.to) === 'open') {
        const start = path.findIndex((p) => p.from === i.to);
        circles.push([...path.slice(start < 0 ? path.length : start), i].map((p) => `${p.from}:${p.line}`).join(' -> '));
      } else if (!state.has(i.to)) visit(i.to, [...path, i]);
    }
    state.set(file, 'done');
  };
  for (const f of files) if (!state.has(f)) visit(f, []);
  assert.deepEqual(circles, [], 'import circles (file:line of each import)');
});

test('the rule tells down, up, sideways and same-folder imports apart', () => {
  assert.equal(ruleBroken('src/model/network.ts', 'src/ops/score.ts'), null);
  assert.equal(ruleBroken('src/train/trainer.ts', 'src/train/stop.ts'), null);
  assert.equal(ruleBroken('src/cli/main.ts', 'src/index.ts'), 'up: src/index.ts is above src/cli');
  assert.equal(ruleBroken('src/util/prng.ts', 'src/model/network.ts'), 'up: src/model is above src/util');
  assert.equal(ruleBroken('src/train/trainer.ts', 'src/report/write.ts'), 'sideways: src/train and src/report are on one layer');
  assert.throws(() => layerOf('src/nowhere/x.ts'), /in no layer/);
});
