/**
 * Backend selection: auto's order and reasons (a pure function of the probes), the errors for
 * unknown and unavailable backends, and the `gatv2 backends` listing.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { BACKENDS, backendReason, selectBackend, useBackend } from '../src/backends/index.js';
import { chooseAuto } from '../src/backends/auto.js';
import type { BackendName, BackendReport } from '../src/backends/types.js';
import { packageVersion } from '../src/backends/versions.js';
import { formatBackends, listBackends } from '../src/cli/backends.js';
import { InputError } from '../src/util/errors.js';

function report(name: BackendName, over: Partial<BackendReport> = {}): BackendReport {
  return { name, available: true, version: '1', device: `${name} device`, gpu: false, software: false, reason: null, ...over };
}

const missingTf = report('tensorflow', { available: false, device: null, reason: 'not installed' });

test('auto prefers a hardware WebGPU adapter, then wasm, then cpu, and never tensorflow', () => {
  const all = (tfOver: Partial<BackendReport>, gpuOver: Partial<BackendReport>) => [
    report('tensorflow', tfOver), report('webgpu', gpuOver), report('wasm'), report('cpu'),
  ];
  // Even tensorflow on a CUDA GPU is passed over: only --backend tensorflow runs it.
  const withCuda = chooseAuto(all({ gpu: true }, { gpu: true }));
  assert.equal(withCuda.name, 'webgpu');
  assert.match(withCuda.reason, /tensorflow: only with --backend tensorflow \(untested/);
  assert.equal(chooseAuto(all({ gpu: true }, { available: false, reason: 'no Vulkan driver' })).name, 'wasm');
  assert.equal(chooseAuto(all({ gpu: false }, { gpu: true })).name, 'webgpu');
  const soft = chooseAuto(all({ available: false, reason: 'not installed' }, { gpu: false, software: true, device: 'llvmpipe' }));
  assert.equal(soft.name, 'wasm');
  assert.match(soft.reason, /webgpu: only a software adapter \(llvmpipe\)/);
  const noWasm = chooseAuto([missingTf, report('webgpu', { available: false, reason: 'no Vulkan driver' }), report('wasm', { available: false, reason: 'x' }), report('cpu')]);
  assert.equal(noWasm.name, 'cpu');
  assert.match(noWasm.reason, /webgpu: no Vulkan driver/);
});

test('auto stops probing at the first acceptable backend', () => {
  assert.equal(chooseAuto([report('webgpu', { gpu: true })]).name, 'webgpu');
  assert.throws(() => chooseAuto([report('tensorflow', { gpu: true })]), /no backend is available/);
});

test('--backend values: auto and the four backends', () => {
  assert.deepEqual([...BACKENDS], ['auto', 'tensorflow', 'webgpu', 'wasm', 'cpu']);
});

test('an unknown backend is an InputError listing the choices', async () => {
  await assert.rejects(useBackend('cuda'), (e: unknown) => e instanceof InputError && /choose one of auto, tensorflow, webgpu, wasm, cpu/.test(e.message));
});

test('asking for tensorflow without tfjs-node-gpu is an InputError saying how to get it', { skip: packageVersion('@tensorflow/tfjs-node-gpu') !== null || packageVersion('@tensorflow/tfjs-node') !== null }, async () => {
  await assert.rejects(useBackend('tensorflow'), (e: unknown) => {
    assert.ok(e instanceof InputError, String(e));
    assert.match(e.message, /backend "tensorflow" is not available: @tensorflow\/tfjs-node-gpu is not installed/);
    assert.match(e.message, /CUDA 11\.2 and cuDNN 8\.1/);
    return true;
  });
});

test('cpu and wasm start, and say why', async () => {
  assert.equal(await useBackend('cpu'), 'cpu');
  assert.equal(tf.getBackend(), 'cpu');
  assert.equal(backendReason(), 'cpu as asked');
  const c = await selectBackend('wasm');
  assert.deepEqual(c, { name: 'wasm', reason: 'wasm as asked' });
  assert.equal(tf.getBackend(), 'wasm');
});

test('auto starts the backend it names and returns the reason', async () => {
  const c = await selectBackend('auto');
  assert.equal(tf.getBackend(), c.name);
  assert.match(c.reason, new RegExp(`^auto: ${c.name}`));
  assert.equal(backendReason(), c.reason);
});

test('gatv2 backends lists all four with version, device or reason', async () => {
  const listing = await listBackends();
  assert.deepEqual(listing.backends.map((b) => b.name), ['tensorflow', 'webgpu', 'wasm', 'cpu']);
  for (const b of listing.backends) {
    if (b.available) assert.ok(b.device, `${b.name}: device`);
    else assert.ok(b.reason && b.reason.length > 10, `${b.name}: reason`);
  }
  const cpu = listing.backends.find((b) => b.name === 'cpu')!;
  assert.equal(cpu.available, true);
  assert.match(cpu.version ?? '', /@tensorflow\/tfjs-backend-cpu 4\.22\.0/);
  const webgpu = listing.backends.find((b) => b.name === 'webgpu')!;
  if (webgpu.available) assert.match(webgpu.version ?? '', /tfjs-backend-webgpu 4\.22\.0, webgpu /);
  else if (process.env['CI'] === 'true') assert.fail(`CI has lavapipe, yet webgpu is unavailable: ${webgpu.reason}`);
  assert.ok(listing.auto);
  assert.notEqual(listing.auto.name, 'tensorflow');
  assert.match(listing.backends[0]!.autoSkips ?? '', /only with --backend tensorflow/);
  if (webgpu.available) {
    // The early-submit threshold follows the adapter: 1/256 of its largest buffer, 16 MiB to 1 GiB.
    const s = webgpu.webgpu!;
    const MiB = 2 ** 20;
    assert.equal(s.pendingFlushBytes, Math.min(1024 * MiB, Math.max(16 * MiB, Math.floor(s.maxBufferSize / 256 / MiB) * MiB)));
    assert.ok(s.maxStorageBufferBindingSize > 0);
  }
  const text = formatBackends(listing);
  assert.match(text, /^tensorflow\s+(not )?available/m);
  assert.match(text, /auto {5}never: only with --backend tensorflow/);
  assert.match(text, /--backend auto picks /);
  const json = JSON.parse(JSON.stringify(listing)) as typeof listing;
  assert.equal(json.backends.length, 4);
});
