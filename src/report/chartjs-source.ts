/**
 * The Chart.js UMD bundle (the installed chart.js 4.6.1), read once to be inlined into the report,
 * so the page opens without a network. The package's export map does not list dist/chart.umd.js,
 * so it is found next to the package's resolved entry point.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

let cached: string | undefined;

export function chartJsPath(): string {
  const require = createRequire(import.meta.url);
  // "chart.js" resolves to dist/chart.cjs for require; the UMD bundle sits beside it.
  return join(dirname(require.resolve('chart.js')), 'chart.umd.js');
}

/** The bundle's source, safe to place inside a <script> element. */
export function chartJsSource(): string {
  if (cached !== undefined) return cached;
  const src = readFileSync(chartJsPath(), 'utf8')
    // Nothing to fetch: the source map is not shipped with the report.
    .replace(/\n\/\/# sourceMappingURL=\S*\s*$/, '\n')
    .replace(/<\/script/gi, '<\\/script');
  return (cached = src);
}
