/**
 * Training is bit-identical for any thread count: `gatv2 train --threads 1, 2 and 3` on cpu and on
 * wasm give the same metrics (wall times aside) and the same bytes in every checkpoint file. The
 * split threshold is 0 (GATV2_SPLIT_WORK), so every kernel call with two or more units of work is
 * cut into tasks on several threads, however small this model (Cora, 2 heads x 4) is.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { runCli } from './cli-helpers.js';
import { CLI_TINY, numbersOf, readJsonl, tmpDir } from './train-helpers.js';
import type { EpochMetrics } from '../src/run/metrics.js';

/** JSON without its wall times (which differ run to run). */
function withoutTimes(text: string): string {
  return JSON.stringify(JSON.parse(text, (k, v) => (/Ms$/.test(k) ? undefined : v)));
}

/** Every checkpoint file of a run directory, by relative path: the weight files' bytes, the JSON
 * files without wall times. */
function checkpointFiles(dir: string): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  for (const sub of ['best', 'last']) {
    for (const f of readdirSync(join(dir, sub)).sort()) {
      const bytes = readFileSync(join(dir, sub, f));
      out.set(`${sub}/${f}`, f.endsWith('.json') ? Buffer.from(withoutTimes(bytes.toString('utf8'))) : bytes);
    }
  }
  return out;
}

for (const backend of ['cpu', 'wasm']) {
  test(`train on ${backend}: same metrics and weights for --threads 1, 2 and 3`, async () => {
    const runs: { metrics: unknown[]; files: Map<string, Buffer> }[] = [];
    for (const threads of [1, 2, 3]) {
      const dir = tmpDir(`threads-${backend}-${threads}`);
      try {
        const flags = CLI_TINY.filter((f, i, a) => f !== '--backend' && a[i - 1] !== '--backend');
        const res = await runCli(['train', '--dataset', 'cora', ...flags, '--backend', backend, '--epochs', '4',
          '--threads', String(threads), '--out', dir, '--json'], { GATV2_SPLIT_WORK: '0' });
        assert.equal(res.code, 0, res.err);
        runs.push({ metrics: numbersOf(readJsonl<EpochMetrics>(join(dir, 'metrics.jsonl'))), files: checkpointFiles(dir) });
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }
    assert.equal(runs[0].metrics.length, 4);
    assert.ok([...runs[0].files.keys()].some((k) => k.endsWith('.bin')), 'no weight file');
    for (const r of runs.slice(1)) {
      assert.deepEqual(r.metrics, runs[0].metrics);
      assert.deepEqual([...r.files.keys()], [...runs[0].files.keys()]);
      for (const [k, bytes] of runs[0].files) assert.ok(r.files.get(k)!.equals(bytes), `${k} differs`);
    }
  });
}
