/**
 * The report's charts as plain data (ChartSpec). The page script (src/report/html.ts) turns each
 * into a Chart.js configuration; keeping the specs free of functions lets them travel as JSON and
 * lets tests inspect them without a browser.
 */
import type { DiagnosticsRecord } from '../run/diagnostics-file.js';
import type { LayerDiagnostics, NormPair } from '../run/diagnostics-record.js';
import type { RunData } from './run-data.js';
import type { ChartSpec, SeriesSpec } from './chart-spec.js';

/** Colours per quantity (colour-blind-safe Okabe-Ito), and per split. */
const C = {
  thetaR: '#D55E00',
  thetaL: '#0072B2',
  att: '#009E73',
  bias: '#7f7f7f',
  train: '#0072B2',
  val: '#E69F00',
  test: '#009E73',
  oneSide: '#CC79A7',
  negative: '#56B4E9',
  starved: '#D55E00',
  uniform: '#E69F00',
  oneHot: '#0072B2',
  median: '#000000',
  band: '#7f7f7f',
};
const LAYER_COLORS = ['#0072B2', '#D55E00', '#009E73', '#CC79A7', '#E69F00', '#56B4E9'];

/** A log axis cannot show 0 or negatives: they become gaps (the tables print the exact value). */
function positive(y: number | null | undefined): number | null {
  return y !== null && y !== undefined && y > 0 ? y : null;
}

function value(y: number | null | undefined): number | null {
  return y === null || y === undefined || !Number.isFinite(y) ? null : y;
}

function trainingCharts(run: RunData): ChartSpec[] {
  const m = run.metrics;
  if (m.length === 0) return [];
  const pts = (f: (x: (typeof m)[number]) => number) => m.map((e) => ({ x: e.epoch, y: value(f(e)) }));
  return [
    {
      id: 'loss', section: 'training', title: 'Loss', type: 'line',
      note: 'Cross-entropy per epoch: train is the training step (with dropout), val and test are evaluation passes.',
      series: [
        { label: 'train', data: pts((e) => e.trainLoss), color: C.train },
        { label: 'val', data: pts((e) => e.valLoss), color: C.val },
        { label: 'test', data: pts((e) => e.testLoss), color: C.test },
      ],
      x: { title: 'epoch' }, y: { title: 'cross-entropy' },
    },
    {
      id: 'accuracy', section: 'training', title: 'Accuracy', type: 'line',
      note: 'Evaluation-mode accuracy after each epoch\u2019s update.',
      series: [
        { label: 'train', data: pts((e) => e.trainAcc), color: C.train },
        { label: 'val', data: pts((e) => e.valAcc), color: C.val },
        { label: 'test', data: pts((e) => e.testAcc), color: C.test },
      ],
      x: { title: 'epoch' }, y: { title: 'accuracy', format: 'percent', min: 0, max: 1 },
    },
  ];
}

type LayerPick = (l: LayerDiagnostics) => number | null | undefined;

/** One series per (quantity, layer): colour by quantity, dashes by layer (conv1 solid). */
function perLayer(diags: DiagnosticsRecord[], quantities: { label: string; color: string; pick: LayerPick }[], log: boolean): SeriesSpec[] {
  const layers = diags[diags.length - 1].layers;
  const out: SeriesSpec[] = [];
  for (const q of quantities) {
    layers.forEach((layer, l) => {
      const data = diags.map((d) => {
        const y = d.layers[l] ? q.pick(d.layers[l]) : null;
        return { x: d.epoch, y: log ? positive(y) : value(y) };
      });
      // An all-gap series stays: its legend entry says the quantity exists and is 0 throughout.
      const series: SeriesSpec = { label: `${layer.name} ${q.label}`, data, color: q.color };
      if (l % 2 === 1) series.dash = 'dash';
      out.push(series);
    });
  }
  return out;
}

const grad = (p: NormPair | null) => (p ? p.grad : null);
const ratio = (p: NormPair | null) => (p ? p.ratio : null);

function gradientCharts(diags: DiagnosticsRecord[]): ChartSpec[] {
  return [
    {
      id: 'grad-norms', section: 'gradients', title: 'Gradient norms per layer', type: 'line',
      note: '‖dL/dΘ‖ of the cross-entropy (no weight decay). Θ_R only gets gradient through the score stage, ' +
        'from pairs of in-neighbours; a gap means exactly 0 (a log axis cannot show it).',
      series: perLayer(diags, [
        { label: '\u0398_R', color: C.thetaR, pick: (l) => grad(l.gradNorms.thetaR) },
        { label: '\u0398_L', color: C.thetaL, pick: (l) => grad(l.gradNorms.thetaL) },
        { label: 'a', color: C.att, pick: (l) => grad(l.gradNorms.att) },
        { label: 'b', color: C.bias, pick: (l) => grad(l.gradNorms.bias) },
      ], true),
      x: { title: 'epoch' }, y: { title: 'gradient norm', log: true, format: 'sci' },
    },
    {
      id: 'grad-ratios', section: 'gradients', title: 'Gradient norm / weight norm', type: 'line',
      note: 'Relative size of one step\u2019s gradient: a \u0398_R line far below \u0398_L means the target projection barely learns.',
      series: perLayer(diags, [
        { label: '\u0398_R', color: C.thetaR, pick: (l) => ratio(l.gradNorms.thetaR) },
        { label: '\u0398_L', color: C.thetaL, pick: (l) => ratio(l.gradNorms.thetaL) },
        { label: 'a', color: C.att, pick: (l) => ratio(l.gradNorms.att) },
      ], true),
      x: { title: 'epoch' }, y: { title: '||grad|| / ||weight||', log: true, format: 'sci' },
    },
    {
      id: 'starvation', section: 'gradients', title: 'Where \u0398_R gets no gradient', type: 'line',
      note: 'starved: destinations receiving gradient whose in-degree is 1; one-side: (node, head, channel) whose in-neighbours ' +
        'all sit on one LeakyReLU side; z\u22640: pre-activations on the negative side.',
      series: perLayer(diags, [
        { label: 'starved', color: C.starved, pick: (l) => l.starvation.activeInDegreeOneShare },
        { label: 'one-side', color: C.oneSide, pick: (l) => l.leaky.oneSideShare },
        { label: 'z\u22640', color: C.negative, pick: (l) => l.leaky.negativeShare },
      ], false),
      x: { title: 'epoch' }, y: { title: 'share', format: 'percent', min: 0, max: 1 },
    },
  ];
}

