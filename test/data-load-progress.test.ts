/**
 * Progress while loading a dataset: a line per file with its count, time and rate on the stream it
 * is given (stderr in the CLI), and nothing for a load that ends before the quiet period.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { builtinDir, loadDataset } from '../src/store/load.js';
import { createLoadProgress, type LoadPhase } from '../src/data/load-progress.js';
import { runCli } from './cli-helpers.js';

function capture(): { stream: PassThrough; text: () => string } {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (c: Buffer) => (text += c.toString()));
  return { stream, text: () => text };
}

test('loadDataset reports each file: its size, the bytes read, and the count at the end', async () => {
  const phases: { phase: LoadPhase; file: string; bytes: number; read: number; count?: number; what?: string }[] = [];
  await loadDataset('cora', {
    start: (phase, file, bytes) => phases.push({ phase, file, bytes, read: 0 }),
    advance: (bytes) => (phases[phases.length - 1].read += bytes),
    end: (count, what) => Object.assign(phases[phases.length - 1], { count, what }),
  });
  const dir = builtinDir('cora');
  assert.deepEqual(
    phases.map((p) => [p.phase, p.file, p.count, p.what]),
    [
      ['nodes', join('datasets', 'cora', 'nodes.csv'), 2708, 'nodes'],
      ['edges', join('datasets', 'cora', 'edges.csv'), 10556, 'edges'],
      ['features', join('datasets', 'cora', 'features.csv'), 49216, 'feature values'],
    ],
  );
  for (const p of phases) {
    const size = statSync(join(dir, `${p.phase}.csv`)).size;
    assert.equal(p.bytes, size);
    assert.equal(p.read, size, `${p.phase}: every byte read is reported`);
  }
});

test('a slow load prints every phase line once it has run past the quiet period', () => {
  let t = 0;
  const out = capture();
  const p = createLoadProgress({ stream: out.stream, afterMs: 1000, now: () => t });
  p.start('nodes', 'd/nodes.csv', 1000);
  p.advance(1000);
  t = 500;
  p.end(100, 'nodes');
  assert.equal(out.text(), '', 'quiet while under the period');
  p.start('edges', 'd/edges.csv', 4e6);
  t = 1500;
  p.advance(2e6);
  assert.equal(out.text(), 'read d/nodes.csv: 100 nodes in 0.50 s, 200 nodes/s, 0.0 MB/s\n');
  t = 2500;
  p.advance(2e6);
  p.end(400000, 'edges');
  assert.equal(
    out.text(),
    'read d/nodes.csv: 100 nodes in 0.50 s, 200 nodes/s, 0.0 MB/s\nread d/edges.csv: 400000 edges in 2.00 s, 200000 edges/s, 2.0 MB/s\n',
  );
});

test('off a terminal, a long file gets a line of bytes read every everyMs', () => {
  let t = 0;
  const out = capture();
  const p = createLoadProgress({ stream: out.stream, afterMs: 1000, everyMs: 10_000, now: () => t });
  p.start('edges', 'd/edges.csv', 100e6);
  t = 5000;
  p.advance(10e6);
  assert.equal(out.text(), '', 'nothing before a period has passed');
  t = 10_000;
  p.advance(10e6);
  assert.equal(out.text(), 'reading d/edges.csv: 20.0 of 100.0 MB (20%), 2.0 MB/s\n');
  t = 15_000;
  p.advance(30e6);
  assert.equal(out.text().split('\n').length, 2, 'at most one line a period');
  t = 20_000;
  p.advance(20e6);
  p.end(5, 'edges');
  assert.equal(
    out.text(),
    'reading d/edges.csv: 20.0 of 100.0 MB (20%), 2.0 MB/s\nreading d/edges.csv: 70.0 of 100.0 MB (70%), 3.5 MB/s\nread d/edges.csv: 5 edges in 20.00 s, 0 edges/s, 3.5 MB/s\n',
  );
});

test('a fast load prints nothing', () => {
  let t = 0;
  const out = capture();
  const p = createLoadProgress({ stream: out.stream, afterMs: 1000, now: () => t });
  for (const phase of ['nodes', 'edges', 'features'] as const) {
    p.start(phase, `d/${phase}.csv`, 10);
    p.advance(10);
    t += 100;
    p.end(5, phase);
  }
  assert.equal(out.text(), '');
});

test('progress never reaches stdout: inspect --json stays one JSON object', async () => {
  const r = await runCli(['datasets', 'inspect', 'cora', '--json']);
  assert.equal(r.code, 0, r.err);
  assert.equal(JSON.parse(r.out).nodes, 2708);
});
