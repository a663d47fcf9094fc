/**
 * The package as users get it: `import('gatv2')` through package.json's "exports" (self-reference
 * works inside the package), type declarations a TypeScript consumer compiles against, and an
 * `npm pack` file list holding what the API needs and nothing from the tests.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { GATv2Conv } from '../src/api/conv.js';
import { PACKAGE_DIR } from './cli-helpers.js';

function run(cmd: string, args: string[]): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { cwd: PACKAGE_DIR, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) =>
      resolve({ code: error ? Number(error.code ?? 1) : 0, out: stdout, err: stderr }));
  });
}

test("import('gatv2') inside the package gives the library API, the same module as the sources", async () => {
  const name = 'gatv2'; // a variable: tsc must not resolve the package before it is built
  const api = (await import(name)) as Record<string, unknown>;
  for (const k of ['GATv2Conv', 'Graph', 'loadDataset', 'train', 'dropout', 'useBackend', 'tf', 'readSafetensors', 'writeSafetensors', 'exportCheckpoint', 'importCheckpoint', 'InputError']) {
    assert.ok(api[k] !== undefined, `exports ${k}`);
  }
  assert.equal(api['GATv2Conv'], GATv2Conv, 'one module instance (dist/src), not a copy');
  const pkg = JSON.parse(readFileSync(join(PACKAGE_DIR, 'package.json'), 'utf8')) as { exports: Record<string, Record<string, string>> };
  assert.deepEqual(Object.keys(pkg.exports['.']), ['types', 'import'], '"types" first, as TypeScript requires');
});

test('the type declarations type-check a TypeScript consumer of the API (strict)', async () => {
  const dir = mkdtempSync(join(PACKAGE_DIR, 'dist', 'test', 'consumer-'));
  try {
    writeFileSync(join(dir, 'consumer.ts'), [
      "import { GATv2Conv, Graph, loadDataset, train, tf, type Dataset, type SessionResult } from 'gatv2';",
      'const conv = new GATv2Conv({ inChannels: 4, outChannels: 2, heads: 3, concat: false, shareWeights: true });',
      'const g: Graph = Graph.fromEdgeIndex([[0, 1], [1, 0]], 2);',
      'const y: tf.Tensor2D = conv.apply(tf.ones([2, 4]) as tf.Tensor2D, g, { training: true });',
      "const r = conv.apply(tf.ones([2, 4]) as tf.Tensor2D, g, { returnAttention: true });",
      'const alpha: tf.Tensor2D = r.attention.alpha;',
      'const w: tf.Variable = conv.lin_l.weight;',
      "const d: Promise<Dataset> = loadDataset('cora');",
      "const t: Promise<SessionResult> = train({ config: { dataset: 'cora', model: { heads: 2 } } });",
      '// @ts-expect-error: not an option of GATv2Conv',
      'new GATv2Conv({ inChannels: 4, outChannels: 2, headz: 3 });',
      'export { y, alpha, w, d, t };',
      '',
    ].join('\n'));
    const tsc = join(PACKAGE_DIR, 'node_modules', 'typescript', 'bin', 'tsc');
    const r = await run(process.execPath, [tsc, '--noEmit', '--strict', '--skipLibCheck', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2022', join(dir, 'consumer.ts')]);
    assert.equal(r.code, 0, r.out + r.err);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('npm pack holds the built API, its declarations and the kernels, and nothing from test/', async () => {
  const r = await run('npm', ['pack', '--dry-run', '--json', '--ignore-scripts']);
  assert.equal(r.code, 0, r.err);
  const files = (JSON.parse(r.out) as { files: { path: string }[] }[])[0].files.map((f) => f.path);
  for (const f of ['package.json', 'bin/gatv2.js', 'dist/src/index.js', 'dist/src/index.d.ts', 'dist/src/api/conv.d.ts', 'dist/src/cli/main.js', 'datasets/cora/nodes.csv']) {
    assert.ok(files.includes(f), `packs ${f}`);
  }
  assert.ok(files.some((f) => f.startsWith('dist/kernels/') && f.endsWith('.wasm')), 'packs the SIMD kernels');
  const fromTests = files.filter((f) => /(^|\/)test\//.test(f));
  assert.deepEqual(fromTests, [], 'nothing from test/');
});
