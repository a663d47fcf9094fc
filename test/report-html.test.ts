/**
 * writeReport (src/report/): a self-contained report.html from a run directory (config.json,
 * metrics.jsonl, diagnostics.jsonl): Chart.js inlined, no external reference, one canvas per
 * chart (loss, accuracy, gradient flow, in-degree histogram, an entropy histogram per layer);
 * notices instead of charts where files are missing; an index for a directory of seeds; the
 * starved case drawn as gaps on the log axis. (test/report-screenshot.test.ts renders it.)
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { useBackend } from '../src/backends/index.js';
import { diagnoseNetwork } from '../src/diagnostics/diagnose.js';
import { appendDiagnostics } from '../src/run/diagnostics-file.js';
import { buildLayout } from '../src/graph/layout.js';
import { buildNetworkConfig, createNetworkInputs, initNetworkParams } from '../src/model/network.js';
import { splitTargets } from '../src/model/loss.js';
import { buildCharts, readRun, writeReport } from '../src/report/index.js';
import { type ChartSpec } from '../src/report/chart-spec.js';

const N = 10, F = 4, K = 3;

/** A run directory as the trainer leaves it, with real diagnostics of a tiny network at epochs 0..epochs. */
async function makeRun(dir: string, opts: { edges: boolean; epochs: number; name?: string }): Promise<void> {
  await useBackend('cpu');
  mkdirSync(dir, { recursive: true });
  const net = buildNetworkConfig({
    inFeatures: F, numClasses: K, layers: 2, hidden: 3, heads: 2, outputHeads: 1, outputConcat: false,
    activation: 'elu', inputDropout: 0.2, attentionDropout: 0.2, negativeSlope: 0.2, addSelfLoops: true,
    bias: true, shareWeights: false, residual: false,
  });
  const src: number[] = [], dst: number[] = [];
  if (opts.edges) for (let i = 0; i < N; i++) src.push((i + 1) % N, (i + 3) % N), dst.push(i, i);
  const inputs = createNetworkInputs(
    { kind: 'dense', numNodes: N, numFeatures: F, values: Float32Array.from({ length: N * F }, (_, k) => Math.cos(3 * k)) },
    buildLayout(N, src, dst, { addSelfLoops: true }),
  );
  const targets = splitTargets(Int32Array.from({ length: N }, (_, i) => i % K), Int32Array.from([0, 1, 2, 3, 4]), K);
  writeFileSync(join(dir, 'config.json'), JSON.stringify({
    format: 'gatv2-run', formatVersion: 1, createdAt: '2025-01-01T00:00:00.000Z', backend: 'cpu',
    config: { dataset: opts.name ?? 'tiny', grad: 'analytic', seed: 0, epochs: 200, weightDecay: 5e-4, optimizer: { name: 'adam', lr: 0.005 } },
    network: net, dataset: { name: opts.name ?? 'tiny', dir, nodes: N, features: F, classes: K },
  }));
  const lines: string[] = [];
  try {
    for (let e = 0; e <= opts.epochs; e++) {
      const params = initNetworkParams(net, 100 + e);
      const d = await diagnoseNetwork(net, params, inputs, { targets, weightDecay: 5e-4 }, { training: e > 0, seed: e });
      tf.dispose(Object.values(params));
      appendDiagnostics(dir, e, d);
      if (e > 0) {
        const loss = 1.1 * Math.exp(-e / 4);
        lines.push(JSON.stringify({
          epoch: e, trainLoss: loss, trainAcc: 1 - loss / 2, valLoss: loss + 0.1, valAcc: 0.9 - loss / 2,
          testLoss: loss + 0.12, testAcc: 0.88 - loss / 2, best: e % 2 === 1, epochMs: 5,
        }));
      }
    }
  } finally {
    targets.dispose();
    inputs.dispose();
  }
  writeFileSync(join(dir, 'metrics.jsonl'), lines.join('\n') + '\n');
}

function canvasIds(html: string): string[] {
  return [...html.matchAll(/<canvas id="chart-([^"]+)"/g)].map((m) => m[1]!);
}

function embeddedCharts(html: string): ChartSpec[] {
  const m = /<script type="application\/json" id="report-data">([\s\S]*?)<\/script>/.exec(html);
  assert.ok(m, 'report data embedded');
  return JSON.parse(m[1]!) as ChartSpec[];
}

