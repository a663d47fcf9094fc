/**
 * --diagnostics as hooks of a training run: the trainer calls them (src/train/run-hooks.ts), the
 * engines that do the work (src/diagnostics, src/report) stay out of it. Per epoch due, the
 * gradient-flow diagnosis appended to diagnostics.jsonl; at the end of the run, a summary of the
 * last diagnosis and report.html, named in the progress notes.
 */
import { appendDiagnostics, diagnoseNetwork, summarizeDiagnostics, type NetworkDiagnostics } from '../diagnostics/index.js';
import { writeReport } from '../report/index.js';
import type { RunContext, RunHooks } from '../train/run-hooks.js';

export function diagnosticsHooks({ dir, config, reporter }: RunContext): RunHooks {
  if (!config.diagnostics) return {};
  // The last diagnosis of this run (none yet when a resumed run stops before its next one).
  let last: NetworkDiagnostics | null = null;
  return {
    async diagnose({ epoch, net, params, inputs, objective, forward }) {
      last = await diagnoseNetwork(net, params, inputs, objective, forward);
      appendDiagnostics(dir, epoch, last);
    },
    afterRun() {
      if (last) reporter.note(summarizeDiagnostics(last));
      reporter.note(`report: ${writeReport(dir)}`);
    },
  };
}
