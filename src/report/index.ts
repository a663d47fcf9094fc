/** The run report: a self-contained report.html of a run directory. */
export { writeReport, renderRunReport, REPORT_FILE } from './write.js';
export { buildCharts } from './charts.js';
export type { ChartSpec, SeriesSpec, AxisSpec } from './chart-spec.js';
export { readRun, type RunData, type RunInfo } from './run-data.js';
export { chartJsPath } from './chartjs-source.js';
