/**
 * The report page: one self-contained HTML file (Chart.js inlined, data inlined as JSON, no
 * external reference), readable without a network. Charts have fixed sizes and no animation, so
 * a headless browser's screenshot shows them fully drawn; after drawing, the page script marks
 * each canvas with data-drawn and data-rect (its page position), which the screenshot test reads
 * back through --dump-dom.
 */
import type { ChartSpec } from './chart-spec.js';
import { chartJsSource } from './chartjs-source.js';

export const CHART_WIDTH = 540;
export const CHART_HEIGHT = 300;

export function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** JSON that cannot end the <script> element it sits in. */
function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

export interface Table {
  caption: string;
  /** Column titles; empty for a key-value table. */
  header: string[];
  rows: string[][];
}

export interface ReportPage {
  title: string;
  /** Lines under the title (plain text). */
  subtitle: string[];
  tables: Table[];
  /** Paragraphs of explanation (HTML allowed: written by us, not from data). */
  explanation: string[];
  /** Messages about missing parts (plain text). */
  notices: string[];
  charts: ChartSpec[];
}

const SECTIONS: { key: ChartSpec['section']; title: string }[] = [
  { key: 'training', title: 'Training' },
  { key: 'gradients', title: 'Gradient flow and the graph' },
  { key: 'attention', title: 'Attention' },
];

const STYLE = `
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #222; background: #fff; margin: 0; padding: 12px 16px; }
h1 { font-size: 22px; margin: 0 0 4px; }
h2 { font-size: 17px; margin: 22px 0 8px; border-bottom: 1px solid #ddd; padding-bottom: 3px; }
.sub { color: #555; margin: 0; }
.notice { background: #fff4e0; border-left: 4px solid #E69F00; padding: 6px 10px; margin: 8px 0; }
.explain { max-width: 1140px; color: #333; }
table { border-collapse: collapse; margin: 8px 0 14px; font-size: 13px; }
caption { text-align: left; font-weight: 600; padding-bottom: 4px; }
th, td { border: 1px solid #ddd; padding: 3px 8px; text-align: right; white-space: nowrap; }
th:first-child, td:first-child { text-align: left; }
th { background: #f4f4f4; }
table.kv td { text-align: left; }
table.kv td:first-child { font-weight: 600; }
.grid { display: grid; grid-template-columns: repeat(auto-fill, ${CHART_WIDTH + 18}px); gap: 14px; }
figure { margin: 0; border: 1px solid #e4e4e4; padding: 8px; width: ${CHART_WIDTH}px; }
figcaption { font-size: 12px; color: #555; margin-top: 4px; }
figcaption b { color: #222; font-size: 13px; }
canvas { display: block; }
.error { color: #b00; font-size: 12px; }
code { background: #f4f4f4; padding: 0 3px; }
`;

