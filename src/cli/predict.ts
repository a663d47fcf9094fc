/**
 * `gatv2 predict --checkpoint DIR --out predictions.csv [--attention FILE]`: the predicted class and
 * the class probabilities of every node, under the user's own node ids and labels; optionally the
 * attention weight of every edge, layer and head.
 */
import { existsSync } from 'node:fs';
import { dirname } from 'node:path';
import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { checkpointOptions } from './checkpoint-options.js';
import { InputError } from '../errors.js';
import { writeFileAtomic } from '../train/atomic.js';
import { infer, loadModel } from '../train/inference.js';
import { softmaxRows } from '../train/loss.js';
import type { GraphLayout } from '../graph/layout.js';

interface PredictArgs {
  checkpoint: string;
  out: string;
  attention?: string;
  dataset?: string;
  backend?: string;
}

/** RFC 4180 quoting where a field needs it. */
export function csvField(s: string): string {
  return /[",\r\n]|^\s|\s$/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

const num = (x: number) => String(Number(x.toPrecision(7)));

export function predictionsCsv(nodeIds: string[], classNames: string[], logits: Float32Array): string {
  const C = classNames.length;
  const probs = softmaxRows(logits, C);
  const lines = [['id', 'predicted', ...classNames.map((c) => `p_${c}`)].map(csvField).join(',')];
  for (let i = 0; i < nodeIds.length; i++) {
    let best = 0;
    for (let c = 1; c < C; c++) if (probs[i * C + c] > probs[i * C + best]) best = c;
    const p: string[] = [];
    for (let c = 0; c < C; c++) p.push(num(probs[i * C + c]));
    lines.push([csvField(nodeIds[i]), csvField(classNames[best]), ...p].join(','));
  }
  return lines.join('\n') + '\n';
}

/**
 * One row per (layer, edge, head): attention edges in PyG's order (the input edges as kept, then
 * the added self loops), mapped from the CSR positions the model works in.
 */
export function attentionCsv(nodeIds: string[], layout: GraphLayout, layers: { heads: number; values: Float32Array }[]): string {
  const posOfEdge = new Int32Array(layout.numEdges);
  for (let p = 0; p < layout.numEdges; p++) posOfEdge[layout.csrToEdgeId[p]] = p;
  const ids = nodeIds.map(csvField);
  const lines = ['layer,source,target,head,alpha'];
  layers.forEach(({ heads, values }, l) => {
    for (let k = 0; k < layout.numEdges; k++) {
      const p = posOfEdge[k];
      const prefix = `${l + 1},${ids[layout.csrSrc[p]]},${ids[layout.csrDst[p]]},`;
      for (let h = 0; h < heads; h++) lines.push(`${prefix}${h},${num(values[p * heads + h])}`);
    }
  });
  return lines.join('\n') + '\n';
}

export const predictCommand: CommandModule<object, PredictArgs> = {
  command: 'predict',
  describe: 'predict the class of every node with a trained checkpoint',
  builder: (y: Argv) =>
    checkpointOptions(y, 'predict on')
      .option('out', { type: 'string', demandOption: true, describe: 'CSV to write: id, predicted, one probability column per class' })
      .option('attention', { type: 'string', describe: 'also write attention weights: layer, source, target, head, alpha' }) as unknown as Argv<PredictArgs>,
  handler: async (args: ArgumentsCamelCase<PredictArgs>) => {
    for (const file of [args.out, args.attention]) {
      if (file !== undefined && !existsSync(dirname(file))) throw new InputError(`${file}: directory ${dirname(file)} does not exist`);
    }
    const m = await loadModel(args.checkpoint, {
      ...(args.dataset !== undefined ? { dataset: args.dataset } : {}),
      ...(args.backend !== undefined ? { backend: args.backend } : {}),
      strictLabels: false,
    });
    try {
      const r = await infer(m, args.attention !== undefined);
      const { nodeIds } = m.data.dataset;
      writeFileAtomic(args.out, predictionsCsv(nodeIds, m.checkpoint.manifest.modelConfig.classNames, r.logits));
      process.stderr.write(`wrote ${nodeIds.length} predictions to ${args.out}\n`);
      if (args.attention !== undefined) {
        writeFileAtomic(args.attention, attentionCsv(nodeIds, m.data.layout, r.attention!));
        const rows = r.attention!.reduce((a, x) => a + x.values.length, 0);
        process.stderr.write(`wrote ${rows} attention weights to ${args.attention}\n`);
      }
    } finally {
      m.dispose();
    }
  },
};
