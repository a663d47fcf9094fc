/**
 * The terminal summary of one diagnosis: a few lines a person can read at the end of a run or
 * after `gatv2 diagnose`. The words follow gradients.md, "The paper's main insight".
 */
import { formatTable, sci } from '../util/table.js';
import type { NetworkDiagnostics } from '../run/diagnostics-record.js';

function pct(x: number | null): string {
  return x === null ? '-' : `${(100 * x).toFixed(1)}%`;
}

function num(x: number | null, digits = 2): string {
  return x === null ? '-' : x.toFixed(digits);
}

/** Exactly 0 prints as 0: that is the paper's case, not a small number. */
function norm(x: number): string {
  return x === 0 ? '0' : sci(x);
}

function ratio(a: number | undefined, b: number | undefined): string {
  return a === undefined || b === undefined || !(b > 0) ? '-' : norm(a / b);
}

export function summarizeDiagnostics(d: NetworkDiagnostics): string {
  const g = d.graph;
  const lines: string[] = [];
  lines.push(
    `Gradient flow (${d.mode} backward, ${d.training ? 'training' : 'evaluation'} forward, cross-entropy ${d.loss.toFixed(4)}; ` +
      'gradients without weight decay)',
  );
  lines.push(
    `graph: ${g.numNodes} nodes, ${g.numEdges} edges${g.selfLoops ? ' incl. self loops' : ''}; ` +
      `in-degree 1: ${g.inDegreeOne} nodes (${pct(g.numNodes ? g.inDegreeOne / g.numNodes : null)})` +
      (g.inDegreeZero > 0 ? `, in-degree 0: ${g.inDegreeZero}` : '') +
      `; in-degree median ${num(g.inDegree.median, 0)}, max ${num(g.inDegree.max, 0)}`,
  );
  const header = ['layer', '|dTheta_R|', '|dTheta_L|', 'R/L', '|da|', '|db|', 'starved', 'one-side', 'z<=0', 'entropy', 'uniform', 'one-hot'];
  const rows = d.layers.map((l) => [
    l.name,
    l.gradNorms.thetaR ? norm(l.gradNorms.thetaR.grad) : 'shared',
    norm(l.gradNorms.thetaL.grad),
    ratio(l.gradNorms.thetaR?.grad, l.gradNorms.thetaL.grad),
    norm(l.gradNorms.att.grad),
    l.gradNorms.bias ? norm(l.gradNorms.bias.grad) : '-',
    pct(l.starvation.activeInDegreeOneShare),
    pct(l.leaky.oneSideShare),
    pct(l.leaky.negativeShare),
    num(l.attention.entropy.median),
    pct(l.attention.nearlyUniformShare),
    pct(l.attention.nearlyOneHotShare),
  ]);
  lines.push(formatTable(header, rows));
  lines.push(
    [
      '  starved: destinations receiving gradient whose in-degree is 1: Theta_R gets exactly 0 from them',
      '  one-side: (node, head, channel) with all in-neighbours on one LeakyReLU side: no Theta_R gradient there',
      '  z<=0: pre-activations on the LeakyReLU\'s negative side',
      '  entropy: median of attention entropy / log(in-degree) over (node, head) of in-degree >= 2 (1: uniform)',
      `  uniform: that entropy > ${d.thresholds.uniformEntropy}; one-hot: largest alpha > ${d.thresholds.oneHotAlpha}`,
    ].join('\n'),
  );
  for (const l of d.layers) {
    const c = l.check;
    if (c.dxrRelErr !== null && c.dxrRelErr > 1e-4) lines.push(`warning: ${l.name}: host dL/dxr differs from the tape's by ${sci(c.dxrRelErr)} (relative)`);
    if (d.mode === 'analytic' && c.starvedRowsZero === false) lines.push(`warning: ${l.name}: an in-degree-1 node's dL/dxr row is not exactly 0`);
  }
  return lines.join('\n');
}
