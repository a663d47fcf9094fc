import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { runCli } from './cli-helpers.js';

const cli = runCli;

test('gradcheck --checkpoint: analytic, autograd and float64 agree on trained weights and real data', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gatv2-ckpt-check-'));
  try {
    const train = await cli(['train', '--dataset', 'cora', '--backend', 'wasm', '--epochs', '5', '--heads', '2', '--hidden', '4', '--out', dir]);
    assert.equal(train.code, 0, train.err);
    const r = await cli(['gradcheck', '--checkpoint', dir, '--dataset', 'cora', '--backend', 'wasm', '--json']);
    assert.equal(r.code, 0, r.err);
    const report = JSON.parse(r.out) as { ok: boolean; reports: { name: string; ok: boolean; rows: { tensor: string; comparisons: Record<string, { rel: number }> }[] }[] };
    assert.equal(report.ok, true);
    // The network-level comparison, then one float64 check per layer.
    assert.equal(report.reports.length, 3);
    const network = report.reports[0];
    assert.deepEqual(network.rows.map((row) => row.tensor).sort(), [
      'grad conv1.att', 'grad conv1.bias', 'grad conv1.lin_l.bias', 'grad conv1.lin_l.weight', 'grad conv1.lin_r.bias', 'grad conv1.lin_r.weight',
      'grad conv2.att', 'grad conv2.bias', 'grad conv2.lin_l.bias', 'grad conv2.lin_l.weight', 'grad conv2.lin_r.bias', 'grad conv2.lin_r.weight',
    ]);
    for (const layer of report.reports.slice(1)) {
      const tensors = layer.rows.map((row) => row.tensor);
      assert.ok(tensors.includes('output') && tensors.includes('attention') && tensors.includes('grad lin_r.weight'), layer.name);
      for (const row of layer.rows) {
        for (const [label, c] of Object.entries(row.comparisons)) assert.ok(c.rel <= 1e-5, `${layer.name} ${row.tensor} ${label} ${c.rel}`);
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('gradcheck --checkpoint on a directory that is not a checkpoint: one line, exit 2', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gatv2-not-ckpt-'));
  try {
    const r = await cli(['gradcheck', '--checkpoint', dir]);
    assert.equal(r.code, 2, r.err);
    const lines = r.err.trim().split('\n').filter((l) => !l.startsWith('Warning:'));
    assert.equal(lines.length, 1, r.err);
    assert.match(lines[0], new RegExp(dir.replace(/[/\\^$.*+?()[\]{}|-]/g, '\\$&')));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
