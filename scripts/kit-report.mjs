#!/usr/bin/env node
/**
 * The reporting half of scripts/gpu-check.sh, in plain Node (no packages), so it runs wherever the
 * kit's node does (python3 may be missing on the GPU machine).
 *
 *   node kit-report.mjs summary KIND FILE     one or a few lines about a step's output (KIND: probe,
 *                                             backends, gradcheck, bench, pyg); exit 1 when it shows
 *                                             a failure (no adapter, a FAIL, a stopped mode)
 *   node kit-report.mjs same KIND A B OUT.json  whether two runs gave the same numbers (KIND digest:
 *                                             `bench --json` outputs, their paramsDigest; train:
 *                                             `train --json` outputs, every epoch's metrics but its
 *                                             time); writes OUT.json; exit 1 when they differ
 *   node kit-report.mjs final WORK OUT.json   merges WORK/ (steps.jsonl, plan.json, probe.json,
 *                                             backends.json, gradcheck.json, gradcheck-large.json, bench-*.jsonl,
 *                                             pyg-*.json, same-*.json, train-*.out, env.txt) into OUT.json and prints the final
 *                                             table; exit 0 when every required step passed
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const MiB = 1024 * 1024;

function readJson(file) {
  if (!existsSync(file)) return null;
  const text = readFileSync(file, 'utf8');
  try {
    return JSON.parse(text);
  } catch {
    // Output with other lines around the JSON (a warning printed to stdout): take the outermost object.
    const a = text.indexOf('{');
    const b = text.lastIndexOf('}');
    if (a < 0 || b <= a) return null;
    try {
      return JSON.parse(text.slice(a, b + 1));
    } catch {
      return null;
    }
  }
}

function readJsonLines(file) {
  if (!existsSync(file)) return [];
  const out = [];
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      out.push(JSON.parse(line));
    } catch {
      // a partial line (killed mid-write)
    }
  }
  return out;
}

const num = (v) => (typeof v === 'number' && Number.isFinite(v) ? v : NaN);
const fmt = (v, d = 1) => (Number.isFinite(v) ? v.toFixed(d) : '-');
const pad = (s, n) => String(s).padEnd(n);
const lpad = (s, n) => String(s).padStart(n);

function table(header, rows) {
  const w = header.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i] ?? '').length)));
  // Numbers (and '-', '1.23x') to the right, words to the left.
  const right = header.map((_, i) => rows.length > 0 && rows.every((r) => /^(-?[\d.]+x?|-|)$/.test(String(r[i] ?? ''))));
  const line = (r) => r.map((c, i) => (right[i] ? lpad(c ?? '', w[i]) : pad(c ?? '', w[i]))).join('  ').trimEnd();
  return [line(header), line(w.map((n) => '-'.repeat(n))), ...rows.map(line)].join('\n');
}

/** "nvidia hopper (NVIDIA H200); subgroups 32-32", or why there is no adapter. */
function adapterLine(probe) {
  if (!probe) return 'no probe output';
  if (!probe.adapter) return `no adapter: ${probe.error ?? 'unknown'}${probe.hint ? ` (${probe.hint})` : ''}`;
  const i = probe.adapter.info;
  const sg = probe.adapter.features.includes('subgroups') ? `subgroups ${i.subgroupMinSize ?? '?'}-${i.subgroupMaxSize ?? '?'}` : 'no subgroups';
  return `${[i.vendor, i.architecture].filter(Boolean).join(' ')} (${i.description || i.device}); ${sg}${i.isFallbackAdapter ? '; FALLBACK (software) adapter' : ''}`;
}

/** The limits that matter to the kernels and to graph size. */
function limitsLine(probe) {
  const l = probe?.adapter?.limits;
  if (!l) return '';
  return `maxStorageBufferBindingSize ${fmt(l.maxStorageBufferBindingSize / MiB, 0)} MiB, maxBufferSize ${fmt(l.maxBufferSize / MiB, 0)} MiB, ` +
    `${l.maxStorageBuffersPerShaderStage} storage buffers/stage, ${l.maxComputeWorkgroupStorageSize} B workgroup storage, ` +
    `${l.maxComputeInvocationsPerWorkgroup} invocations/workgroup, ${l.maxComputeWorkgroupsPerDimension} workgroups/dimension`;
}

