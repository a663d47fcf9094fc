/**
 * writeReport(runDir): reads a run directory and writes its self-contained report.html.
 * A session directory of several seeds (seed-<k>/ subdirectories) gets one report per seed and
 * an index page linking them.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../util/atomic.js';
import type { DiagnosticsRecord } from '../run/diagnostics-file.js';
import { buildCharts } from './charts.js';
import { classificationTables } from './classification-tables.js';
import { escapeHtml, renderReport, type Table } from './html.js';
import { CONFIG_FILE, METRICS_FILE, readRun, type RunData } from './run-data.js';
import { DIAGNOSTICS_FILE } from '../run/diagnostics-file.js';

export const REPORT_FILE = 'report.html';

function sci(x: number | null | undefined): string {
  return x === null || x === undefined || !Number.isFinite(x) ? '-' : x === 0 ? '0' : x.toExponential(2);
}

function pct(x: number | null | undefined): string {
  return x === null || x === undefined || !Number.isFinite(x) ? '-' : `${(100 * x).toFixed(1)}%`;
}

function fixed(x: number | null | undefined, digits: number): string {
  return x === null || x === undefined || !Number.isFinite(x) ? '-' : x.toFixed(digits);
}

function runTable(run: RunData): Table | null {
  const i = run.info, m = run.metrics;
  const rows: string[][] = [];
  const ds = i?.dataset;
  if (ds) rows.push(['dataset', `${ds.name ?? '?'}: ${ds.nodes ?? '?'} nodes, ${ds.features ?? '?'} features, ${ds.classes ?? '?'} classes`]);
  const layers = i?.network?.layers;
  if (layers) rows.push(['model', layers.map((l) => `${l.heads}\u00d7${l.outChannels}${l.concat ? '' : ' (mean)'}`).join(' \u2192 ')]);
  const c = i?.config;
  if (c) {
    rows.push(['training', `${c.optimizer?.name ?? '?'} lr ${c.optimizer?.lr ?? '?'}, weight decay ${c.weightDecay ?? '?'}, ${c.grad ?? '?'} gradients, seed ${c.seed ?? '?'}, backend ${i?.backend ?? '?'}`]);
  }
  if (m.length > 0) {
    const best = [...m].reverse().find((e) => e.best) ?? null;
    rows.push(['epochs', `${m[m.length - 1].epoch}${c?.epochs ? ` of at most ${c.epochs}` : ''}`]);
    if (best) rows.push(['best epoch', `${best.epoch}: val acc ${pct(best.valAcc)}, test acc ${pct(best.testAcc)}, val loss ${fixed(best.valLoss, 4)}`]);
  }
  return rows.length > 0 ? { caption: 'Run', header: [], rows } : null;
}

function graphTable(d: DiagnosticsRecord): Table {
  const g = d.graph;
  return {
    caption: 'Graph (in-degree after self-loop handling)',
    header: ['nodes', 'edges', 'self loops', 'in-degree 1', 'in-degree 0', 'median in-degree', 'mean', 'max'],
    rows: [[
      String(g.numNodes), String(g.numEdges), g.selfLoops ? 'added' : 'not added',
      `${g.inDegreeOne} (${pct(g.numNodes ? g.inDegreeOne / g.numNodes : null)})`, String(g.inDegreeZero),
      fixed(g.inDegree.median, 0), fixed(g.inDegree.mean, 2), fixed(g.inDegree.max, 0),
    ]],
  };
}

function flowTable(diags: DiagnosticsRecord[]): Table {
  const picked = diags.length > 1 ? [diags[0], diags[diags.length - 1]] : diags;
  const rows: string[][] = [];
  for (const d of picked) {
    for (const l of d.layers) {
      const r = l.gradNorms.thetaR;
      rows.push([
        `epoch ${d.epoch}`, l.name,
        r ? sci(r.grad) : 'shared', sci(l.gradNorms.thetaL.grad),
        r && l.gradNorms.thetaL.grad > 0 ? sci(r.grad / l.gradNorms.thetaL.grad) : '-',
        sci(l.gradNorms.att.grad), sci(l.gradNorms.bias?.grad),
        pct(l.starvation.activeInDegreeOneShare), pct(l.leaky.oneSideShare), pct(l.leaky.negativeShare),
        fixed(l.attention.entropy.median, 3), pct(l.attention.nearlyUniformShare), pct(l.attention.nearlyOneHotShare),
      ]);
    }
  }
  const one = <T>(values: T[]) => (values.every((v) => v === values[0]) ? values[0] : null);
  const mode = one(picked.map((d) => d.mode)) ?? 'mixed';
  const training = one(picked.map((d) => d.training));
  const forward = training === null ? 'mixed' : training ? 'training' : 'evaluation';
  return {
    caption: `Gradient flow (${mode} backward, ${forward} forward; cross-entropy gradients without weight decay)`,
    header: ['epoch', 'layer', '|d\u0398_R|', '|d\u0398_L|', '\u0398_R/\u0398_L', '|da|', '|db|', 'starved', 'one-side', 'z\u22640', 'entropy', 'uniform', 'one-hot'],
    rows,
  };
}

const EXPLANATION = [
  'GATv2 scores an edge j \u2192 i as e<sub>ij</sub> = a \u00b7 LeakyReLU(\u0398<sub>R</sub>h<sub>i</sub> + \u0398<sub>L</sub>h<sub>j</sub>). ' +
    'The gradient \u0398<sub>R</sub> receives from destination i is a sum over <em>pairs</em> of its in-neighbours, ' +
    '\u00bd \u03a3<sub>j,k</sub> \u03b1<sub>ij</sub>\u03b1<sub>ik</sub>(A<sub>ij</sub> \u2212 A<sub>ik</sub>)(s<sub>ij</sub> \u2212 s<sub>ik</sub>) ' +
    '(gradients.md, \u201cThe paper\u2019s main insight\u201d). It is exactly zero when i has a single in-neighbour (e.g. only its self loop), ' +
    'and zero in a channel when all of i\u2019s neighbours sit on the same side of the LeakyReLU. \u0398<sub>L</sub> also carries the messages, ' +
    'so it always gets gradient.',
  '<b>starved</b>: share of the destinations receiving gradient whose in-degree is 1. <b>one-side</b>: share of (node, head, channel) ' +
    'of in-degree \u2265 2 with all in-neighbours on one LeakyReLU side. <b>z\u22640</b>: share of pre-activations on the negative side. ' +
    '<b>entropy</b>: median attention entropy divided by log(in-degree), 1 meaning uniform attention (a GCN-like average) and 0 one-hot.',
];

export function renderRunReport(run: RunData): string {
  const notices: string[] = [];
  if (!run.info) notices.push(`No ${CONFIG_FILE} in ${run.dir}: the run's options are unknown.`);
  if (run.metrics.length === 0) notices.push(`No ${METRICS_FILE} yet: no loss or accuracy curves.`);
  if (run.diagnostics.length === 0) notices.push(`No ${DIAGNOSTICS_FILE}: this run recorded no gradient-flow diagnostics.`);
  const tables: Table[] = [];
  const rt = runTable(run);
  if (rt) tables.push(rt);
  if (run.summary?.classification) tables.push(...classificationTables(run.summary.classification, run.summary.bestEpoch ?? 0));
  if (run.diagnostics.length > 0) {
    tables.push(graphTable(run.diagnostics[run.diagnostics.length - 1]));
    tables.push(flowTable(run.diagnostics));
  }
  const name = run.info?.dataset?.name ?? run.info?.config?.dataset ?? 'run';
  const subtitle = [run.dir];
  if (run.info?.createdAt) subtitle.push(`started ${run.info.createdAt}`);
  if (run.diagnostics.length > 0) {
    const d = run.diagnostics;
    subtitle.push(`diagnostics at ${d.length} epoch${d.length > 1 ? 's' : ''} (${d[0].epoch}\u2013${d[d.length - 1].epoch})`);
  }
  return renderReport({
    title: `gatv2 report: ${name}`,
    subtitle, tables, notices,
    explanation: run.diagnostics.length > 0 ? EXPLANATION : [],
    charts: buildCharts(run),
  });
}

function seedDirs(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => /^seed-\d+$/.test(f) && statSync(join(dir, f)).isDirectory())
    .sort((a, b) => Number(a.slice(5)) - Number(b.slice(5)));
}

function indexPage(dir: string, seeds: string[]): string {
  const items = seeds.map((s) => `<li><a href="${escapeHtml(`${s}/${REPORT_FILE}`)}">${escapeHtml(s)}</a></li>`).join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>gatv2 reports</title>
<style>body { font: 14px/1.45 system-ui, sans-serif; margin: 16px 20px; }</style></head>
<body><h1>gatv2 reports</h1><p>${escapeHtml(dir)}: one run per seed.</p><ul>
${items}
</ul></body></html>
`;
}

/**
 * Writes report.html into runDir and returns its path. A directory of several seeds gets one
 * report per seed directory plus an index.
 */
export function writeReport(runDir: string): string {
  if (!existsSync(runDir)) throw new Error(`${runDir}: no such run directory`);
  const seeds = existsSync(join(runDir, METRICS_FILE)) ? [] : seedDirs(runDir);
  const path = join(runDir, REPORT_FILE);
  if (seeds.length > 0) {
    for (const s of seeds) writeReport(join(runDir, s));
    writeFileAtomic(path, indexPage(runDir, seeds));
    return path;
  }
  writeFileAtomic(path, renderRunReport(readRun(runDir)));
  return path;
}
