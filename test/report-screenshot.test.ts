/**
 * The report renders in headless Chromium: every chart draws (the page script marks each canvas
 * it drew and records its position, read back with --dump-dom), and in a screenshot each chart's
 * area holds non-background pixels of several colours (axes, text and data lines), not a blank
 * canvas. GATV2_REPORT_SCREENSHOT=<file.png> keeps the screenshot. Needs Debian's chromium (.ci/install-chromium.sh): skipped with a message when it is
 * absent, except under CI=true, where that is a failure.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { PNG } from 'pngjs';
import * as tf from '@tensorflow/tfjs-core';
import { useBackend } from '../src/backends/index.js';
import { diagnoseNetwork } from '../src/diagnostics/diagnose.js';
import { appendDiagnostics } from '../src/run/diagnostics-file.js';
import { syntheticGraph } from '../src/graph/synthetic.js';
import { buildLayout } from '../src/graph/layout.js';
import { buildNetworkConfig, createNetworkInputs, initNetworkParams } from '../src/model/network.js';
import { splitTargets } from '../src/model/loss.js';
import { writeReport } from '../src/report/index.js';

const WIDTH = 1200, HEIGHT = 3000;
const CHROMIUM = process.env['CHROMIUM'] ?? 'chromium';

function chromiumMissing(): string | null {
  const r = spawnSync(CHROMIUM, ['--version'], { encoding: 'utf8', timeout: 30_000 });
  if (r.error) return `${CHROMIUM} not found (${r.error.message})`;
  if (r.status !== 0) return `${CHROMIUM} --version exited ${r.status}`;
  return null;
}

const missing = chromiumMissing();
if (missing !== null && process.env['CI'] === 'true') {
  throw new Error(`CI needs chromium for the report screenshot test (run .ci/install-chromium.sh): ${missing}`);
}

/** Runs headless chromium on a page with a fresh profile; extra gives --dump-dom or --screenshot. */
function chromium(url: string, extra: string[]): string {
  const profile = mkdtempSync(join(tmpdir(), 'gatv2-chromium-'));
  try {
    const r = spawnSync(CHROMIUM, [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      `--user-data-dir=${profile}`, `--window-size=${WIDTH},${HEIGHT}`, ...extra, url,
    ], { encoding: 'utf8', timeout: 120_000, maxBuffer: 64 * 1024 * 1024 });
    if (r.error) throw r.error;
    assert.equal(r.status, 0, `chromium exited ${r.status}: ${r.stderr.slice(-2000)}`);
    return r.stdout;
  } finally {
    rmSync(profile, { recursive: true, force: true });
  }
}

/** A run directory with metrics and real diagnostics of a small two-layer network. */
async function makeRun(dir: string): Promise<void> {
  await useBackend('cpu');
  const n = 60, f = 6, k = 4;
  const net = buildNetworkConfig({
    inFeatures: f, numClasses: k, layers: 2, hidden: 4, heads: 4, outputHeads: 1, outputConcat: false,
    activation: 'elu', inputDropout: 0.3, attentionDropout: 0.3, negativeSlope: 0.2, addSelfLoops: true,
    bias: true, shareWeights: false, residual: false,
  });
  // Power-law in-degrees: many nodes keep only their self loop, so the starved share is visible.
  const g = syntheticGraph({ numNodes: n, avgDegree: 2, distribution: 'power-law', seed: 3 });
  const inputs = createNetworkInputs(
    { kind: 'dense', numNodes: n, numFeatures: f, values: Float32Array.from({ length: n * f }, (_, i) => Math.sin(1.7 * i)) },
    buildLayout(n, g.source, g.target, { addSelfLoops: true }),
  );
  const targets = splitTargets(Int32Array.from({ length: n }, (_, i) => i % k), Int32Array.from({ length: 30 }, (_, i) => i), k);
  const metrics: string[] = [];
  try {
    for (let e = 0; e <= 8; e++) {
      const params = initNetworkParams(net, 7 + e);
      appendDiagnostics(dir, e, await diagnoseNetwork(net, params, inputs, { targets, weightDecay: 0 }, { training: true, seed: e }));
      tf.dispose(Object.values(params));
      if (e > 0) {
        const loss = 1.4 * Math.exp(-e / 5);
        metrics.push(JSON.stringify({ epoch: e, trainLoss: loss, trainAcc: 1 - loss / 2, valLoss: loss + 0.1, valAcc: 0.8 - loss / 3, testLoss: loss + 0.15, testAcc: 0.78 - loss / 3, best: true, epochMs: 3 }));
      }
    }
  } finally {
    targets.dispose();
    inputs.dispose();
  }
  writeFileSync(join(dir, 'metrics.jsonl'), metrics.join('\n') + '\n');
  writeFileSync(join(dir, 'config.json'), JSON.stringify({
    format: 'gatv2-run', formatVersion: 1, createdAt: '2025-01-01T00:00:00.000Z', backend: 'cpu', network: net,
    config: { dataset: 'synthetic', grad: 'analytic', seed: 0, epochs: 8, weightDecay: 0, optimizer: { name: 'adam', lr: 0.005 } },
    dataset: { name: 'synthetic', nodes: n, features: f, classes: k },
  }));
}