function gradcheckLines(g) {
  if (!g) return { ok: false, lines: ['no gradcheck output'] };
  const lines = [];
  for (const r of g.reports ?? []) {
    const bad = (r.rows ?? []).flatMap((row) => Object.entries(row.comparisons).filter(([, c]) => !c.ok).map(([l, c]) => `${row.tensor} ${l} rel ${c.rel}`));
    const worst = Math.max(...(r.rows ?? []).flatMap((row) => Object.values(row.comparisons).map((c) => num(c.rel))).filter(Number.isFinite), 0);
    lines.push(`${r.ok ? 'PASS' : 'FAIL'} ${String(r.name).split('/').pop()} (worst rel ${worst.toExponential(1)})${bad.length ? `: ${bad.slice(0, 3).join('; ')}` : ''}`);
  }
  return { ok: g.ok === true, lines };
}

/**
 * The peak memory to compare. PyG: torch.cuda.max_memory_allocated (its peakTensorBytes). Ours: GPU
 * buffer bytes in use on webgpu (peakGpuBytesInUse), else distinct tensor buffers (peakDataBytes);
 * peakTensorBytes (tf.profile's peakBytes, a buffer counted once per tensor sharing it) only for
 * results written before those fields.
 */
const isPygResult = (r) => String(r?.backend ?? '').startsWith('pyg');
const peakOf = (r) => num(isPygResult(r) ? r.peakTensorBytes : (r.peakGpuBytesInUse ?? r.peakDataBytes ?? r.peakTensorBytes));
/** Held including the allocator's free pool: torch max_memory_reserved, our gpuPoolBytes. */
const poolOf = (r) => num(isPygResult(r) ? r.peakReservedBytes : r.gpuPoolBytes);

function benchLine(r) {
  const ms = num(r.stepMs?.median);
  return `${r.graph} ${r.mode} on ${r.backend}: ${fmt(ms)} ms/step (min ${fmt(num(r.stepMs?.min))}, max ${fmt(num(r.stepMs?.max))}), ` +
    `${fmt(num(r.edgesPerSecond) / 1e6, 2)} Medges/s, ${memoryText(r)}` +
    `${r.stopped ? `; STOPPED: ${r.stopped}` : ''}${r.kernels?.length ? `; top kernels: ${r.kernels.slice(0, 4).map((k) => `${k.name} ${fmt(k.ms, 2)}`).join(', ')}` : ''}`;
}

function memoryText(r) {
  if (r.peakDataBytes == null) return `peak tensors ${fmt(num(r.peakTensorBytes) / MiB)} MiB`;
  const gpu = r.peakGpuBytesInUse != null ? `, GPU in use ${fmt(num(r.peakGpuBytesInUse) / MiB)} MiB, GPU pool ${fmt(num(r.gpuPoolBytes) / MiB)} MiB` : '';
  return `peak buffers ${fmt(num(r.peakDataBytes) / MiB)} MiB${gpu} (tensors counted separately: ${fmt(num(r.peakTensorBytes) / MiB)} MiB)`;
}

/** The run of a `train --json` output: its summary's first run and its epochs. */
function trainOf(file) {
  const lines = readJsonLines(file);
  const run = lines.find((l) => l.type === 'summary')?.runs?.[0];
  if (!run) return null;
  return { run, epochs: lines.filter((l) => l.type === 'epoch') };
}

function trainLine({ run }) {
  return `${run.dataset} on ${run.backend}: test accuracy ${fmt(100 * num(run.best?.testAcc), 1)}% at epoch ${run.bestEpoch} ` +
    `(val ${fmt(100 * num(run.best?.valAcc), 1)}%), ${run.epochsRun} epochs in ${fmt(num(run.timeMs) / 1000, 1)} s ` +
    `(${fmt(num(run.meanEpochMs), 1)} ms/epoch)`;
}

/** Two runs' numbers, and whether they are the same (see the header). */
function same(kind, a, b, outFile) {
  const numbers = (file) => kind === 'digest'
    ? readJsonLines(file).filter((r) => r.type === 'result').map((r) => ({ graph: r.graph, mode: r.mode, paramsDigest: r.paramsDigest ?? null }))
    : readJsonLines(file).filter((r) => r.type === 'epoch').map(({ epochMs: _t, ...r }) => r);
  const A = numbers(a), B = numbers(b);
  const text = (x) => JSON.stringify(x);
  const complete = A.length > 0 && (kind !== 'digest' || A.every((r) => typeof r.paramsDigest === 'string' && r.paramsDigest !== ''));
  const equal = complete && text(A) === text(B);
  let firstDifference = null;
  if (!equal) {
    const k = A.findIndex((x, i) => text(x) !== text(B[i]));
    firstDifference = k >= 0 ? { index: k, a: A[k], b: B[k] ?? null } : { index: A.length, a: null, b: B[A.length] ?? null };
  }
  const result = { kind, same: equal, count: A.length, a: A.at(-1) ?? null, b: B.at(-1) ?? null, firstDifference };
  writeFileSync(outFile, `${JSON.stringify(result, null, 1)}\n`);
  if (!complete) console.log(`FAIL: no ${kind === 'digest' ? 'parameter digest' : 'epochs'} in ${A.length === 0 ? a : 'the first run'}`);
  else if (equal) console.log(`same: ${A.length} ${kind === 'digest' ? `result(s), parameters ${A[0].paramsDigest.slice(0, 16)}...` : `epochs, last val loss ${A.at(-1).valLoss}`} in both runs`);
  else console.log(`FAIL: the runs differ at ${kind === 'digest' ? 'result' : 'epoch line'} ${firstDifference.index + 1}: ${text(firstDifference.a).slice(0, 120)} vs ${text(firstDifference.b).slice(0, 120)}`);
  return equal ? 0 : 1;
}

