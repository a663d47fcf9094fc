/**
 * `gatv2 predict --checkpoint DIR --out predictions.csv [--attention FILE]`: the predicted class and
 * the class probabilities of every node, under the user's own node ids and labels; optionally the
 * attention weight of every edge, layer and head.
 */
import { closeSync, existsSync, openSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { checkpointOptions } from './checkpoint-options.js';
import { InputError } from '../util/errors.js';
import { writeTextAtomic } from '../util/atomic.js';
import { infer, scoreStoreFromFiles } from '../train/inference.js';
import { readManifest } from '../run/checkpoint.js';
import { scoreSplitOf } from '../train/node-scores.js';
import { StoreReader } from '../store/read.js';
import { readFully, writeFully } from '../util/positional-io.js';
import { scoreSplit, softmaxRows } from '../model/loss.js';
import { SPLITS, type Split } from '../data/dataset.js';
import type { GraphLayout } from '../graph/layout.js';
import { loadModel, resolveCheckpointDir } from '../run/saved-model.js';

interface PredictArgs {
  checkpoint: string;
  out: string;
  attention?: string;
  dataset?: string;
  backend?: string;
  json: boolean;
}

/** RFC 4180 quoting where a field needs it. */
export function csvField(s: string): string {
  return /[",\r\n]|^\s|\s$/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

const num = (x: number) => String(Number(x.toPrecision(7)));

/** The predictions CSV, a line at a time (header first), each ending in a newline. */
export function* predictionsCsv(nodeIds: string[], classNames: string[], logits: Float32Array): Generator<string> {
  yield predictionsHeader(classNames);
  yield* predictionRows(nodeIds, classNames, logits);
}

function predictionsHeader(classNames: string[]): string {
  return ['id', 'predicted', ...classNames.map((c) => `p_${c}`)].map(csvField).join(',') + '\n';
}

/** The lines of nodes nodeIds[k], whose logits are row k of `logits`. */
function* predictionRows(nodeIds: string[], classNames: string[], logits: Float32Array): Generator<string> {
  const C = classNames.length;
  const probs = softmaxRows(logits, C);
  for (let i = 0; i < nodeIds.length; i++) {
    let best = 0;
    for (let c = 1; c < C; c++) if (probs[i * C + c] > probs[i * C + best]) best = c;
    const p: string[] = [];
    for (let c = 0; c < C; c++) p.push(num(probs[i * C + c]));
    yield [csvField(nodeIds[i]), csvField(classNames[best]), ...p].join(',') + '\n';
  }
}

/**
 * One row per (layer, edge, head), a line at a time: attention edges in PyG's order (the input
 * edges as kept, then the added self loops), mapped from the CSR positions the model works in.
 * Streamed: at millions of edges the whole CSV is more than a JavaScript string can hold.
 */
export function* attentionCsv(nodeIds: string[], layout: GraphLayout, layers: { heads: number; values: Float32Array }[]): Generator<string> {
  const posOfEdge = new Int32Array(layout.numEdges);
  for (let p = 0; p < layout.numEdges; p++) posOfEdge[layout.csrToEdgeId[p]] = p;
  const ids = nodeIds.map(csvField);
  yield 'layer,source,target,head,alpha\n';
  for (let l = 0; l < layers.length; l++) {
    const { heads, values } = layers[l];
    for (let k = 0; k < layout.numEdges; k++) {
      const p = posOfEdge[k];
      const prefix = `${l + 1},${ids[layout.csrSrc[p]]},${ids[layout.csrDst[p]]},`;
      for (let h = 0; h < heads; h++) yield `${prefix}${h},${num(values[p * heads + h])}\n`;
    }
  }
}

/** An output path must name a file in an existing directory. */
export function checkOutputFile(flag: string, file: string): void {
  if (existsSync(file) && statSync(file).isDirectory()) throw new InputError(`${flag} ${file}: is a directory; name a file to write`);
  if (!existsSync(dirname(file))) throw new InputError(`${flag} ${file}: directory ${dirname(file)} does not exist`);
}

/** What `predict --json` prints. */
export interface PredictSummary {
  checkpoint: string;
  epoch: number;
  dataset: string;
  backend: string;
  predictions: { file: string; rows: number };
  attention?: { file: string; rows: number; layers: number; edges: number };
  /** Per split, over its nodes labelled with a class the model knows (splits without any left out). */
  accuracy: Partial<Record<Split, { nodes: number; accuracy: number }>>;
}

export const predictCommand: CommandModule<object, PredictArgs> = {
  command: 'predict',
  describe: 'predict the class of every node with a trained checkpoint',
  builder: (y: Argv) =>
    checkpointOptions(y, 'predict on')
      .option('out', { type: 'string', demandOption: true, describe: 'CSV to write: id, predicted, one probability column per class' })
      .option('attention', { type: 'string', describe: 'also write attention weights: layer, source, target, head, alpha' })
      .option('json', { type: 'boolean', default: false, describe: 'print a JSON summary (files, rows, accuracy on labelled nodes) on stdout' }) as unknown as Argv<PredictArgs>,
  handler: async (args: ArgumentsCamelCase<PredictArgs>) => {
    checkOutputFile('--out', args.out);
    if (args.attention !== undefined) checkOutputFile('--attention', args.attention);
    // A store without --attention: from its files, in bounded memory.
    const fromFiles = args.attention === undefined ? await predictFromStoreFiles(args) : null;
    if (fromFiles) {
      if (args.json) process.stdout.write(JSON.stringify(fromFiles, null, 2) + '\n');
      else process.stderr.write(`wrote ${fromFiles.predictions.rows} predictions to ${args.out}\n`);
      return;
    }
    const m = await loadModel(args.checkpoint, {
      ...(args.dataset !== undefined ? { dataset: args.dataset } : {}),
      ...(args.backend !== undefined ? { backend: args.backend } : {}),
      strictLabels: false,
    });
    try {
      const r = await infer(m, args.attention !== undefined);
      const { nodeIds } = m.data.dataset;
      const classNames = m.checkpoint.manifest.modelConfig.classNames;
      writeTextAtomic(args.out, predictionsCsv(nodeIds, classNames, r.logits));
      const summary: PredictSummary = {
        checkpoint: m.checkpoint.dir, epoch: m.checkpoint.manifest.epoch, dataset: m.data.dataset.name, backend: m.backend,
        predictions: { file: args.out, rows: nodeIds.length }, accuracy: {},
      };
      if (!args.json) process.stderr.write(`wrote ${nodeIds.length} predictions to ${args.out}\n`);
      if (args.attention !== undefined) {
        writeTextAtomic(args.attention, attentionCsv(nodeIds, m.data.layout, r.attention!));
        const rows = r.attention!.reduce((a, x) => a + x.values.length, 0);
        summary.attention = { file: args.attention, rows, layers: r.attention!.length, edges: m.data.layout.numEdges };
        if (!args.json) process.stderr.write(`wrote ${rows} attention weights to ${args.attention}\n`);
      }
      for (const s of SPLITS) {
        const nodes = m.data.splits[s].filter((i) => m.labels[i] >= 0);
        if (s === 'unlabeled' || nodes.length === 0) continue;
        summary.accuracy[s] = { nodes: nodes.length, accuracy: scoreSplit(r.logits, m.labels, nodes, r.numClasses).accuracy };
      }
      if (args.json) process.stdout.write(JSON.stringify(summary, null, 2) + '\n');
    } finally {
      m.dispose();
    }
  },
};

/** Nodes per piece of the predictions CSV written from a store. */
const CSV_ROWS = 65536;

/**
 * predict on a store (scoreStoreFromFiles): each chunk's logits go to a temporary file beside
 * --out as the layer-wise pass makes them, then the CSV is written from that file and the store's
 * node ids a piece at a time, so neither N x classes logits nor N id strings are held. Null where
 * the store must be loaded whole (see scoreStoreFromFiles).
 */
async function predictFromStoreFiles(args: PredictArgs): Promise<PredictSummary | null> {
  const classNames = readManifest(resolveCheckpointDir(args.checkpoint)).modelConfig.classNames;
  const rowBytes = 4 * classNames.length;
  const spill = join(dirname(resolve(args.out)), `.${basename(args.out)}.logits-${process.pid}.tmp`);
  // Opened by the first chunk: a dataset that is not a store never makes the file.
  let fd: number | null = null;
  try {
    const scoring = await scoreStoreFromFiles(args.checkpoint, {
      ...(args.dataset !== undefined ? { dataset: args.dataset } : {}),
      ...(args.backend !== undefined ? { backend: args.backend } : {}),
      strictLabels: false,
    }, (firstRow, logits) => {
      fd ??= openSync(spill, 'w+');
      writeFully(fd, new Uint8Array(logits.buffer, logits.byteOffset, logits.byteLength), firstRow * rowBytes);
    });
    if (scoring === null) return null;
    const N = scoring.labels.length;
    const logitsFd = fd!;
    const reader = new StoreReader(scoring.store.dir, scoring.store.display);
    try {
      writeTextAtomic(args.out, (function* () {
        yield predictionsHeader(classNames);
        for (let lo = 0; lo < N; lo += CSV_ROWS) {
          const n = Math.min(CSV_ROWS, N - lo);
          const logits = new Float32Array((n * rowBytes) / 4);
          readFully(logitsFd, new Uint8Array(logits.buffer), lo * rowBytes, spill);
          const offs = reader.readOffsets('node_id_offsets', lo, n + 1);
          const blob = Buffer.from((reader.readRaw('node_ids', offs[0]!, offs[n]! - offs[0]!) as Uint8Array).buffer);
          const ids = Array.from({ length: n }, (_, k) => blob.toString('utf8', offs[k]! - offs[0]!, offs[k + 1]! - offs[0]!));
          yield* predictionRows(ids, classNames, logits);
        }
      })());
    } finally {
      reader.close();
    }
    const summary: PredictSummary = {
      checkpoint: scoring.checkpoint.dir, epoch: scoring.checkpoint.epoch, dataset: scoring.dataset, backend: scoring.backend,
      predictions: { file: args.out, rows: N }, accuracy: {},
    };
    for (const s of SPLITS) {
      const nodes = scoring.splits[s].filter((i) => scoring.labels[i]! >= 0);
      if (s === 'unlabeled' || nodes.length === 0) continue;
      summary.accuracy[s] = { nodes: nodes.length, accuracy: scoreSplitOf(scoring.scores, scoring.labels, nodes).accuracy };
    }
    return summary;
  } finally {
    if (fd !== null) {
      closeSync(fd);
      rmSync(spill, { force: true });
    }
  }
}
