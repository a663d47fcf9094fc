/** The run report: a self-contained report.html of a run directory. */
export { writeReport, renderRunReport, REPORT_FILE } from './write.js';
export { buildCharts, type ChartSpec, type SeriesSpec, type AxisSpec } from './charts.js';
export { readRun, type RunData, type RunInfo } from './run-data.js';
export { chartJsPath } from './chartjs-source.js';