function summary(kind, file) {
  switch (kind) {
    case 'probe': {
      const p = readJson(file);
      console.log(`adapter: ${adapterLine(p)}`);
      if (p?.adapter) console.log(`limits: ${limitsLine(p)}`);
      if (p?.adapter) console.log(`features: ${p.adapter.features.join(', ')}`);
      if (p?.device?.roundTrip) console.log(`device: features ${p.device.features.join(', ')}; round trip ${JSON.stringify(p.device.roundTrip)}`);
      else if (p?.device?.error) console.log(`device: FAILED: ${p.device.error}`);
      if (p?.libraries?.length) console.log(`loaded: ${p.libraries.filter((l) => !l.includes('shader_cache')).join(' ')}`);
      return p?.adapter && p?.device?.roundTrip?.join(',') === '2,4,6,8' ? 0 : 1;
    }
    case 'backends': {
      const b = readJson(file);
      if (!b) {
        console.log('no JSON from `backends --json`');
        return 1;
      }
      for (const r of b.backends) console.log(`${pad(r.name, 11)}${r.available ? `available: ${r.device}` : `not available: ${r.reason}`}${r.version ? ` [${r.version}]` : ''}`);
      if (b.auto) console.log(`auto picks ${b.auto.name}`);
      return b.backends.find((r) => r.name === 'webgpu')?.available ? 0 : 1;
    }
    case 'gradcheck': {
      const { ok, lines } = gradcheckLines(readJson(file));
      for (const l of lines) console.log(l);
      return ok ? 0 : 1;
    }
    case 'bench': {
      const rs = readJsonLines(file).filter((r) => r.type === 'result');
      for (const r of rs) console.log(benchLine(r));
      if (rs.length === 0) console.log('no result lines');
      return rs.length > 0 && rs.every((r) => !r.stopped && Number.isFinite(num(r.stepMs?.median))) ? 0 : 1;
    }
    case 'train': {
      const t = trainOf(file);
      if (!t) {
        console.log('no summary line from `train --json`');
        return 1;
      }
      console.log(trainLine(t));
      return 0;
    }
    case 'pyg': {
      const p = readJson(file);
      if (p?.pyg) console.log(`PyG ${p.pyg.torch_geometric} / torch ${p.pyg.torch} on ${p.pyg.device}: ${fmt(p.pyg.stepMs.median)} ms/step, peak ${fmt(num(p.pyg.peakTensorBytes) / MiB)} MiB, reserved ${fmt(num(p.pyg.peakReservedBytes) / MiB)} MiB`);
      else console.log(`PyG did not run: ${p?.pygSkipped ?? 'no output'}`);
      return p?.pyg ? 0 : 1;
    }
    default:
      console.log(`unknown kind ${kind}`);
      return 2;
  }
}

