/**
 * The autograd twin on wasm is refused before it runs when its estimated memory exceeds the wasm
 * heap: checked here on a small graph with the heap limit lowered (GATV2_WASM_HEAP_BYTES), through
 * the real CLI for each command that runs autograd, with exit 2 and one line naming the estimate,
 * the limit and the way out.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { buildNetworkConfig } from '../src/model/network.js';
import { analyticPeakBytes, autogradPeakBytes, checkAutogradFits } from '../src/model/autograd-memory.js';
import { DEFAULT_MODEL } from '../src/train/config.js';
import { InputError } from '../src/util/errors.js';
import { runCli, messageLines } from './cli-helpers.js';
import { recorder, tinyConfig, tmpDir } from './train-helpers.js';
import { trainSession } from '../src/train/session.js';
import { stopControl } from '../src/train/stop.js';

const SMALL_HEAP = { GATV2_WASM_HEAP_BYTES: '1000000' };
const REFUSAL = /autograd would hold about (\d+\.\d+) GB at (\d+) edges \(estimated\), more than the wasm heap allows \(0\.001 GB, about 85% of it usable\); use --backend cpu, or the analytic gradients \(--grad analytic\)$/;

async function assertRefused(argv: string[], prefix: string): Promise<void> {
  const r = await runCli(argv, SMALL_HEAP);
  assert.equal(r.code, 2, `gatv2 ${argv.join(' ')}: ${r.err}`);
  const lines = messageLines(r.err);
  assert.equal(lines.length, 1, `one line, got:\n${r.err}`);
  assert.ok(lines[0].startsWith(`gatv2: ${prefix}: `), lines[0]);
  assert.match(lines[0], REFUSAL);
}

test('the estimate grows with edges, heads and channels of every layer', () => {
  const net = (heads: number, hidden: number, layers: number) =>
    buildNetworkConfig({ ...{ layers, hidden, heads, outputHeads: 1, outputConcat: false, activation: 'elu', inputDropout: 0.6, attentionDropout: 0.6, negativeSlope: 0.2, addSelfLoops: true, bias: true, shareWeights: false, residual: false }, inFeatures: 16, numClasses: 7 });
  assert.equal(autogradPeakBytes(net(8, 8, 2), 2000), 2 * autogradPeakBytes(net(8, 8, 2), 1000));
  assert.ok(autogradPeakBytes(net(8, 32, 3), 1000) > autogradPeakBytes(net(8, 8, 2), 1000));
  // The case: a 3-layer 8x32 model at 117k edges does not fit 4 GiB; Cora's default does.
  assert.throws(() => checkAutogradFits(net(8, 32, 3), 117_000, '--grad autograd', 'wasm'), InputError);
  checkAutogradFits(net(8, 8, 2), 13_264, '--grad autograd', 'wasm');
  // Other backends have no such limit.
  checkAutogradFits(net(8, 32, 3), 117_000, '--grad autograd', 'cpu');
});

test('train --grad autograd and --check-grads on wasm are refused before any run directory is made', async () => {
  const out = join(tmpDir('autograd-mem'), 'run');
  await assertRefused(['train', '--dataset', 'cora', '--backend', 'wasm', '--grad', 'autograd', '--out', out], '--grad autograd');
  await assertRefused(['train', '--dataset', 'cora', '--backend', 'wasm', '--check-grads', '5', '--out', out], '--check-grads 5 (it runs autograd)');
  assert.ok(!existsSync(out));
});

test('bench --grad autograd and gradcheck on wasm are refused', async () => {
  await assertRefused(['bench', '--backend', 'wasm', '--grad', 'autograd', '--nodes', '200', '--features', '8', '--steps', '1', '--warmup', '0'], '--grad autograd');
  const run = join(tmpDir('autograd-ckpt'), 'run');
  await trainSession({ config: tinyConfig({ epochs: 1 }), out: run, reporter: recorder(), stop: stopControl({ signals: false }) });
  await assertRefused(['gradcheck', '--checkpoint', run, '--backend', 'wasm'], 'autograd');
});

test('a full-batch run whose step does not fit the wasm heap is refused before it starts, pointing to mini-batches', async () => {
  const heap = { GATV2_WASM_HEAP_BYTES: '10000000' };
  const out = join(tmpDir('fullbatch-mem'), 'run');
  const r = await runCli(['train', '--dataset', 'cora', '--backend', 'wasm', '--out', out], heap);
  assert.equal(r.code, 2, r.err);
  const lines = messageLines(r.err);
  assert.equal(lines.length, 1, r.err);
  assert.match(lines[0]!, /^gatv2: cora: a full-batch step at 2708 nodes and 13264 edges needs about (\d+\.\d+) GB of wasm heap \(estimated\), more than it allows \(0\.010 GB, about 85% of it usable\); train in mini-batches: gatv2 convert DATASET --out STORE, then gatv2 train --dataset STORE --batch-size 1024 --fanout 15,10/);
  assert.ok(!existsSync(out), 'nothing written');
  // Mini-batches of the same graph are not refused; neither is the full default heap.
  const mb = await runCli(['train', '--dataset', 'cora', '--backend', 'wasm', '--batch-size', '512', '--fanout', '5,5', '--epochs', '1', '--out', join(tmpDir('fullbatch-mb'), 'run')], heap);
  assert.equal(mb.code, 0, mb.err);
  // The fit gives back the two bench measurements it came from (peakDataBytes, 98.7 and 154.7 MB).
  const net = buildNetworkConfig({ ...DEFAULT_MODEL, inFeatures: 100, numClasses: 47 });
  for (const [edges, measured] of [[219993, 98735232], [619974, 154732572]] as const) {
    const est = analyticPeakBytes(net, { nodes: 20000, edges, featureBytes: 20000 * 100 * 4 });
    assert.ok(Math.abs(est - measured) / measured < 0.01, `${edges} edges: estimate ${est} against ${measured}`);
  }
});
