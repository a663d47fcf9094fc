/**
 * `gatv2 gradcheck`: proves the analytic backward equal to autodiff, to a float64 reference and
 * to PyTorch Geometric's numbers. Exit 0 when every tensor is within tolerance, 1 when one is not,
 * 2 on bad input.
 */
import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { useBackend } from '../backends/index.js';
import { EXIT_CHECK_FAILED, EXIT_OK } from '../util/errors.js';
import { checkCheckpoint } from '../check/checkpoint-check.js';
import { checkFixture, checkRandom, type CheckReport } from '../check/gradcheck.js';
import { listFixtureFiles, loadFixture } from '../check/fixture.js';
import type { GradMode } from '../ops/graph-tensors.js';
import { formatTable, sci } from '../util/table.js';
import { checkInteger } from './option-values.js';
import { InputError } from '../util/errors.js';

interface GradcheckArgs {
  fixture?: string;
  checkpoint?: string;
  dataset?: string;
  split: 'train' | 'val' | 'test';
  backend: string;
  mode: 'analytic' | 'autograd' | 'both';
  json: boolean;
  nodes: number;
  edges: number;
  features: number;
  channels: number;
  heads: number[];
  seed: number;
  concat: boolean;
  edgeDim: number;
  residual: boolean;
  shareWeights: boolean;
  bias: boolean;
  selfLoops: boolean;
  negativeSlope: number;
  isolated: number;
  duplicates: number;
  hub: number;
  fdEntries: number;
}

function printReport(r: CheckReport): void {
  const labels = [...new Set(r.rows.flatMap((row) => Object.keys(row.comparisons)))];
  const header = ['tensor', ...labels.flatMap((l) => [`${l} abs`, 'rel']), 'ok'];
  const rows = r.rows.map((row) => [
    row.tensor,
    ...labels.flatMap((l) => {
      const c = row.comparisons[l];
      return c ? [sci(c.maxAbs), sci(c.rel)] : ['', ''];
    }),
    Object.values(row.comparisons).every((c) => c.ok) ? 'ok' : 'FAIL',
  ]);
  const tol = [...new Set(r.rows.flatMap((row) => Object.entries(row.comparisons).map(([l, c]) => `${l} ${sci(c.tol)}`)))];
  console.log(`\n${r.name}  [backend ${r.backend}]  ${r.ok ? 'PASS' : 'FAIL'}`);
  console.log(formatTable(header, rows));
  console.log(`tolerance (relative): ${tol.join('; ')}`);
}

/** The random case's sizes: counts that are whole numbers, and edges that have somewhere to go. */
function checkRandomCase(a: GradcheckArgs): void {
  for (const [flag, v, min] of [
    ['--nodes', a.nodes, 1], ['--edges', a.edges, 0], ['--features', a.features, 1], ['--channels', a.channels, 1],
    ['--seed', a.seed, 0], ['--edge-dim', a.edgeDim, 0], ['--isolated', a.isolated, 0], ['--duplicates', a.duplicates, 0],
    ['--hub', a.hub, 0], ['--fd-entries', a.fdEntries, 0],
  ] as const) checkInteger(flag, v, min);
  for (const h of a.heads) checkInteger('--heads', h, 1);
  if (a.isolated >= a.nodes && a.edges + a.hub > 0) {
    throw new InputError(`--isolated ${a.isolated}: every one of the ${a.nodes} nodes would be isolated, with edges to place; use fewer than --nodes`);
  }
  if (a.duplicates > 0 && a.edges === 0) throw new InputError('--duplicates needs --edges > 0 (it duplicates random edges)');
}

