/**
 * The project is whole on its own: every document a source file, script or test cites lives in the
 * repository, and nothing names a path of a build machine or of the material the project was built
 * from. A citation is any token ending in ".md"; it must resolve from the repository root, from docs/, or
 * from the citing file's folder.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { PACKAGE_DIR } from './cli-helpers.js';

const SCANNED = ['src', 'kernels', 'test', 'scripts', 'bin', '.ci'];
const TEXT = /\.(ts|mjs|js|sh|py|wat|md)$/;
// Written as two halves so this file does not match its own pattern.
const MACHINE_PATHS = [new RegExp('/w' + 'ork/'), new RegExp('\\.\\./sh' + 'ared/')];

function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name === 'fixtures') continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...filesUnder(path));
    else if (TEXT.test(name)) out.push(path);
  }
  return out;
}

const sources = SCANNED.flatMap((d) => filesUnder(join(PACKAGE_DIR, d)));

test('the scan sees the project (sanity: the citing files are found)', () => {
  assert.ok(sources.some((f) => f.endsWith(join('src', 'ops', 'softmax.ts'))), 'src/ops/softmax.ts scanned');
  assert.ok(sources.length > 50, `${sources.length} files scanned`);
});

test('every cited .md document exists in the repository', () => {
  const missing: string[] = [];
  let citations = 0;
  for (const file of sources) {
    const lines = readFileSync(file, 'utf8').split('\n');
    lines.forEach((line, i) => {
      for (const m of line.matchAll(/(?<![\w/.-])((?:[\w.-]+\/)*[\w-]+\.md)\b/g)) {
        const cited = m[1];
        if (cited.startsWith('node_modules/')) continue;
        citations++;
        const candidates = [join(PACKAGE_DIR, cited), join(PACKAGE_DIR, 'docs', cited), join(dirname(file), cited)];
        if (!candidates.some((c) => existsSync(c))) missing.push(`${relative(PACKAGE_DIR, file)}:${i + 1}: ${cited}`);
      }
    });
  }
  assert.ok(citations > 10, `found ${citations} citations`);
  assert.deepEqual(missing, [], `cited documents not in the repository:\n${missing.join('\n')}`);
});

test('no source, script or test names a machine path or the material outside the project', () => {
  const offending: string[] = [];
  for (const file of sources) {
    readFileSync(file, 'utf8').split('\n').forEach((line, i) => {
      if (MACHINE_PATHS.some((re) => re.test(line))) offending.push(`${relative(PACKAGE_DIR, file)}:${i + 1}: ${line.trim()}`);
    });
  }
  assert.deepEqual(offending, [], offending.join('\n'));
});