function final(work, outFile) {
  const steps = readJsonLines(join(work, 'steps.jsonl'));
  const plan = readJson(join(work, 'plan.json')) ?? { graphs: [] };
  const probe = readJson(join(work, 'probe.json'));
  const backends = readJson(join(work, 'backends.json'));
  const gradcheck = readJson(join(work, 'gradcheck.json'));
  const gradcheckLarge = readJson(join(work, 'gradcheck-large.json'));
  const files = existsSync(work) ? readdirSync(work).sort() : [];
  const bench = files.filter((f) => /^bench-.*\.jsonl$/.test(f)).flatMap((f) => readJsonLines(join(work, f)).filter((r) => r.type === 'result').map((r) => ({ ...r, file: f })));
  const pyg = files.filter((f) => /^pyg-.*\.json$/.test(f)).map((f) => ({ key: f.replace(/^pyg-|\.json$/g, ''), ...(readJson(join(work, f)) ?? {}) }));
  const env = existsSync(join(work, 'env.txt')) ? readFileSync(join(work, 'env.txt'), 'utf8') : '';
  const sames = files.filter((f) => /^same-.*\.json$/.test(f)).map((f) => ({ key: f.replace(/^same-|\.json$/g, ''), ...(readJson(join(work, f)) ?? {}) }));
  const trains = files.filter((f) => /^train-.*\.out$/.test(f)).map((f) => ({ key: f.replace(/^train-|\.out$/g, ''), ...(trainOf(join(work, f)) ?? {}) }));

  const required = steps.filter((s) => s.required);
  const ok = required.length > 0 && required.every((s) => s.status === 'ok');
  const results = {
    ok, mode: plan.mode, startedAt: plan.startedAt, finishedAt: new Date().toISOString(), env, plan, steps,
    adapter: probe, backends, gradcheck, gradcheckLarge,
    bench: bench.map(({ kernels, ...r }) => ({ ...r, kernels: kernels?.slice(0, 20) })),
    pyg: pyg.map((p) => ({ key: p.key, result: p.pyg ?? null, skipped: p.pygSkipped ?? null })),
    same: sames,
    train: trains.map(({ key, run }) => ({ key, run: run ?? null })),
  };
  writeFileSync(outFile, `${JSON.stringify(results, null, 1)}\n`);

  const out = [];
  out.push('');
  out.push('='.repeat(100));
  out.push(`gatv2 GPU check (${plan.mode ?? '?'}): ${ok ? 'PASS' : 'FAIL'}`);
  out.push(`adapter: ${adapterLine(probe)}`);
  if (probe?.adapter) out.push(`limits: ${limitsLine(probe)}`);
  if (plan.machine) out.push(`machine: ${plan.machine}`);
  out.push('');
  const smi = steps.some((s) => s.smiPeakMiB != null);
  out.push(table(['step', 'status', 'seconds', ...(smi ? ['GPU MiB'] : []), 'note'], steps.map((s) => [
    s.step, s.status + (s.required ? '' : ' (optional)'), fmt(num(s.seconds)), ...(smi ? [s.smiPeakMiB == null ? '' : String(s.smiPeakMiB)] : []),
    String(s.note ?? '').slice(0, 100),
  ])));
  if (smi) out.push('GPU MiB: most GPU memory in use (nvidia-smi, every 200 ms) while the step ran, all processes');
  const gc = gradcheckLines(gradcheck);
  if (gradcheck) out.push(`gradcheck on webgpu: ${gc.lines.filter((l) => l.startsWith('PASS')).length}/${gc.lines.length} fixtures pass`);
  if (gradcheckLarge) out.push(`gradcheck-large on webgpu: ${gradcheckLines(gradcheckLarge).lines.join('; ')}`);

  const rows = [];
  for (const g of plan.graphs) {
    const ours = bench.filter((r) => r.graph === g.label);
    const p = pyg.find((q) => q.key === g.key)?.pyg ?? null;
    const model = `${g.layers}x${g.heads}x${g.hidden}`;
    const stepOf = (r, isPyg) => steps.find((s) => s.step === (isPyg ? `pyg-${g.key}` : String(r.file ?? '').replace(/\.jsonl$/, '')));
    const line = (who, r, isPyg) => {
      const st = stepOf(r, isPyg);
      const ms = num(r.stepMs?.median);
      const peak = peakOf(r);
      const pool = poolOf(r);
      const pygPeak = p ? peakOf(p) : NaN;
      const pygPool = p ? poolOf(p) : NaN;
      return [g.key, model, who, r.mode, String(r.numEdges), fmt(ms), fmt(num(r.edgesPerSecond) / 1e6, 2), fmt(peak / MiB),
        !isPyg && p ? `${fmt(ms / p.stepMs.median, 2)}x` : '', !isPyg && pygPeak > 0 ? `${fmt(peak / pygPeak, 2)}x` : '',
        fmt(pool / MiB), !isPyg && pygPool > 0 && pool > 0 ? `${fmt(pool / pygPool, 2)}x` : '',
        r.stopped ? `stopped: ${r.stopped}`.slice(0, 60) : st && st.status !== 'ok' ? `step ${st.status}: ${st.note ?? ''}`.slice(0, 60) : ''];
    };
    // A graph's plan may name the modes it benches (the power-law one: analytic only).
    for (const mode of g.modes ?? ['analytic', 'autograd']) {
      const r = ours.find((x) => x.mode === mode);
      rows.push(r ? line(`gatv2 ${r.backend}`, r, false) : [g.key, model, 'gatv2 webgpu', mode, '', '-', '-', '-', '', '', '-', '', 'no result']);
    }
    const pk = pyg.find((q) => q.key === g.key);
    if (p) rows.push(line(p.backend, p, true));
    else rows.push([g.key, model, 'pyg', 'autograd', '', '-', '-', '-', '', '', '-', '', pk ? `not run: ${String(pk.pygSkipped ?? 'failed').slice(0, 60)}` : 'not run']);
  }
  out.push('');
  out.push(`step time: median of ${plan.steps} steps after ${plan.warmup} warm-up (forward + backward + Adam, loss read back / CUDA synchronised)`);
  out.push('peak: ours = most GPU buffer bytes in use during one step on webgpu (TF.js buffer manager; older results: tf.profile peakBytes, ' +
    'which counts shared buffers more than once); PyG = torch.cuda.max_memory_allocated over the timed steps');
  out.push('pool: memory held, free pool included: ours = TF.js buffer manager\'s allocated bytes for the mode; PyG = torch.cuda.max_memory_reserved');
  out.push('time/PyG, mem/PyG, pool/PyG: ours divided by PyG\'s (below 1: ours is faster / smaller); model: layers x heads x channels');
  out.push(table(['graph', 'model', 'who', 'grad', 'edges', 'step ms', 'Medges/s', 'peak MiB', 'time/PyG', 'mem/PyG', 'pool MiB', 'pool/PyG', 'note'], rows));
  out.push('');
  out.push(verdict({ plan, bench, pyg, gradcheckLarge, sames, trains }));
  out.push('='.repeat(100));
  console.log(out.join('\n'));
  return ok ? 0 : 1;
}

