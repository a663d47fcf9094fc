/**
 * `gatv2 predict --checkpoint DIR --out predictions.csv [--attention FILE]`: the predicted class and
 * the class probabilities of every node, under the user's own node ids and labels; optionally the
 * attention weight of every edge, layer and head.
 */
import { existsSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { checkpointOptions } from './checkpoint-options.js';
import { InputError } from '../errors.js';
import { writeTextAtomic } from '../train/atomic.js';
import { infer, loadModel } from '../train/inference.js';
import { scoreSplit, softmaxRows } from '../train/loss.js';
import { SPLITS, type Split } from '../data/dataset.js';
import type { GraphLayout } from '../graph/layout.js';

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
  const C = classNames.length;
  const probs = softmaxRows(logits, C);
  yield ['id', 'predicted', ...classNames.map((c) => `p_${c}`)].map(csvField).join(',') + '\n';
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