test('writeReport: self-contained page with every chart of a run', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gatv2-report-'));
  try {
    await makeRun(dir, { edges: true, epochs: 4, name: 'tiny <b>&' });
    const path = writeReport(dir);
    assert.equal(path, join(dir, 'report.html'));
    const html = readFileSync(path, 'utf8');
    assert.match(html, /^<!doctype html>/);
    assert.match(html, /Chart\.js v4\.6\.1/, 'Chart.js inlined');
    // No reference a browser would fetch: no script/img/link sources, no stylesheets, no source map.
    // (Checked outside the inlined scripts: Chart.js's own code mentions url( in strings.)
    const markup = html.replace(/<script\b[^>]*>[\s\S]*?<\/script>/g, '');
    assert.doesNotMatch(html, /<script[^>]*\ssrc=/i);
    assert.doesNotMatch(markup, /<link\b/i);
    assert.doesNotMatch(markup, /<img\b/i);
    assert.doesNotMatch(markup, /@import|url\(|https?:/i);
    assert.doesNotMatch(html, /sourceMappingURL/);
    assert.doesNotMatch(html, /tiny <b>&/, 'dataset name escaped');
    assert.match(html, /tiny &lt;b&gt;&amp;/);

    const ids = canvasIds(html);
    assert.deepEqual(ids, [
      'loss', 'accuracy', 'grad-norms', 'grad-ratios', 'starvation', 'in-degree',
      'entropy', 'attention-shape', 'entropy-hist-conv1', 'entropy-hist-conv2',
    ]);
    const charts = embeddedCharts(html);
    assert.deepEqual(charts, JSON.parse(JSON.stringify(buildCharts(readRun(dir)))));
    const loss = charts.find((c) => c.id === 'loss')!;
    assert.equal(loss.series.length, 3);
    assert.equal((loss.series[0]!.data as { x: number }[]).length, 4, 'epochs 1..4 of metrics.jsonl');
    const norms = charts.find((c) => c.id === 'grad-norms')!;
    assert.equal((norms.series[0]!.data as unknown[]).length, 5, 'diagnostics at epochs 0..4');
    assert.ok(norms.y.log);
    const deg = charts.find((c) => c.id === 'in-degree')!;
    assert.deepEqual(deg.labels, ['0', '1', '2', '3']);
    assert.deepEqual(deg.series[0]!.data, [0, 0, 0, N], 'in-degree 3 (two edges and the self loop) everywhere');
    const hist = charts.find((c) => c.id === 'entropy-hist-conv1')!;
    assert.equal(hist.series.length, 2, 'first and last diagnosed epoch');
    assert.match(html, /Gradient flow \(analytic backward/);
    assert.match(html, /best epoch/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('writeReport: the starved case shows Theta_R as gaps on the log axis and 100% starved', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gatv2-report-'));
  try {
    await makeRun(dir, { edges: false, epochs: 2 });
    const charts = embeddedCharts(readFileSync(writeReport(dir), 'utf8'));
    const norms = charts.find((c) => c.id === 'grad-norms')!;
    const thetaR = norms.series.filter((s) => s.label.endsWith('\u0398_R'));
    assert.equal(thetaR.length, 2, 'one series per layer, kept although all gaps');
    for (const s of thetaR) assert.ok((s.data as { y: number | null }[]).every((p) => p.y === null));
    const thetaL = norms.series.find((s) => s.label === 'conv1 \u0398_L')!;
    assert.ok((thetaL.data as { y: number | null }[]).every((p) => p.y !== null && p.y > 0));
    const starved = charts.find((c) => c.id === 'starvation')!.series.find((s) => s.label === 'conv1 starved')!;
    assert.ok((starved.data as { y: number | null }[]).every((p) => p.y === 1));
    const deg = charts.find((c) => c.id === 'in-degree')!;
    assert.deepEqual(deg.labels, ['0', '1']);
    assert.deepEqual(deg.series[0]!.data, [0, N]);
    assert.equal(deg.series[0]!.barColors![1], '#D55E00', 'in-degree 1 marked');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('writeReport: missing files give notices, not errors; a directory of seeds gets an index', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gatv2-report-'));
  try {
    const empty = join(dir, 'empty');
    mkdirSync(empty);
    const html = readFileSync(writeReport(empty), 'utf8');
    assert.match(html, /No config\.json/);
    assert.match(html, /No metrics\.jsonl yet/);
    assert.match(html, /No diagnostics\.jsonl/);
    assert.deepEqual(canvasIds(html), []);

    const session = join(dir, 'session');
    await makeRun(join(session, 'seed-0'), { edges: true, epochs: 1 });
    await makeRun(join(session, 'seed-1'), { edges: true, epochs: 1 });
    const index = readFileSync(writeReport(session), 'utf8');
    assert.match(index, /href="seed-0\/report\.html"/);
    assert.match(index, /href="seed-1\/report\.html"/);
    assert.ok(existsSync(join(session, 'seed-1', 'report.html')));
    assert.throws(() => writeReport(join(dir, 'nope')), /no such run directory/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