export const gradcheckCommand: CommandModule<object, GradcheckArgs> = {
  command: 'gradcheck',
  describe: 'Check the analytic gradients against autodiff, a float64 reference, finite differences and PyG fixtures',
  builder: (y: Argv) =>
    y
      .option('fixture', { type: 'string', describe: 'PyG reference file, or a directory of them (format: test/fixtures/pyg-gatv2/README.md)' })
      .option('checkpoint', { type: 'string', describe: 'A trained run (or checkpoint) directory: check on its weights and real data' })
      .option('dataset', { type: 'string', describe: 'With --checkpoint: dataset to run on (default: the one it was trained on)' })
      .option('split', { choices: ['train', 'val', 'test'] as const, default: 'train' as const, describe: 'With --checkpoint: nodes the loss is taken over' })
      .conflicts('fixture', 'checkpoint')
      .option('backend', { type: 'string', default: 'cpu', describe: 'TF.js backend to run on (auto, webgpu, tensorflow, wasm, cpu)' })
      .option('mode', { choices: ['analytic', 'autograd', 'both'] as const, default: 'both' as const, describe: 'Which backward to check against a fixture' })
      .option('json', { type: 'boolean', default: false, describe: 'Print one machine-readable JSON report' })
      .group(['nodes', 'edges', 'features', 'channels', 'heads', 'seed', 'concat', 'edge-dim', 'residual', 'share-weights', 'bias', 'self-loops', 'negative-slope', 'isolated', 'duplicates', 'hub', 'fd-entries'], 'Random case (without --fixture):')
      .option('nodes', { type: 'number', default: 30, describe: 'Nodes' })
      .option('edges', { type: 'number', default: 90, describe: 'Random edges' })
      .option('features', { type: 'number', default: 6, describe: 'Input features F' })
      .option('channels', { type: 'number', default: 5, describe: 'Channels per head C' })
      .option('heads', { type: 'array', number: true, default: [1, 4, 8], describe: 'Head counts H to check (one case each)' })
      .option('seed', { type: 'number', default: 0, describe: 'Seed of the random case' })
      .option('concat', { type: 'boolean', default: true, describe: 'Concatenate heads (--no-concat: mean)' })
      .option('edge-dim', { type: 'number', default: 0, describe: 'Edge feature width (0: none)' })
      .option('residual', { type: 'boolean', default: false })
      .option('share-weights', { type: 'boolean', default: false })
      .option('bias', { type: 'boolean', default: true })
      .option('self-loops', { type: 'boolean', default: true, describe: 'PyG add_self_loops' })
      .option('negative-slope', { type: 'number', default: 0.2 })
      .option('isolated', { type: 'number', default: 2, describe: 'Nodes with no incoming edge' })
      .option('duplicates', { type: 'number', default: 3, describe: 'Duplicated edges' })
      .option('hub', { type: 'number', default: 0, describe: 'Extra in-edges of node 0' })
      .option('fd-entries', { type: 'number', default: 64, describe: 'Finite-difference entries per tensor' })
      .example('$0 gradcheck --fixture test/fixtures/pyg-gatv2 --backend wasm', 'every PyG fixture, both modes')
      .example('$0 gradcheck --heads 4 --hub 500 --isolated 3', 'a random graph with a hub of 500 in-edges')
      .example('$0 gradcheck --checkpoint runs/cora-x --dataset cora', 'a trained model on real data') as unknown as Argv<GradcheckArgs>,
  handler: async (args: ArgumentsCamelCase<GradcheckArgs>) => {
    const backend = await useBackend(args.backend);
    const reports: CheckReport[] = [];
    if (args.checkpoint) {
      for (const r of await checkCheckpoint({ checkpoint: args.checkpoint, dataset: args.dataset, backend, split: args.split }, args.seed)) {
        reports.push(r);
        if (!args.json) printReport(r);
      }
    } else if (args.fixture) {
      const files = listFixtureFiles(args.fixture);
      const fixtures = files.map((f) => loadFixture(f)); // all validated before any run
      const modes: GradMode[] = args.mode === 'both' ? ['analytic', 'autograd'] : [args.mode];
      for (const fx of fixtures) {
        const r = await checkFixture(fx, modes, backend);
        reports.push(r);
        if (!args.json) printReport(r);
      }
    } else {
      checkRandomCase(args);
      for (const heads of args.heads) {
        const r = await checkRandom({
          numNodes: args.nodes, numEdges: args.edges, inChannels: args.features, outChannels: args.channels, heads,
          concat: args.concat, edgeDim: args.edgeDim > 0 ? args.edgeDim : null, residual: args.residual,
          shareWeights: args.shareWeights, bias: args.bias, addSelfLoops: args.selfLoops, negativeSlope: args.negativeSlope,
          isolated: args.isolated, duplicates: args.duplicates, hubInDegree: args.hub, seed: args.seed, fdEntries: args.fdEntries,
        }, backend);
        reports.push(r);
        if (!args.json) printReport(r);
      }
    }
    const ok = reports.every((r) => r.ok);
    if (args.json) console.log(JSON.stringify({ ok, backend, reports }, null, 1));
    else console.log(`\n${reports.filter((r) => r.ok).length}/${reports.length} cases within tolerance`);
    process.exitCode = ok ? EXIT_OK : EXIT_CHECK_FAILED;
  },
};
