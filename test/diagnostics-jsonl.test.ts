/**
 * diagnostics.jsonl (src/run/diagnostics-file.ts): appended lines read back by epoch, the last line
 * of a repeated epoch winning (a resumed run re-diagnoses the epochs after its last checkpoint),
 * a torn last line ignored; and the terminal summary of a diagnosis.
 */
import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { useBackend } from '../src/backends/index.js';
import { diagnoseNetwork } from '../src/diagnostics/diagnose.js';
import { appendDiagnostics, DIAGNOSTICS_FILE, readDiagnostics } from '../src/run/diagnostics-file.js';
import { summarizeDiagnostics } from '../src/diagnostics/summary.js';
import type { NetworkDiagnostics } from '../src/run/diagnostics-record.js';
import { buildLayout } from '../src/graph/layout.js';
import { buildNetworkConfig, createNetworkInputs, initNetworkParams } from '../src/model/network.js';
import { splitTargets } from '../src/model/loss.js';

async function diagnosis(withEdges: boolean): Promise<NetworkDiagnostics> {
  await useBackend('cpu');
  const N = 8, F = 3, K = 2;
  const net = buildNetworkConfig({
    inFeatures: F, numClasses: K, layers: 2, hidden: 2, heads: 2, outputHeads: 1, outputConcat: false,
    activation: 'elu', inputDropout: 0, attentionDropout: 0, negativeSlope: 0.2, addSelfLoops: true,
    bias: true, shareWeights: false, residual: false,
  });
  const src = withEdges ? [1, 2, 3, 4, 5, 6, 7, 0] : [];
  const dst = withEdges ? [0, 1, 2, 3, 4, 5, 6, 7] : [];
  const inputs = createNetworkInputs(
    { kind: 'dense', numNodes: N, numFeatures: F, values: Float32Array.from({ length: N * F }, (_, k) => Math.sin(k + 1)) },
    buildLayout(N, src, dst, { addSelfLoops: true }),
  );
  const params = initNetworkParams(net, 1);
  const targets = splitTargets(Int32Array.from({ length: N }, (_, i) => i % K), Int32Array.from([0, 1, 2, 3]), K);
  try {
    return await diagnoseNetwork(net, params, inputs, { targets, weightDecay: 0 }, { training: false });
  } finally {
    targets.dispose();
    tf.dispose(Object.values(params));
    inputs.dispose();
  }
}

test('appendDiagnostics / readDiagnostics: one line per epoch, last line of an epoch wins, torn tail ignored', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gatv2-diag-'));
  try {
    const a = await diagnosis(true), b = await diagnosis(false);
    assert.deepEqual(readDiagnostics(dir), []);
    appendDiagnostics(dir, 0, a);
    appendDiagnostics(dir, 1, a);
    appendDiagnostics(dir, 2, a);
    appendDiagnostics(dir, 1, b); // a resumed run repeats epoch 1
    const lines = readFileSync(join(dir, DIAGNOSTICS_FILE), 'utf8').trim().split('\n');
    assert.equal(lines.length, 4);
    const first = JSON.parse(lines[0]!) as { epoch: number; format: string };
    assert.equal(first.epoch, 0);
    assert.equal(first.format, 'gatv2-diagnostics');
    appendFileSync(join(dir, DIAGNOSTICS_FILE), '{"epoch":3,"form'); // died mid-write
    const r = readDiagnostics(dir);
    assert.deepEqual(r.map((x) => x.epoch), [0, 1, 2]);
    assert.equal(r[1]!.graph.numEdges, b.graph.numEdges, 'epoch 1 is the later line');
    assert.deepEqual({ ...r[2]!, epoch: undefined }, { ...a, epoch: undefined });
    assert.throws(() => appendDiagnostics(dir, -1, a));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('summarizeDiagnostics: a short table naming every layer, starvation in percent', async () => {
  const text = summarizeDiagnostics(await diagnosis(false));
  assert.match(text, /^Gradient flow \(analytic backward, evaluation forward/);
  assert.match(text, /in-degree 1: 8 nodes \(100\.0%\)/);
  const conv1 = text.split('\n').find((l) => l.startsWith('conv1'));
  const conv2 = text.split('\n').find((l) => l.startsWith('conv2'));
  assert.ok(conv1 && conv2, text);
  assert.match(conv1!, /^conv1\s+0\s+\S+\s+0\s/, '|dTheta_R| and the R/L ratio printed as exactly 0');
  assert.match(conv1!, /100\.0%/);
  assert.ok(text.split('\n').length < 15, 'short');
  const withEdges = summarizeDiagnostics(await diagnosis(true));
  assert.match(withEdges, /in-degree 1: 0 nodes/);
});