/** Runs in the page: Chart.js configurations from the specs, then the marks the test reads. */
const PAGE_SCRIPT = `
(function () {
  var specs = JSON.parse(document.getElementById('report-data').textContent);
  Chart.defaults.animation = false;
  Chart.defaults.font.family = 'system-ui, -apple-system, "Segoe UI", Roboto, sans-serif';
  var pow10 = function (v) { var l = Math.log10(v); return Math.abs(l - Math.round(l)) < 1e-9; };
  var formats = {
    percent: function (v) { return Math.round(v * 100) + '%'; },
    sci: function (v) { return pow10(v) ? Number(v).toExponential(0) : ''; },
    plain: undefined
  };
  var marker = { id: 'gatv2Drawn', afterRender: function (chart) { chart.canvas.setAttribute('data-drawn', 'true'); } };
  function axis(a, isX, spec) {
    var o = { title: { display: true, text: a.title }, ticks: {} };
    if (isX) o.type = spec.type === 'bar' ? 'category' : 'linear';
    else o.type = a.log ? 'logarithmic' : 'linear';
    if (a.min !== undefined) o.min = a.min;
    if (a.max !== undefined) o.max = a.max;
    var f = formats[a.format || 'plain'];
    if (f) o.ticks.callback = f;
    if (isX && spec.type === 'line') o.ticks.precision = 0;
    return o;
  }
  specs.forEach(function (spec) {
    var canvas = document.getElementById('chart-' + spec.id);
    try {
      var datasets = spec.series.map(function (s) {
        var d = { label: s.label, data: s.data, borderColor: s.color, backgroundColor: s.barColors || s.color };
        // Hollow legend boxes, so a dashed series shows its dashes there.
        if (spec.type === 'line') d.backgroundColor = 'rgba(0,0,0,0)';
        if (spec.type === 'line') {
          d.borderWidth = 1.8; d.pointRadius = s.data.length > 60 ? 0 : 2; d.spanGaps = false;
          if (s.dash) d.borderDash = s.dash === 'dot' ? [2, 3] : [6, 4];
        }
        return d;
      });
      new Chart(canvas, {
        type: spec.type,
        data: spec.type === 'bar' ? { labels: spec.labels, datasets: datasets } : { datasets: datasets },
        options: {
          responsive: false,
          plugins: {
            legend: { position: 'bottom', labels: { boxWidth: 26, boxHeight: 8, font: { size: 11 } } },
            title: { display: false }
          },
          scales: { x: axis(spec.x, true, spec), y: axis(spec.y, false, spec) }
        },
        plugins: [marker]
      });
    } catch (e) {
      canvas.setAttribute('data-error', String(e && e.message || e));
      var err = document.getElementById('error-' + spec.id);
      if (err) err.textContent = 'chart failed: ' + String(e && e.message || e);
    }
  });
  var drawn = 0;
  Array.prototype.forEach.call(document.querySelectorAll('canvas'), function (c) {
    var r = c.getBoundingClientRect();
    c.setAttribute('data-rect', [r.left + window.scrollX, r.top + window.scrollY, r.width, r.height].map(Math.round).join(','));
    if (c.getAttribute('data-drawn') === 'true') drawn++;
  });
  document.body.setAttribute('data-charts-drawn', String(drawn));
})();
`;

/** A table without header is a key-value list: left-aligned, first column bold. */
function renderTable(t: Table): string {
  const head = t.header.length > 0 ? `<tr>${t.header.map((h) => `<th>${escapeHtml(h)}</th>`).join('')}</tr>\n` : '';
  const body = t.rows.map((r) => `<tr>${r.map((c) => `<td>${escapeHtml(c)}</td>`).join('')}</tr>`).join('\n');
  const cls = t.header.length > 0 ? '' : ' class="kv"';
  return `<table${cls}><caption>${escapeHtml(t.caption)}</caption>\n${head}${body}\n</table>`;
}

function renderFigure(c: ChartSpec): string {
  return `<figure id="figure-${c.id}">
<canvas id="chart-${c.id}" width="${CHART_WIDTH}" height="${CHART_HEIGHT}" role="img" aria-label="${escapeHtml(c.title)}"></canvas>
<figcaption><b>${escapeHtml(c.title)}</b><br>${escapeHtml(c.note)}</figcaption>
<div class="error" id="error-${c.id}"></div>
</figure>`;
}

export function renderReport(page: ReportPage): string {
  const sections = SECTIONS.map((s) => {
    const charts = page.charts.filter((c) => c.section === s.key);
    if (charts.length === 0) return '';
    return `<h2>${s.title}</h2>\n<div class="grid">\n${charts.map(renderFigure).join('\n')}\n</div>`;
  }).join('\n');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(page.title)}</title>
<style>${STYLE}</style>
</head>
<body>
<h1>${escapeHtml(page.title)}</h1>
${page.subtitle.map((l) => `<p class="sub">${escapeHtml(l)}</p>`).join('\n')}
${page.notices.map((n) => `<p class="notice">${escapeHtml(n)}</p>`).join('\n')}
${page.tables.map(renderTable).join('\n')}
<div class="explain">${page.explanation.map((p) => `<p>${p}</p>`).join('\n')}</div>
${sections}
<script>${chartJsSource()}</script>
<script type="application/json" id="report-data">${scriptJson(page.charts)}</script>
<script>${PAGE_SCRIPT}</script>
</body>
</html>
`;
}