function attentionCharts(diags: DiagnosticsRecord[]): ChartSpec[] {
  const first = diags[0], last = diags[diags.length - 1];
  const charts: ChartSpec[] = [
    {
      id: 'entropy', section: 'attention', title: 'Attention entropy / log(in-degree)', type: 'line',
      note: 'Per (node, head) of in-degree \u2265 2: 1 is uniform attention (a plain mean over the neighbours), 0 is one-hot. Solid: the median per layer (one colour each); dashed: its 10% quantile; dotted: its 90% quantile.',
      series: [
        ...perLayer(diags, [{ label: 'median', color: C.median, pick: (l) => l.attention.entropy.median }], false)
          .map((s, l) => ({ label: s.label, data: s.data, color: LAYER_COLORS[l % LAYER_COLORS.length] })),
        ...perLayer(diags, [{ label: 'q10', color: C.band, pick: (l) => l.attention.entropy.q10 }], false)
          .map((s, l) => ({ ...s, color: LAYER_COLORS[l % LAYER_COLORS.length], dash: 'dash' as const })),
        ...perLayer(diags, [{ label: 'q90', color: C.band, pick: (l) => l.attention.entropy.q90 }], false)
          .map((s, l) => ({ ...s, color: LAYER_COLORS[l % LAYER_COLORS.length], dash: 'dot' as const })),
      ],
      x: { title: 'epoch' }, y: { title: 'normalised entropy', max: 1 },
    },
    {
      id: 'attention-shape', section: 'attention', title: 'Nearly uniform and nearly one-hot attention', type: 'line',
      note: `Shares of (node, head) of in-degree \u2265 2: uniform when the normalised entropy exceeds ${last.thresholds.uniformEntropy}, ` +
        `one-hot when the largest alpha exceeds ${last.thresholds.oneHotAlpha}.`,
      series: perLayer(diags, [
        { label: 'uniform', color: C.uniform, pick: (l) => l.attention.nearlyUniformShare },
        { label: 'one-hot', color: C.oneHot, pick: (l) => l.attention.nearlyOneHotShare },
      ], false),
      x: { title: 'epoch' }, y: { title: 'share', format: 'percent', min: 0, max: 1 },
    },
  ];
  last.layers.forEach((layer, l) => {
    const h = layer.attention.entropyHistogram;
    const labels = h.counts.map((_, b) => h.edges[b].toFixed(2));
    const series: SeriesSpec[] = [];
    const firstLayer = first.layers[l];
    if (first !== last && firstLayer) {
      series.push({ label: `epoch ${first.epoch}`, data: firstLayer.attention.entropyHistogram.counts, color: '#bbbbbb' });
    }
    series.push({ label: `epoch ${last.epoch}`, data: h.counts, color: LAYER_COLORS[l % LAYER_COLORS.length] });
    charts.push({
      id: `entropy-hist-${layer.name}`, section: 'attention', title: `Attention entropy histogram, ${layer.name}`, type: 'bar',
      note: `(node, head) pairs of in-degree \u2265 2 by normalised entropy (${layer.attention.inDegreeOne} nodes of in-degree 1 left out).`,
      labels, series, x: { title: 'entropy / log(in-degree), bin start' }, y: { title: '(node, head) pairs' },
    });
  });
  return charts;
}

function graphCharts(diags: DiagnosticsRecord[]): ChartSpec[] {
  const g = diags[diags.length - 1].graph;
  const h = g.inDegreeHistogram;
  return [{
    id: 'in-degree', section: 'gradients', title: 'In-degree histogram', type: 'bar',
    note: `In-degree after self-loop handling (self loops ${g.selfLoops ? 'added' : 'not added'}). ` +
      'Red: in-degree 1, whose nodes give \u0398_R no gradient at all (the paper\u2019s pair sum is empty).',
    labels: h.labels,
    series: [{
      label: 'nodes', data: h.counts, color: '#0072B2',
      barColors: h.labels.map((l) => (l === '1' ? '#D55E00' : '#0072B2')),
    }],
    x: { title: 'in-degree' }, y: { title: 'nodes' },
  }];
}

export function buildCharts(run: RunData): ChartSpec[] {
  const d = run.diagnostics;
  return [
    ...trainingCharts(run),
    // The in-degree histogram sits with the gradient-flow charts: in-degree 1 is what starves Theta_R.
    ...(d.length > 0 ? [...gradientCharts(d), ...graphCharts(d), ...attentionCharts(d)] : []),
  ];
}
