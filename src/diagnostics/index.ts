/** Gradient-flow diagnostics after the paper (gradients.md, "The paper's main insight"). */
export { diagnoseNetwork, type DiagnoseOptions } from './diagnose.js';
export { appendDiagnostics, readDiagnostics, DIAGNOSTICS_FILE, type DiagnosticsRecord } from '../run/diagnostics-file.js';
export { layerFlow, type LayerFlow, type LayerFlowInput, type LayerFlowOptions } from './layer-flow.js';
export { summarizeDiagnostics } from './summary.js';
export * from '../run/diagnostics-record.js';
