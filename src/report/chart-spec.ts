/**
 * A chart as plain data: what src/report/charts.ts builds and the page script of
 * src/report/html.ts turns into a Chart.js configuration. Free of functions, so specs travel as
 * JSON and tests inspect them without a browser.
 */

export type Point = { x: number; y: number | null };

export interface SeriesSpec {
  label: string;
  /** Points (line charts) or values per category (bar charts). */
  data: Point[] | (number | null)[];
  color: string;
  /** Dashed or dotted line: tells layers (or quantiles) apart where colour tells quantities apart. */
  dash?: 'dash' | 'dot';
  /** Bar colours per category (overrides color), e.g. to mark in-degree 1. */
  barColors?: string[];
}

export interface AxisSpec {
  title: string;
  log?: boolean;
  /** How tick labels are printed. */
  format?: 'percent' | 'sci' | 'plain';
  min?: number;
  max?: number;
}

export interface ChartSpec {
  id: string;
  section: 'training' | 'gradients' | 'attention';
  title: string;
  /** One or two sentences under the chart: what to look for. */
  note: string;
  type: 'line' | 'bar';
  /** Category labels of a bar chart. */
  labels?: string[];
  series: SeriesSpec[];
  x: AxisSpec;
  y: AxisSpec;
}
