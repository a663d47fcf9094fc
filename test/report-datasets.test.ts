/**
 * On the shipped Cora and CiteSeer, the diagnostics of the GAT recipe at initialisation and the
 * report built from them: the in-degree histogram covers every node, CiteSeer's isolated nodes
 * (in-degree 1 once self loops are added) are counted, the gradient checks pass, every chart is
 * in the page.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { useBackend } from '../src/backends/index.js';
import { loadDataset } from '../src/store/load.js';
import { diagnoseNetwork } from '../src/diagnostics/diagnose.js';
import { appendDiagnostics } from '../src/run/diagnostics-file.js';
import { inDegrees } from '../src/graph/layout.js';
import { buildNetworkConfig, createNetworkInputs, initNetworkParams } from '../src/model/network.js';
import { DEFAULT_MODEL } from '../src/train/config.js';
import { prepareData } from '../src/data/prepare.js';
import { splitTargets } from '../src/model/loss.js';
import { writeReport } from '../src/report/index.js';

for (const name of ['cora', 'citeseer']) {
  test(`${name}: diagnostics at initialisation and the report`, async () => {
    await useBackend('cpu');
    const ds = await loadDataset(name);
    const data = prepareData(ds, { normalizeFeatures: true, addSelfLoops: true });
    const net = buildNetworkConfig({ ...DEFAULT_MODEL, inFeatures: data.features.numFeatures, numClasses: data.numClasses });
    const inputs = createNetworkInputs(data.features, data.layout);
    const params = initNetworkParams(net, 0);
    const targets = splitTargets(ds.labels, data.splits.train, data.numClasses);
    const dir = mkdtempSync(join(tmpdir(), `gatv2-${name}-`));
    try {
      const d = await diagnoseNetwork(net, params, inputs, { targets, weightDecay: 5e-4 }, { training: false });
      const deg = inDegrees(data.layout);
      const ones = deg.filter((x) => x === 1).length;
      assert.equal(d.graph.numNodes, ds.nodeIds.length);
      assert.equal(d.graph.inDegreeOne, ones);
      if (name === 'citeseer') assert.ok(ones > 0, 'CiteSeer has isolated nodes: only their self loop remains');
      assert.equal(d.graph.inDegreeHistogram.counts.reduce((a, b) => a + b, 0), ds.nodeIds.length);
      for (const l of d.layers) {
        assert.equal(l.check.dxrRelErr, 0, `${l.name}: host loops = analytic kernels`);
        assert.equal(l.check.starvedRowsZero, true);
        assert.ok(l.check.thetaRBiasRelErr! <= 1e-5);
        assert.ok(l.gradNorms.thetaR!.grad > 0 && l.gradNorms.thetaL.grad > l.gradNorms.thetaR!.grad,
          `${l.name}: Theta_R gets less than Theta_L at init (${l.gradNorms.thetaR!.grad} vs ${l.gradNorms.thetaL.grad})`);
        assert.equal(l.starvation.inDegreeOne, ones);
      }
      appendDiagnostics(dir, 0, d);
      writeFileSync(join(dir, 'config.json'), JSON.stringify({
        format: 'gatv2-run', formatVersion: 1, createdAt: new Date().toISOString(), backend: 'cpu', network: net,
        dataset: { name, nodes: ds.nodeIds.length, features: data.features.numFeatures, classes: data.numClasses },
      }));
      const html = readFileSync(writeReport(dir), 'utf8');
      const ids = [...html.matchAll(/<canvas id="chart-([^"]+)"/g)].map((m) => m[1]);
      assert.deepEqual(ids, [
        'grad-norms', 'grad-ratios', 'starvation', 'in-degree', 'entropy', 'attention-shape',
        'entropy-hist-conv1', 'entropy-hist-conv2',
      ]);
      assert.match(html, /No metrics\.jsonl yet/);
      assert.match(html, new RegExp(`gatv2 report: ${name}`));
    } finally {
      rmSync(dir, { recursive: true, force: true });
      targets.dispose();
      tf.dispose(Object.values(params));
      inputs.dispose();
    }
  });
}