/**
 * The closing table: ours against PyG on CUDA on the ogbn-arxiv-sized graph (step time and peak
 * memory), the large gradcheck, determinism, and the Cora training runs.
 */
function verdict({ plan, bench, pyg, gradcheckLarge, sames, trains }) {
  const rows = [];
  const g = plan.graphs.find((x) => x.key === 'arxiv');
  if (g) {
    const ours = bench.find((r) => r.graph === g.label && r.mode === 'analytic');
    const p = pyg.find((q) => q.key === 'arxiv')?.pyg ?? null;
    const what = `arxiv-size graph (${g.nodes} nodes, ${g.layers} layers ${g.heads}x${g.hidden})`;
    const ms = (r) => num(r?.stepMs?.median);
    rows.push([`${what}: step time`, ours ? `ours ${fmt(ms(ours))} ms` : 'ours: no result',
      p ? `${p.backend} ${fmt(ms(p))} ms` : 'PyG: not run', ours && p ? `${fmt(ms(ours) / ms(p), 2)}x` : '']);
    rows.push([`${what}: peak memory`, ours ? `ours ${fmt(peakOf(ours) / MiB)} MiB` : 'ours: no result',
      p ? `PyG ${fmt(peakOf(p) / MiB)} MiB` : 'PyG: not run', ours && p && peakOf(p) > 0 ? `${fmt(peakOf(ours) / peakOf(p), 2)}x` : '']);
  }
  rows.push(['large gradcheck (8,300 nodes, hub) on webgpu', gradcheckLarge ? (gradcheckLarge.ok ? 'PASS' : 'FAIL') : 'not run', '', '']);
  const det = ['bench', 'train'].map((k) => sames.find((x) => x.key === k));
  const detText = (x) => (x ? (x.same ? 'same' : 'DIFFERENT') : 'not run');
  rows.push(['deterministic (same seed, two processes)', det.every((x) => x?.same) ? 'yes' : 'NO',
    `bench digests: ${detText(det[0])}`, `Cora epochs: ${detText(det[1])}`]);
  for (const t of trains) {
    rows.push([`Cora training, run ${t.key}`, t.run ? `test ${fmt(100 * num(t.run.best?.testAcc), 1)}% (epoch ${t.run.bestEpoch})` : 'no result',
      t.run ? `${t.run.epochsRun} epochs, ${fmt(num(t.run.timeMs) / 1000, 1)} s` : '', t.run ? `${fmt(num(t.run.meanEpochMs), 1)} ms/epoch` : '']);
  }
  return `verdict\n${table(['check', 'result', '', ''], rows)}`;
}

const [cmd, a, b, c, d] = process.argv.slice(2);
if (cmd === 'summary') process.exitCode = summary(a, b);
else if (cmd === 'same') process.exitCode = same(a, b, c, d);
else if (cmd === 'final') process.exitCode = final(a, b);
else {
  console.error('usage: kit-report.mjs summary KIND FILE | same KIND A B OUT.json | final WORKDIR OUT.json');
  process.exitCode = 2;
}
