/**
 * Dawn's native log lines (on Mesa's lavapipe, two "maxDynamic... artificially reduced" warnings
 * on every adapter request) stay off stderr unless `--verbose` is given, and stderr still works
 * after the adapter request (it is redirected around that call only). stderr is a file here, as
 * with `2> log` (node's own child pipes are sockets, which cannot be reopened: there the lines
 * show, see kernels/webgpu/native-stderr.ts).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { PACKAGE_DIR } from './cli-helpers.js';
import { tmpDir } from './train-helpers.js';

const DAWN_WARNING = /artificially reduced/;

/** Runs bin/gatv2.js with stderr written to a file; stdout collected. */
function runToFile(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const path = join(tmpDir('stderr'), 'stderr.txt');
  const fd = openSync(path, 'w');
  const child = spawn(process.execPath, ['bin/gatv2.js', ...argv], { cwd: PACKAGE_DIR, stdio: ['ignore', 'pipe', fd] });
  closeSync(fd);
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code: code ?? -1, out, err: readFileSync(path, 'utf8') })));
}

test('gatv2 backends keeps Dawn\'s native warnings off stderr unless --verbose', async () => {
  const quiet = await runToFile(['backends', '--json']);
  assert.equal(quiet.code, 0, quiet.err);
  assert.doesNotMatch(quiet.err, DAWN_WARNING);
  const report = JSON.parse(quiet.out) as { backends: Array<{ name: string; available: boolean; device: string | null }> };
  const webgpu = report.backends.find((b) => b.name === 'webgpu')!;
  const loud = await runToFile(['backends', '--json', '--verbose']);
  assert.equal(loud.code, 0, loud.err);
  assert.equal(loud.out, quiet.out);
  // lavapipe reports dynamic-buffer limits of 10^6, which Dawn reduces with a warning.
  if (webgpu.available && /llvmpipe/.test(webgpu.device ?? '')) assert.match(loud.err, DAWN_WARNING);
});

test('stderr works after the adapter request: an error found after choosing the backend is printed', async () => {
  const r = await runToFile(['bench', '--backend', 'auto', '--dataset', join(tmpDir('nodata'), 'missing'), '--steps', '1']);
  assert.equal(r.code, 2);
  assert.doesNotMatch(r.err, DAWN_WARNING);
  assert.match(r.err, /^backend: auto: /m);
  assert.match(r.err, /^gatv2: .*missing/m);
});