interface CanvasMark {
  id: string;
  drawn: boolean;
  error: string | null;
  rect: [number, number, number, number];
}

/** The canvases of the dumped DOM with the marks the page script set after drawing. */
function canvasMarks(dom: string): CanvasMark[] {
  return [...dom.matchAll(/<canvas\b[^>]*>/g)].map((m) => {
    const tag = m[0];
    const attr = (name: string) => new RegExp(`\\s${name}="([^"]*)"`).exec(tag)?.[1] ?? null;
    const rect = (attr('data-rect') ?? '').split(',').map(Number) as CanvasMark['rect'];
    return { id: attr('id') ?? '?', drawn: attr('data-drawn') === 'true', error: attr('data-error'), rect };
  });
}

test('the report renders in headless chromium: every chart drew', { skip: missing !== null ? `chromium unavailable (run .ci/install-chromium.sh): ${missing}` : false }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gatv2-shot-'));
  try {
    await makeRun(dir);
    const url = `file://${writeReport(dir)}`;

    const marks = canvasMarks(chromium(url, ['--dump-dom']));
    assert.equal(marks.length, 10, `charts: ${marks.map((m) => m.id).join(', ')}`);
    for (const m of marks) {
      assert.equal(m.error, null, `${m.id}: ${m.error}`);
      assert.ok(m.drawn, `${m.id}: Chart.js drew it`);
      assert.ok(m.rect.length === 4 && m.rect[2] > 100 && m.rect[3] > 100, `${m.id}: laid out at ${m.rect}`);
    }

    const shotPath = join(dir, 'report.png');
    chromium(url, [`--screenshot=${shotPath}`]);
    // GATV2_REPORT_SCREENSHOT=<file.png> keeps the screenshot, to look at it.
    const keep = process.env['GATV2_REPORT_SCREENSHOT'];
    if (keep) copyFileSync(shotPath, keep);
    const png = PNG.sync.read(readFileSync(shotPath));
    assert.equal(png.width, WIDTH);
    let checked = 0;
    for (const m of marks) {
      const [x0, y0, w, h] = m.rect;
      if (x0 + w > png.width || y0 + h > png.height) continue; // below the screenshot
      checked++;
      let ink = 0;
      const colours = new Set<number>();
      for (let y = y0; y < y0 + h; y++) {
        for (let x = x0; x < x0 + w; x++) {
          const o = (y * png.width + x) * 4;
          const r = png.data[o]!, g = png.data[o + 1]!, b = png.data[o + 2]!;
          if (r < 235 || g < 235 || b < 235) ink++;
          colours.add((r >> 4) << 8 | (g >> 4) << 4 | (b >> 4));
        }
      }
      const share = ink / (w * h);
      assert.ok(share > 0.01, `${m.id}: ${(100 * share).toFixed(2)}% of its area is drawn`);
      assert.ok(colours.size >= 6, `${m.id}: ${colours.size} colours`);
    }
    assert.ok(checked >= 8, `${checked} charts inside the ${WIDTH}x${HEIGHT} screenshot`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
