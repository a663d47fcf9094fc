/**
 * `gatv2 convert SRC --out STORE`: writes a dataset (a built-in name, a CSV directory, an OGB
 * directory or another store) as a binary store (src/store/), which every command's --dataset then
 * loads without parsing. CSV directories are converted in one streaming pass per file, holding
 * far less than the store (store/convert-csv.ts). Progress goes to stderr, the result (one line,
 * or JSON with --json) to stdout.
 */
import type { Argv, CommandModule } from 'yargs';
import { createLoadProgress } from '../data/load-progress.js';
import { loadDataset, resolveDataset, type ResolvedDataset } from '../store/load.js';
import { isOgbDir } from '../data/ogb.js';
import { InputError } from '../util/errors.js';
import { convertCsvToStore } from '../store/convert-csv.js';
import type { StoreManifest } from '../store/format.js';
import { isStore } from '../store/read.js';
import { writeStore } from '../store/write.js';

interface ConvertArgs {
  src: string;
  out: string;
  featuresDtype: 'float32' | 'float16';
  overwrite: boolean;
  json: boolean;
}

const MB = 1024 * 1024;

export const convertCommand: CommandModule<object, ConvertArgs> = {
  command: 'convert <src>',
  describe: 'convert a dataset (CSV directory or built-in name) into a binary graph store',
  builder: (y) =>
    (y as Argv)
      .positional('src', { type: 'string', demandOption: true, describe: 'cora, citeseer, or a dataset directory' })
      .option('out', { type: 'string', demandOption: true, describe: 'store directory to write (written atomically)' })
      .option('features-dtype', { choices: ['float32', 'float16'] as const, default: 'float32' as const, describe: 'element type of the stored features' })
      .option('overwrite', { type: 'boolean', default: false, describe: 'replace an existing store at --out' })
      .option('json', { type: 'boolean', default: false, describe: 'print the result as JSON' })
      .example('$0 convert ./products-csv --out ./products.store', 'then: gatv2 train --dataset ./products.store ...') as unknown as Argv<ConvertArgs>,
  handler: async (args) => {
    if (!args.out) throw new InputError('--out: give the directory of the store to write');
    const t0 = performance.now();
    process.stderr.write(`reading ${args.src}\n`);
    const where = resolveDataset(args.src);
    const manifest = isStore(where.dir) || isOgbDir(where.dir) ? await convertLoaded(args) : await convertCsv(where, args);
    const seconds = (performance.now() - t0) / 1000;
    const rows = manifest.numNodes + manifest.numEdges;
    const bytes = Object.values(manifest.arrays).reduce((a, x) => a + x.bytes, 0);
    const result = {
      store: args.out,
      nodes: manifest.numNodes,
      edges: manifest.numEdges,
      features: manifest.numFeatures,
      featureKind: manifest.featureKind,
      featuresDtype: manifest.featuresDtype,
      bytes,
      seconds,
      rowsPerSecond: Math.round(rows / Math.max(seconds, 1e-9)),
    };
    if (args.json) console.log(JSON.stringify(result));
    else {
      console.log(
        `${args.out}: ${result.nodes} nodes, ${result.edges} edges, ${result.features} ${result.featureKind} features (${result.featuresDtype}), ` +
          `${(bytes / MB).toFixed(1)} MB in ${seconds.toFixed(1)} s (${result.rowsPerSecond} rows/s)`,
      );
    }
  },
};

/** A CSV directory: one streaming pass per file (store/convert-csv.ts), progress as it reads. */
async function convertCsv(where: ResolvedDataset, args: ConvertArgs): Promise<StoreManifest> {
  return convertCsvToStore(where, args.out, {
    featuresDtype: args.featuresDtype,
    overwrite: args.overwrite,
    source: args.src,
    progress: createLoadProgress({ tty: process.stderr.isTTY === true, afterMs: 0 }),
    onArray: (a) => process.stderr.write(`wrote ${a.file}: ${(a.bytes / MB).toFixed(1)} MB in ${(a.ms / 1000).toFixed(1)} s\n`),
  });
}

/** Another store or an OGB directory: loaded whole (their loaders read binary arrays), then written. */
async function convertLoaded(args: ConvertArgs): Promise<StoreManifest> {
  const t0 = performance.now();
  const ds = await loadDataset(args.src);
  for (const w of ds.warnings) process.stderr.write(`warning: ${w}\n`);
  const readS = (performance.now() - t0) / 1000;
  process.stderr.write(`read ${ds.nodeIds.length} nodes and ${ds.edgeSource.length} edges in ${readS.toFixed(1)} s\n`);
  const t1 = performance.now();
  return writeStore(ds, args.out, {
    featuresDtype: args.featuresDtype,
    overwrite: args.overwrite,
    source: args.src,
    onProgress: (p) => {
      const s = (performance.now() - t1) / 1000;
      process.stderr.write(
        `wrote ${p.array}: ${(p.bytes / MB).toFixed(1)} / ${(p.totalBytes / MB).toFixed(1)} MB (${(p.bytes / MB / Math.max(s, 1e-9)).toFixed(0)} MB/s)\n`,
      );
    },
  });
}
