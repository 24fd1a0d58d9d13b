/**
 * docs/BENCHMARKS.md and its plots from the benchmark's records. Everything in the report is
 * computed here from the records, including the verdicts on the issue's targets.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { settingsFor } from '../engine/solvers/index.js';
import type { Task } from '../engine/tasks.js';
import { type BenchRecord, type ClassicalRecord, type Plan, type RestoreRecord, type RooflineRecord, type ScalingRecord, TASKS, taskById, VARIANTS, variantById } from './config.js';
import { boxSide } from './images.js';
import { type Chart, COLORS, type Series, writeCharts } from './plot.js';
import { tunedSettings } from './tuned.js';

export interface BenchMeta {
  command: string;
  plan: string;
  started: string;
  finished: string;
  durationS: number;
  /** More than 1 when the run was interrupted and completed with --resume. */
  invocations: number;
  cpuModel: string;
  cores: number;
  memGiB: number;
  freeGiBStart: number;
  loadStart: number[];
  loadEnd: number[];
  /** 1-minute load average after each run. */
  loadSamples: number[];
  node: string;
  os: string;
  ort: string;
  modelDir: string;
  modelName: string;
  modelParameters: number;
  modelProvenance: Record<string, unknown>;
  modelSha: string;
  hasVjp: boolean;
  photos: string[];
  /** Things the run decided (e.g. a size skipped for memory), printed in the report. */
  notes: string[];
}

const MiB = 2 ** 20;
const mean = (xs: number[]): number => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN);

/** Student's t, 97.5% quantile, by degrees of freedom (1..30; beyond, the normal's 1.96). */
const T975 = [
  12.71, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131, 2.12, 2.11, 2.101, 2.093, 2.086, 2.08, 2.074, 2.069, 2.064, 2.06, 2.056, 2.052, 2.048, 2.045,
  2.042,
];

interface Interval {
  n: number;
  mean: number;
  /** Half-width of the 95% interval of the mean. */
  half: number;
}

function interval(xs: number[]): Interval {
  const n = xs.length;
  const m = mean(xs);
  if (n < 2) return { n, mean: m, half: NaN };
  const sd = Math.sqrt(xs.reduce((s, x) => s + (x - m) ** 2, 0) / (n - 1));
  return { n, mean: m, half: ((T975[n - 2] ?? 1.96) * sd) / Math.sqrt(n) };
}

const pm = (iv: Interval): string => (Number.isFinite(iv.half) ? `± ${iv.half.toFixed(2)}` : '');

/**
 * The strongest simple method on a task by mean PSNR over the images: the scikit-image baselines,
 * the operator's estimate (back-projected bicubic, the grey image, ...) and, for denoising, the network once.
 */
function bestFloor(task: string, matrix: RestoreRecord[], classical: ClassicalRecord[]): (Interval & { name: string }) | undefined {
  const cands: (Interval & { name: string })[] = [];
  for (const [method, cs] of by(
    classical.filter((r) => r.task === task),
    (r) => r.method,
  ))
    cands.push({ name: `scikit-image: ${method}`, ...interval(cs.map((r) => r.psnr)) });
  for (const v of ['estimate', 'one-call']) {
    const rs = matrix.filter((r) => r.task === task && r.variant === v);
    if (rs.length) cands.push({ name: v === 'estimate' ? "the operator's estimate" : 'one network call', ...interval(rs.map((r) => r.psnr)) });
  }
  return cands.reduce<(Interval & { name: string }) | undefined>((a, b) => (!a || b.mean > a.mean ? b : a), undefined);
}
const sum = (xs: number[]): number => xs.reduce((a, b) => a + b, 0);
const median = (xs: number[]): number => {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const f = (v: number, d = 2): string => (Number.isFinite(v) ? v.toFixed(d) : '-');
const pct = (v: number): string => (Number.isFinite(v) ? `${(100 * v).toFixed(1)}%` : '-');
const secs = (ms: number): string => (!Number.isFinite(ms) ? '-' : ms < 10_000 ? (ms / 1000).toFixed(2) : (ms / 1000).toFixed(1));
const row = (cells: (string | number)[]): string => `| ${cells.join(' | ')} |`;
const head = (cells: string[]): string => `${row(cells)}\n${row(cells.map(() => '---'))}`;

function describeVariant(id: string, task: Task = 'denoise'): string {
  const v = variantById(id);
  if (v.solver === 'pinv') return 'A^+ y, no network: the pseudo-inverse of the measurement';
  if (v.solver === 'estimate') return "no network: the operator's estimate (harmonic fill, back-projected bicubic, gradient-regularised inverse, grey image, y); VML-MAP starts from it";
  if (v.solver === 'one-call') return "one forward: D(y, sigma_y) = y - sigma_y eps(y), Tweedie's formula (denoising only)";
  if (v.matched) return `as ${v.solver} ${v.preset} but from VML-MAP balanced's start (the estimate plus noise to its first level) with its number of network calls, per task`;
  const s = v.tuned ? tunedSettings(v.solver as 'diffpir' | 'ddnm', task) : settingsFor(v.solver, v.preset, task, { steps: v.steps });
  const tuned = v.tuned ? `its own best per task (bench/tuned-baselines.ts, docs/BASELINES.md); for ${task}: ` : '';
  switch (s.solver) {
    case 'vml-map':
    case 'vml-fp': {
      const x = s.settings;
      return `per task (engine/solvers/presets.ts, docs/PRESETS.md); for ${task}: ${x.levels} levels x ${x.inner} inner steps, ${x.stepRule} rule, sigma from ${x.sigmaStart}${v.forwardOnly ? ', forward-only model (finite-difference J^T v)' : ''}`;
    }
    case 'dps':
      return `${s.settings.steps} steps, zeta ${s.settings.zeta}, sigma from ${s.settings.sigmaStart}`;
    case 'diffpir':
      return `${tuned}${s.settings.steps} steps, lambda ${s.settings.lambda}, zeta ${s.settings.zeta}, sigma from ${s.settings.sigmaStart}${s.settings.start === 'estimate' ? " (the operator's estimate plus noise)" : ''}`;
    case 'ddnm':
      return `${tuned}${s.settings.steps} steps, eta ${s.settings.eta}, sigma from ${s.settings.sigmaStart}${s.settings.start === 'estimate' ? " (the operator's estimate plus noise)" : ''}`;
  }
}

interface Agg {
  variant: string;
  n: number;
  images: number[];
  psnr: number;
  ssim: number;
  nfe: number;
  vjps: number;
  wallMs: number;
  onnxMs: number;
  onnxShare: number;
  peakRss: number;
  approximate: boolean;
}

function aggregate(rs: RestoreRecord[]): Agg {
  return {
    variant: rs[0]!.variant,
    n: rs.length,
    images: rs.map((r) => r.imageIndex),
    psnr: mean(rs.map((r) => r.psnr)),
    ssim: mean(rs.map((r) => r.ssim)),
    nfe: mean(rs.map((r) => r.nfe)),
    vjps: mean(rs.map((r) => r.vjps)),
    wallMs: mean(rs.map((r) => r.wallMs)),
    onnxMs: mean(rs.map((r) => r.onnxMs)),
    onnxShare: sum(rs.map((r) => r.onnxMs)) / sum(rs.map((r) => r.wallMs)),
    peakRss: Math.max(...rs.map((r) => r.peakRss)),
    approximate: rs.some((r) => r.approximateVjp),
  };
}

function by<T>(xs: T[], key: (x: T) => string): Map<string, T[]> {
  const m = new Map<string, T[]>();
  for (const x of xs) {
    const k = key(x);
    m.set(k, [...(m.get(k) ?? []), x]);
  }
  return m;
}

const variantOrder = (id: string): number => VARIANTS.findIndex((v) => v.id === id);

/** Aggregates of the given variants on one task, restricted to the images all of them ran on. */
function onCommonImages(rs: RestoreRecord[], variants: string[]): Map<string, Agg> | undefined {
  const sets = variants.map((v) => new Set(rs.filter((r) => r.variant === v).map((r) => r.imageIndex)));
  if (sets.some((s) => !s.size)) return undefined;
  const common = [...sets[0]!].filter((i) => sets.every((s) => s.has(i)));
  if (!common.length) return undefined;
  const out = new Map<string, Agg>();
  for (const v of variants) out.set(v, aggregate(rs.filter((r) => r.variant === v && common.includes(r.imageIndex))));
  return out;
}

const FAMILY_STYLE: Record<string, { color: string; marker: Series['marker'] }> = {
  'VML-MAP': { color: COLORS[0]!, marker: 'circle' },
  'VML-MAP fixed point': { color: COLORS[0]!, marker: 'circle' },
  'VML-MAP gradient': { color: COLORS[5]!, marker: 'square' },
  'DiffPIR matched': { color: COLORS[6]!, marker: 'diamond' },
  'DDNM matched': { color: COLORS[7]!, marker: 'diamond' },
  DPS: { color: COLORS[1]!, marker: 'triangle' },
  DiffPIR: { color: COLORS[2]!, marker: 'diamond' },
  DDNM: { color: COLORS[3]!, marker: 'diamond' },
  'DiffPIR tuned': { color: COLORS[2]!, marker: 'square' },
  'DDNM tuned': { color: COLORS[3]!, marker: 'square' },
  'one call': { color: COLORS[4]!, marker: 'circle' },
};

function shortNote(variant: string, task: Task): string {
  const v = variantById(variant);
  if (v.solver === 'vml-map' || v.solver === 'vml-fp') return v.preset;
  if (v.solver === 'pinv' || v.solver === 'estimate' || v.solver === 'one-call' || v.matched) return '';
  const s = v.tuned ? tunedSettings(v.solver as 'diffpir' | 'ddnm', task) : settingsFor(v.solver, v.preset, task, { steps: v.steps });
  return 'steps' in s.settings ? String(s.settings.steps) : v.preset;
}

function taskChart(task: string, aggs: Agg[], footer: string, size: number): Chart {
  const fams = by(
    aggs.filter((a) => variantById(a.variant).solver !== 'pinv'),
    (a) => variantById(a.variant).family,
  );
  const most = Math.max(...aggs.map((a) => a.n));
  const imagesNote = (as: Agg[]): string => {
    const n = Math.max(...as.map((a) => a.n));
    return n < most ? (n === 1 ? ` (image ${as[0]!.images[0]! + 1} only)` : ` (${n} images)`) : '';
  };
  const series: Series[] = [...fams.entries()].map(([fam, as]) => ({
    label: `${fam}${imagesNote(as)}`,
    color: FAMILY_STYLE[fam]?.color ?? COLORS[8]!,
    marker: FAMILY_STYLE[fam]?.marker,
    // Points measured on different images are not joined (their means do not compare); each says its count.
    line: as.length > 1 && as.every((a) => a.n === as[0]!.n),
    points: as.map((a) => {
      const note = shortNote(a.variant, taskById(task).spec.task);
      const fewer = as.some((b) => b.n !== a.n) && a.n < most;
      return { x: a.wallMs / 1000, y: a.psnr, note: fewer ? `${note} (${a.n} images)`.trim() : note };
    }),
  }));
  const floor = aggs.find((a) => variantById(a.variant).solver === 'pinv');
  return {
    title: `${taskById(task).label} (${size}x${size}, ${most === 1 ? 'one image' : `mean over ${most} images`})`,
    xLabel: 'wall time per image (s, log scale)',
    yLabel: 'PSNR (dB)',
    xLog: true,
    series,
    hlines: floor ? [{ y: floor.psnr, label: `A^+ y: ${floor.psnr.toFixed(2)} dB`, color: '#555' }] : [],
    footer,
  };
}

function loaded(meta: BenchMeta): boolean {
  const samples = [meta.loadStart[0] ?? 0, ...meta.loadSamples, meta.loadEnd[0] ?? 0];
  // The benchmark's own worker keeps up to `cores` onnxruntime threads and a Node thread busy: a
  // median at or below cores + 1 is this command alone (measured: 2.7 on 2 cores, idle otherwise).
  return median(samples) > meta.cores + 1;
}

export async function writeReport(outPath: string, imgDir: string, meta: BenchMeta, plan: Plan, records: BenchRecord[], failures: { job: string; error: string }[]): Promise<void> {
  mkdirSync(dirname(outPath), { recursive: true });
  mkdirSync(imgDir, { recursive: true });
  const imgRel = (name: string): string => relative(dirname(outPath), join(imgDir, name)).split('\\').join('/');
  const restores = records.filter((r): r is RestoreRecord => r.kind === 'restore');
  const classical = records.filter((r): r is ClassicalRecord => r.kind === 'classical');
  const scaling = records.filter((r): r is ScalingRecord => r.kind === 'scaling').sort((a, b) => a.size - b.size);
  const roof = records.find((r): r is RooflineRecord => r.kind === 'roofline');
  const matrixSize = plan.matrix[0]!.size;
  const matrixTasks = [...new Set(plan.matrix.flatMap((b) => b.tasks))].filter((t) => !taskById(t).size);
  const matrix = restores.filter((r) => r.size === matrixSize && matrixTasks.includes(r.task));
  const byTask = by(matrix, (r) => r.task);
  const machine = `${meta.cpuModel}, ${meta.cores} cores (os.cpus())`;
  const footer = `${meta.command} | ${machine} | ${meta.started.slice(0, 10)}`;
  const cmp = plan.compare;
  const L: string[] = [];
  const p = (s = ''): void => {
    L.push(s);
  };

  // ---------------------------------------------------------------------------------------- head
  p('# Benchmarks: VML-MAP against DPS, DiffPIR and DDNM');
  p();
  p(
    `Generated by \`${meta.command}\` (bench/) on ${meta.started.slice(0, 16).replace('T', ' ')} UTC in ${(meta.durationS / 60).toFixed(1)} min${meta.invocations > 1 ? ` of running time over ${meta.invocations} invocations (--resume), the last finished ${(meta.finished ?? meta.started).slice(0, 16).replace('T', ' ')} UTC` : ''}. Do not edit by hand: every number, table and plot here comes from that command.`,
  );
  p();
  p(
    `- **Machine**: ${machine}, ${meta.memGiB.toFixed(0)} GiB, ${meta.os}, Node ${meta.node}, onnxruntime-node ${meta.ort} on its CPU execution provider with the engine's session options (engine/model/providers.ts: graph optimisation \`all\`, ${meta.cores} intra-op threads). No GPU.`,
  );
  const ls = meta.loadSamples;
  p(
    `- **Load**: 1-minute load average ${f(meta.loadStart[0] ?? NaN)} at the start, ${f(meta.loadEnd[0] ?? NaN)} at the end${ls.length ? `, median ${f(median(ls))} (min ${f(Math.min(...ls))}, max ${f(Math.max(...ls))}) over the runs` : ''}, on ${meta.cores} cores.` +
      (loaded(meta)
        ? ' **Timings were taken on a loaded machine** (other processes, e.g. a model training run, shared the cores): absolute wall times are pessimistic, ratios between solvers measured under the same load hold better.'
        : ''),
  );
  const prov = meta.modelProvenance;
  const samples = typeof prov.samplesSeen === 'number' ? `${prov.samplesSeen} training samples seen` : typeof prov.kind === 'string' ? prov.kind : 'provenance not recorded';
  p(
    `- **Model**: \`${meta.modelDir}\` (${meta.modelName}; ${Number.isFinite(meta.modelParameters) ? meta.modelParameters.toLocaleString('en-US') : '?'} parameters; ${samples}; eps.onnx sha256 ${meta.modelSha.slice(0, 12)}; ${meta.hasVjp ? 'with' : 'without'} a VJP graph).`,
  );
  const untrained = /random weights|not trained/i.test(JSON.stringify(prov)) || (typeof prov.samplesSeen === 'number' && prov.samplesSeen < 1_000_000);
  if (untrained) p('  **This model is not (fully) trained**: the quality numbers below measure the plumbing and the solvers on a weak prior, not the method at its best.');
  p(`- **Plan**: \`${plan.name}\`${plan.name === 'quick' ? ' (a subset for checking that the benchmark works; the full plan is `npm run bench`)' : ''}.`);
  p();

  // --------------------------------------------------------------------------------- targets
  p('## The targets');
  p();
  const t1: { task: string; vml: Agg; dps: Agg }[] = [];
  const t2: { task: string; vml: Agg; diffpir: Agg; ddnm: Agg }[] = [];
  const t2Tuned: typeof t2 = [];
  for (const task of matrixTasks) {
    const rs = byTask.get(task) ?? [];
    const a = onCommonImages(rs, [cmp.vml, cmp.dps]);
    if (a) t1.push({ task, vml: a.get(cmp.vml)!, dps: a.get(cmp.dps)! });
    const b = onCommonImages(rs, [cmp.vml, cmp.diffpir, cmp.ddnm]);
    if (b) t2.push({ task, vml: b.get(cmp.vml)!, diffpir: b.get(cmp.diffpir)!, ddnm: b.get(cmp.ddnm)! });
    const c = cmp.tuned && onCommonImages(rs, [cmp.vml, cmp.tuned.diffpir, cmp.tuned.ddnm]);
    if (c) t2Tuned.push({ task, vml: c.get(cmp.vml)!, diffpir: c.get(cmp.tuned!.diffpir)!, ddnm: c.get(cmp.tuned!.ddnm)! });
  }
  const vmlLabel = variantById(cmp.vml).label;
  const dpsLabel = variantById(cmp.dps).label;
  const t1Quality = t1.filter((r) => r.vml.psnr >= r.dps.psnr).length;
  const t1Speed = t1.filter((r) => r.vml.wallMs <= r.dps.wallMs / 5).length;
  const t1Met = t1.length === matrixTasks.length && t1Quality === t1.length && t1Speed === t1.length;
  const t2Ahead = t2.filter((r) => r.vml.psnr > Math.max(r.diffpir.psnr, r.ddnm.psnr)).length;
  const t2Met = t2Ahead >= 5;
  const vmlRuns = matrix.filter((r) => r.variant === cmp.vml);
  const vmlShare = sum(vmlRuns.map((r) => r.onnxMs)) / sum(vmlRuns.map((r) => r.wallMs));
  const perTaskShare = [...by(vmlRuns, (r) => r.task).entries()].map(([task, rs]) => ({ task, share: sum(rs.map((r) => r.onnxMs)) / sum(rs.map((r) => r.wallMs)) }));
  const minShare = perTaskShare.reduce((m, x) => (x.share < m.share ? x : m), { task: '-', share: Infinity });
  const t3Met = vmlShare > 0.85 && minShare.share > 0.85;
  // The floors: the strongest simple method per task (scikit-image's, tuned on the truth, or the
  // operator's own estimate) and the network once as a denoiser.
  const floors = matrixTasks.map((task) => {
    const vml = (byTask.get(task) ?? []).filter((r) => r.variant === cmp.vml);
    const best = bestFloor(task, matrix, classical);
    return { task, vml: interval(vml.map((r) => r.psnr)), floor: best };
  });
  const floorMet = floors.filter((x) => x.floor && x.vml.mean >= x.floor.mean + 1.5).length;
  const oneCall = interval(matrix.filter((r) => r.task === 'denoise' && r.variant === 'one-call').map((r) => r.psnr));
  const vmlDenoise = floors.find((x) => x.task === 'denoise')?.vml;
  const paintedVml = interval(restores.filter((r) => r.task === 'inpaint-painted' && r.variant === cmp.vml).map((r) => r.maskedPsnr ?? NaN));
  const paintedBih = interval(classical.filter((r) => r.task === 'inpaint-painted' && /biharmonic/.test(r.method)).map((r) => r.maskedPsnr ?? NaN));
  p(head(['target', 'result', 'met']));
  p(
    row([
      `${vmlLabel}: at least 1.5 dB above the best simple method on every task (scikit-image's, tuned per image on the truth, the operator's estimate, or one network call: table below)`,
      `${floorMet} of ${floors.length} tasks; margins ${floors.map((x) => `${x.task} ${x.floor ? f(x.vml.mean - x.floor.mean) : '-'}`).join(', ')}`,
      floors.length && floorMet === floors.length ? 'yes' : '**no**',
    ]),
  );
  p(
    row([
      `${vmlLabel}: at or above one call of the network as a denoiser (denoising)`,
      vmlDenoise && oneCall.n ? `${f(vmlDenoise.mean)} ${pm(vmlDenoise)} against ${f(oneCall.mean)} ${pm(oneCall)} dB` : '-',
      vmlDenoise && oneCall.n && vmlDenoise.mean >= oneCall.mean ? 'yes' : '**no**',
    ]),
  );
  p(
    row([
      `${vmlLabel}, brush strokes as a person paints them: masked-pixel PSNR at least 1 dB above biharmonic inpainting`,
      paintedVml.n && paintedBih.n ? `${f(paintedVml.mean)} ${pm(paintedVml)} against ${f(paintedBih.mean)} ${pm(paintedBih)} dB` : '-',
      paintedVml.n && paintedBih.n && paintedVml.mean >= paintedBih.mean + 1 ? 'yes' : '**no**',
    ]),
  );
  p(
    row([
      `${vmlLabel}: PSNR at least that of ${dpsLabel} on every task`,
      `${t1Quality} of ${t1.length} tasks`,
      t1.length && t1Quality === t1.length && t1.length === matrixTasks.length ? 'yes' : '**no**',
    ]),
  );
  p(
    row([
      `... in at most one fifth of DPS's wall time`,
      `${t1Speed} of ${t1.length} tasks; time ratio ${t1.length ? `${f(Math.min(...t1.map((r) => r.vml.wallMs / r.dps.wallMs)), 3)} to ${f(Math.max(...t1.map((r) => r.vml.wallMs / r.dps.wallMs)), 3)}` : '-'}`,
      t1.length && t1Speed === t1.length ? 'yes' : '**no**',
    ]),
  );
  p(
    row([
      `${vmlLabel}: PSNR ahead of both ${variantById(cmp.diffpir).label} and ${variantById(cmp.ddnm).label} on at least 5 of 7 tasks`,
      `${t2Ahead} of ${t2.length} tasks`,
      t2Met ? 'yes' : '**no**',
    ]),
  );
  if (cmp.tuned && t2Tuned.length) {
    const ahead = t2Tuned.filter((r) => r.vml.psnr > Math.max(r.diffpir.psnr, r.ddnm.psnr)).length;
    p(
      row([
        `${vmlLabel}: PSNR ahead of both ${variantById(cmp.tuned.diffpir).label} and ${variantById(cmp.tuned.ddnm).label} (no time limit) on at least 5 of 7 tasks`,
        `${ahead} of ${t2Tuned.length} tasks`,
        ahead >= 5 ? 'yes' : '**no**',
      ]),
    );
  }
  p(
    row([
      `${vmlLabel}: more than 85% of the wall time inside onnxruntime (over all its runs and on every task)`,
      `${pct(vmlShare)} over all its runs; lowest task ${minShare.task} ${pct(minShare.share)}`,
      t3Met ? 'yes' : '**no**',
    ]),
  );
  p();
  const paintedSize = restores.find((r) => r.task === 'inpaint-painted')?.size;
  p(
    `On the ${matrixSize}x${matrixSize} crops${paintedSize ? ` (brush strokes at ${paintedSize}x${paintedSize})` : ''}; "±" is the half-width of the 95% interval of the mean over the images (Student's t); the comparison with DPS uses only the images DPS ran on (below). Details in the closing note.`,
  );
  p();
  p('### Against the floors');
  p();
  p(head(['task', 'images', `${cmp.vml} PSNR (dB)`, 'best simple method', 'its PSNR (dB)', 'margin (dB)']));
  for (const x of floors)
    p(row([x.task, x.vml.n, `${f(x.vml.mean)} ${pm(x.vml)}`, x.floor?.name ?? '-', x.floor ? `${f(x.floor.mean)} ${pm(x.floor)}` : '-', x.floor ? f(x.vml.mean - x.floor.mean) : '-']));
  p();
  p(`### ${vmlLabel} against ${dpsLabel}`);
  p();
  p(head(['task', 'images', `${cmp.vml} PSNR`, `${cmp.dps} PSNR`, 'difference (dB)', `${cmp.vml} time (s)`, `${cmp.dps} time (s)`, 'time ratio']));
  for (const r of t1) p(row([r.task, r.vml.n, f(r.vml.psnr), f(r.dps.psnr), f(r.vml.psnr - r.dps.psnr), secs(r.vml.wallMs), secs(r.dps.wallMs), f(r.vml.wallMs / r.dps.wallMs, 3)]));
  p();
  p(`### ${vmlLabel} against DiffPIR and DDNM`);
  p();
  p(head(['task', 'images', `${cmp.vml} PSNR`, `${cmp.diffpir} PSNR`, `${cmp.ddnm} PSNR`, 'VML-MAP ahead by (dB)']));
  for (const r of t2) p(row([r.task, r.vml.n, f(r.vml.psnr), f(r.diffpir.psnr), f(r.ddnm.psnr), f(r.vml.psnr - Math.max(r.diffpir.psnr, r.ddnm.psnr))]));
  p();
  if (cmp.tuned && t2Tuned.length) {
    p(`### ${vmlLabel} against DiffPIR and DDNM at their own best settings`);
    p();
    p('Each baseline per task at the settings its own sweep chose on the same development photos (bench/studies/baselines.ts, docs/BASELINES.md), with no limit on its network calls or time.');
    p();
    p(
      head([
        'task',
        'images',
        `${cmp.vml} PSNR`,
        `${cmp.tuned.diffpir} PSNR`,
        `${cmp.tuned.ddnm} PSNR`,
        'VML-MAP ahead by (dB)',
        `${cmp.vml} time (s)`,
        `${cmp.tuned.diffpir} time (s)`,
        `${cmp.tuned.ddnm} time (s)`,
      ]),
    );
    for (const r of t2Tuned)
      p(
        row([
          r.task,
          r.vml.n,
          f(r.vml.psnr),
          f(r.diffpir.psnr),
          f(r.ddnm.psnr),
          f(r.vml.psnr - Math.max(r.diffpir.psnr, r.ddnm.psnr)),
          secs(r.vml.wallMs),
          secs(r.diffpir.wallMs),
          secs(r.ddnm.wallMs),
        ]),
      );
    p();
  }

  // ---------------------------------------------------------------------------------- set-up
  p('## Set-up');
  p();
  const matrixImages = Math.max(...plan.matrix.map((b) => b.images));
  p(
    `- **Images**: ${meta.photos.length} development photos (datasets/dev-files.tsv, fetched by model-training/fetch_data.py), spread over the sorted list: ${meta.photos.map((x, i) => `${i + 1}. \`${x.replace(/^.*__/, '')}\``).join(', ')}. ` +
      `Each is cropped to its centred square of side min(h, w, 2N) and resized to N x N (Lanczos), a scale between 1/2 and 1 as in training; values in [0, 1]. N = ${matrixSize} for the quality matrix (${matrixImages} images).`,
  );
  p(`- **Seeds**: image k uses seed 1000 + k - 1 for the measurement noise, the scratch mask and the solver's noise.`);
  p(
    `- **Measurements**: made by the engine's degrade() (engine/job/restore.ts), restored through the engine's solve() with the operator restore() builds; PSNR and SSIM (engine/metrics.ts, data range 1, SSIM with an 11-tap Gaussian window) against the clean crop.`,
  );
  p(
    `- **Wall time** is the solver's own (stats.wallMs: from the first network call to the result), not the model loading, measured after a 3-step warm-up solve of the same solver on another measurement with the same operator in the same process: what a restoration costs in the app's long-lived inference service, without this fresh process's one-off costs (V8 compiling the engine's loops, onnxruntime's first allocations for the size); **in onnxruntime** is stats.onnxMs / stats.wallMs (time inside session.run); **peak RSS** is the child process's maxRSS (process.resourceUsage()): each run is a fresh \`node\` process, so it includes Node itself, the two onnxruntime sessions (${meta.hasVjp ? 'forward and VJP' : 'forward'}) and the solver.`,
  );
  p();
  p(head(['task', 'measurement']));
  for (const t of TASKS.filter((t) => matrixTasks.includes(t.id) || restores.some((r) => r.task === t.id)))
    p(row([t.id, `${t.label}${t.mask === 'box' ? `: ${boxSide(matrixSize)}x${boxSide(matrixSize)} on the ${matrixSize}x${matrixSize} crops` : ''}${t.probeOnly ? ' (time probe only)' : ''}`]));
  p();
  p(head(['solver', 'settings', 'images per task']));
  const variantIds = [...new Set(plan.matrix.flatMap((b) => b.variants))].sort((a, b) => variantOrder(a) - variantOrder(b));
  for (const v of variantIds) {
    const imgs = Math.max(...plan.matrix.filter((b) => b.variants.includes(v)).map((b) => b.images));
    p(row([`${v}: ${variantById(v).label}`, describeVariant(v), imgs]));
  }
  p();

  // ------------------------------------------------------------------------------- per task
  p(`## Quality and speed per task (${matrixSize}x${matrixSize})`);
  p();
  p(
    'Means over the images each solver ran on (the "images" column). NFE: network (forward) evaluations; VJPs: vector-Jacobian products (exact graph calls, or finite-difference pairs of two forwards for the forward-only copy).',
  );
  p();
  for (const task of matrixTasks) {
    const rs = byTask.get(task) ?? [];
    const aggs = [...by(rs, (r) => r.variant).values()].map(aggregate).sort((a, b) => variantOrder(a.variant) - variantOrder(b.variant));
    p(`### ${taskById(task).label}`);
    p();
    p(head(['solver', 'images', 'PSNR (dB)', 'SSIM', 'NFE', 'VJPs', 'wall time (s)', 'in onnxruntime', 'peak RSS (MiB)']));
    for (const a of aggs)
      p(
        row([
          `${a.variant}${a.approximate ? ' (approximate VJP)' : ''}`,
          a.n,
          `${f(a.psnr)} ${pm(interval(rs.filter((r) => r.variant === a.variant).map((r) => r.psnr)))}`,
          f(a.ssim, 4),
          f(a.nfe, 0),
          f(a.vjps, 0),
          secs(a.wallMs),
          a.nfe ? pct(a.onnxShare) : '-',
          f(a.peakRss / MiB, 0),
        ]),
      );
    for (const [method, cs] of by(
      classical.filter((r) => r.task === task),
      (r) => r.method,
    )) {
      const iv = interval(cs.map((r) => r.psnr));
      p(row([`scikit-image: ${method}`, iv.n, `${f(iv.mean)} ${pm(iv)}`, '-', '0', '0', '-', '-', '-']));
    }
    p();
    if (aggs.length) {
      const png = `bench-${task}.png`;
      await writeCharts(join(imgDir, png), [taskChart(task, aggs, footer, matrixSize)]);
      p(`![PSNR against wall time, ${task}](${imgRel(png)})`);
      p();
      p(`*Figure: PSNR against wall time, ${task}; \`${meta.command}\` on ${machine}.*`);
      p();
    }
  }

  p('### Overview: mean PSNR (dB) per task and solver');
  p();
  p(head(['solver', ...matrixTasks]));
  for (const v of variantIds) {
    const cells = matrixTasks.map((t) => {
      const rs = (byTask.get(t) ?? []).filter((r) => r.variant === v);
      return rs.length ? `${f(mean(rs.map((r) => r.psnr)))}${rs.length < matrixImages ? ` (${rs.length})` : ''}` : '-';
    });
    p(row([v, ...cells]));
  }
  p();
  p('A number in brackets: the images it ran on, when fewer than the others.');
  p();

  // ------------------------------------------------------------------------- the two rules
  p('### The two VML-MAP rules at their presets');
  p();
  p(
    'vml-fp: the fixed-point rule (no VJP); vml-map: the gradient through the exact VJP (docs/ALGORITHM.md). Each preset fits the same time budget at 512x512, not the same time: here, per task, PSNR and the measured time at this size. The ablation at equal time, budget by budget over every configuration each rule was measured at, is docs/PRESETS.md, "The two rules at equal time".',
  );
  p();
  p(head(['task', 'vml-fp-balanced PSNR (dB)', 'time (s)', 'vml-map-balanced PSNR (dB)', 'time (s)', 'difference (dB)']));
  for (const task of matrixTasks) {
    const a = (byTask.get(task) ?? []).filter((r) => r.variant === 'vml-fp-balanced');
    const b = (byTask.get(task) ?? []).filter((r) => r.variant === 'vml-map-balanced');
    if (!a.length || !b.length) continue;
    const [ia, ib] = [interval(a.map((r) => r.psnr)), interval(b.map((r) => r.psnr))];
    p(row([task, `${f(ia.mean)} ${pm(ia)}`, secs(mean(a.map((r) => r.wallMs))), `${f(ib.mean)} ${pm(ib)}`, secs(mean(b.map((r) => r.wallMs))), f(ia.mean - ib.mean)]));
  }
  p();

  // ------------------------------------------------------------------------ painted strokes
  const painted = restores.filter((r) => r.task === 'inpaint-painted');
  if (painted.length) {
    const size = painted[0]!.size;
    p(`## Brush strokes as a person paints them (${size}x${size})`);
    p();
    p(`${taskById('inpaint-painted').label}. PSNR over the painted pixels only (the rest is kept exactly by every method), and over the whole image.`);
    p();
    p(head(['method', 'images', 'masked-pixel PSNR (dB)', 'whole-image PSNR (dB)', 'wall time (s)']));
    for (const [v, rs] of by(painted, (r) => r.variant)) {
      const iv = interval(rs.map((r) => r.maskedPsnr ?? NaN));
      p(row([v, iv.n, `${f(iv.mean)} ${pm(iv)}`, f(mean(rs.map((r) => r.psnr))), secs(mean(rs.map((r) => r.wallMs)))]));
    }
    for (const [method, cs] of by(
      classical.filter((r) => r.task === 'inpaint-painted'),
      (r) => r.method,
    )) {
      const iv = interval(cs.map((r) => r.maskedPsnr ?? NaN));
      p(row([`scikit-image: ${method}`, iv.n, `${f(iv.mean)} ${pm(iv)}`, f(mean(cs.map((r) => r.psnr))), '-']));
    }
    p();
  }

  // --------------------------------------------------------------------------------- hires
  if (plan.hires.length && !restores.some((r) => r.size === plan.hires[0]!.size && r.size !== matrixSize)) {
    p(`## VML-MAP against DPS at ${plan.hires[0]!.size}x${plan.hires[0]!.size}`);
    p();
    p(
      `Not run in this invocation: \`npm run bench -- --hires\` adds ${plan.hires[0]!.variants.join(' and ')} on ${plan.hires[0]!.tasks.join(', ')} at ${plan.hires[0]!.size}x${plan.hires[0]!.size} (${plan.hires[0]!.images} image${plan.hires[0]!.images > 1 ? 's' : ''} per task; DPS with ${describeVariant(plan.hires[0]!.variants[1] ?? 'dps-100')}).`,
    );
    p();
  } else if (plan.hires.length) {
    const hs = plan.hires[0]!.size;
    p(`## VML-MAP against DPS at ${hs}x${hs}`);
    p();
    const hr = restores.filter((r) => r.size === hs);
    p(
      `${plan.hires[0]!.images} image(s) per task, ${plan.hires[0]!.variants.map((v) => `${v} (${describeVariant(v)})`).join(' and ')}. DPS runs here with fewer steps than its published 1000: at this size 1000 steps (1000 forwards and 1000 VJPs) would take longer than the whole benchmark's budget on this machine (see the projection under Scaling).`,
    );
    p();
    p(head(['task', 'solver', 'images', 'PSNR (dB)', 'SSIM', 'NFE', 'VJPs', 'wall time (s)', 'in onnxruntime', 'peak RSS (MiB)']));
    for (const [task, rs] of by(hr, (r) => r.task))
      for (const a of [...by(rs, (r) => r.variant).values()].map(aggregate).sort((a, b) => variantOrder(a.variant) - variantOrder(b.variant)))
        p(row([task, a.variant, a.n, f(a.psnr), f(a.ssim, 4), f(a.nfe, 0), f(a.vjps, 0), secs(a.wallMs), pct(a.onnxShare), f(a.peakRss / MiB, 0)]));
    p();
  }

  // ----------------------------------------------------------------------- where time goes
  p('## Where the time goes');
  p();
  p(`### Inside onnxruntime against everything else, per solver (${matrixSize}x${matrixSize}, all tasks)`);
  p();
  p('"Outside" is the solver\'s own arithmetic in JavaScript (operators, normal solves, conversions to and from float32, padding) and everything else between network calls.');
  p();
  p(head(['solver', 'runs', 'mean wall time (s)', 'in onnxruntime', 'outside onnxruntime per run (s)', 'onnxruntime per network call (ms)', 'lowest task share']));
  for (const v of variantIds) {
    const rs = matrix.filter((r) => r.variant === v);
    if (!rs.length) continue;
    const share = sum(rs.map((r) => r.onnxMs)) / sum(rs.map((r) => r.wallMs));
    const calls = sum(rs.map((r) => r.nfe + r.vjps));
    const lowest = [...by(rs, (r) => r.task).entries()].map(([t, x]) => ({ t, s: sum(x.map((r) => r.onnxMs)) / sum(x.map((r) => r.wallMs)) })).sort((a, b) => a.s - b.s)[0];
    p(
      row([
        v,
        rs.length,
        secs(mean(rs.map((r) => r.wallMs))),
        calls ? pct(share) : '-',
        secs(mean(rs.map((r) => r.wallMs - r.onnxMs))),
        calls ? f(sum(rs.map((r) => r.onnxMs)) / calls, 1) : '-',
        calls && lowest ? `${lowest.t} ${pct(lowest.s)}` : '-',
      ]),
    );
  }
  p();
  p('A VJP counts as one call here although the VJP graph costs several forwards (table below).');
  p();
  const probe = restores.filter((r) => taskById(r.task).probeOnly);
  if (probe.length) {
    p('### Normal solves by conjugate gradients');
    p();
    p(
      'The closed forms cover masks, box downsampling, luma and mirror-symmetric blur kernels; a diagonal motion blur has none, so every preconditioned step and every DiffPIR step runs conjugate gradients in JavaScript:',
    );
    p();
    p(head(['task', 'solver', 'images', 'PSNR (dB)', 'wall time (s)', 'in onnxruntime', 'outside onnxruntime (s)']));
    for (const [key, rs] of by(probe, (r) => `${r.task}|${r.variant}`)) {
      const a = aggregate(rs);
      p(row([key.split('|')[0]!, a.variant, a.n, f(a.psnr), secs(a.wallMs), pct(a.onnxShare), secs(a.wallMs - a.onnxMs)]));
    }
    p();
  }
  if (roof) {
    const g0 = roof.graphs[0]!;
    p(`### Inside onnxruntime: time per operator type (${g0.size}x${g0.size}, optimised graphs, profiled)`);
    p();
    const opTable = (ops: { op: string; ms: number }[]): Map<string, number> => {
      const total = sum(ops.map((o) => o.ms));
      return new Map(ops.map((o) => [o.op, o.ms / total]));
    };
    const fo = opTable(roof.opsForward);
    const vo = opTable(roof.opsVjp);
    const ops = [...new Set([...roof.opsForward.slice(0, 8).map((o) => o.op), ...roof.opsVjp.slice(0, 8).map((o) => o.op)])];
    p(head(['operator', 'share of the forward graph', 'share of the VJP graph']));
    for (const op of ops) p(row([op, pct(fo.get(op) ?? 0), roof.opsVjp.length ? pct(vo.get(op) ?? 0) : '-']));
    const restF = 1 - sum(ops.map((o) => fo.get(o) ?? 0));
    const restV = 1 - sum(ops.map((o) => vo.get(o) ?? 0));
    p(row(['other', pct(restF), roof.opsVjp.length ? pct(restV) : '-']));
    p();
    p(
      'Times from onnxruntime\'s profiler on the last of 3 calls (the optimised graph: "Conv" includes the fused convolutions, "ReorderInput"/"ReorderOutput" are its blocked-layout conversions); one profiled call per graph, so the per-operator rates below are noisy on a loaded machine, and a single operator can beat the MatMul figure, which is a measured reference rather than the hardware peak.',
    );
    p();
    const opRates = opGflops(roof);
    if (opRates.length) {
      p(head(['graph', 'operator', 'share of the counted FLOPs', 'share of the time', 'GFLOP/s inside it']));
      for (const r of opRates) p(row([r.graph, r.op, pct(r.flopShare), pct(r.timeShare), f(r.gflops, 1)]));
      p();
    }
    p(`### Achieved GFLOP/s against the MatMul ceiling`);
    p();
    p(
      `FLOPs counted from the graphs: onnxruntime's profiler reports each node's input and output shapes (graph optimisations off, so the nodes are the exported graph's); ${roof.flopOps.join(', ')} are counted, a multiply-add as 2 FLOPs; element-wise operators are not${roof.uncounted ? ` (**${roof.uncounted} such nodes had no shapes and are missing from the count**)` : ''}. ` +
        `Times: median of ${plan.roofline.rounds} calls after a warm-up, with the engine's session options, the MatMul and the model calls interleaved so that the load hits both alike. ` +
        `The ceiling is a single ${roof.matmul.n}x${roof.matmul.n} float32 MatMul graph (bench/onnx-proto.ts) in the same session options.`,
    );
    p();
    const ceil = roof.matmul.flops / roof.matmul.ms / 1e6;
    p(head(['graph', 'size', 'GFLOP per call', 'ms per call', 'GFLOP/s', 'of the ceiling']));
    p(row([`MatMul ${roof.matmul.n}x${roof.matmul.n} (ceiling)`, '-', f(roof.matmul.flops / 1e9, 2), f(roof.matmul.ms, 1), f(ceil, 1), '100%']));
    for (const g of roof.graphs) {
      const fg = g.forwardFlops / g.forwardMs / 1e6;
      p(row(['model forward', `${g.size}x${g.size}`, f(g.forwardFlops / 1e9, 3), f(g.forwardMs, 1), f(fg, 1), pct(fg / ceil)]));
      if (Number.isFinite(g.vjpFlops)) {
        const vg = g.vjpFlops / g.vjpMs / 1e6;
        p(row(['model VJP', `${g.size}x${g.size}`, f(g.vjpFlops / 1e9, 3), f(g.vjpMs, 1), f(vg, 1), pct(vg / ceil)]));
      }
    }
    p();
    if (Number.isFinite(g0.vjpFlops)) p(`The VJP graph has ${f(g0.vjpFlops / g0.forwardFlops, 2)} times the forward's FLOPs and takes ${f(g0.vjpMs / g0.forwardMs, 2)} times its time.`);
    p();
  }

  // -------------------------------------------------------------------------------- scaling
  if (scaling.length) {
    p('## Scaling with image size');
    p();
    const bal = settingsFor('vml-map', 'balanced', 'denoise').settings as { levels: number; inner: number };
    const balNfe = bal.levels * (bal.inner + 1);
    // The gradient rule takes one VJP per inner step.
    const balVjps = bal.levels * bal.inner;
    const dpsSteps = 1000;
    p(
      `One fresh process per size, on a synthetic image: engine-level denoise() (the forward, median of up to 5 after the first) and jtv() (the exact VJP, one call), so conversions and padding are included. ` +
        `Peak RSS "forward only" is the process's maxRSS before its first VJP (what vml-fp, DiffPIR and DDNM need); "with VJP" after one (DPS, vml-map). ` +
        `VML-MAP fast (a whole denoising restore, ${plan.scaling.runSizes.join(' and ')} only) is measured; VML-MAP balanced (denoising: ${balNfe} forwards and ${balVjps} VJPs) and DPS ${dpsSteps} steps (${dpsSteps} forwards and ${dpsSteps} VJPs) are **projected** from the per-call times.`,
    );
    p();
    p(head(['size', 'forward (s)', 'first forward (s)', 'VJP (s)', 'peak RSS forward only (MiB)', 'peak RSS with VJP (MiB)', 'VML-MAP fast, measured (s)', 'VML-MAP balanced (s)', 'DPS 1000 (s)']));
    // Sizes (or VJPs) not measured: projected linearly in pixels from the two largest measured.
    const lin = (pts: { px: number; v: number }[], px: number): number => {
      const [a, b] = pts.slice(-2);
      if (!a) return NaN;
      if (!b) return (a.v * px) / a.px;
      return b.v + ((b.v - a.v) / (b.px - a.px)) * (px - b.px);
    };
    const P = (v: number, projected: boolean, fmt: (x: number) => string): string => (Number.isFinite(v) ? `${fmt(v)}${projected ? ' (projected)' : ''}` : '-');
    const mib = (b: number): string => f(b / MiB, 0);
    const fwdPts = scaling.map((s) => ({ px: s.size * s.size, t: s.forwardMs, m: s.forwardRss }));
    const vjpPts = scaling.filter((s) => s.withVjp).map((s) => ({ px: s.size * s.size, t: s.vjpMs, m: s.peakRss }));
    let projectedAny = false;
    for (const size of plan.scaling.sizes) {
      const s = scaling.find((r) => r.size === size);
      const px = size * size;
      const fwdMeasured = !!s;
      const vjpMeasured = !!s?.withVjp;
      const fwdMs = s
        ? s.forwardMs
        : lin(
            fwdPts.map((q) => ({ px: q.px, v: q.t })),
            px,
          );
      const fwdRss = s
        ? s.forwardRss
        : lin(
            fwdPts.map((q) => ({ px: q.px, v: q.m })),
            px,
          );
      const vjpMs = vjpMeasured
        ? s!.vjpMs
        : lin(
            vjpPts.map((q) => ({ px: q.px, v: q.t })),
            px,
          );
      const vjpRss = vjpMeasured
        ? s!.peakRss
        : lin(
            vjpPts.map((q) => ({ px: q.px, v: q.m })),
            px,
          );
      projectedAny ||= !fwdMeasured || !vjpMeasured;
      p(
        row([
          `${size}x${size}`,
          P(fwdMs, !fwdMeasured, secs),
          s ? secs(s.firstForwardMs) : '-',
          P(vjpMs, !vjpMeasured, secs),
          P(fwdRss, !fwdMeasured, mib),
          P(vjpRss, !vjpMeasured, mib),
          s && Number.isFinite(s.fastMs) ? `${secs(s.fastMs)} (${pct(s.fastOnnxMs / s.fastMs)} in onnxruntime)` : '-',
          P(balNfe * fwdMs + balVjps * vjpMs, true, secs),
          P(dpsSteps * (fwdMs + vjpMs), true, secs),
        ]),
      );
    }
    p();
    if (projectedAny) p('"(projected)": not measured here; linear in pixels from the two largest sizes that were.');
    for (const note of meta.notes) p(`- ${note}.`);
    p();
    const px = (s: ScalingRecord): number => (s.size * s.size) / 1e6;
    const charts: Chart[] = [
      {
        title: 'Time per network call',
        xLabel: 'megapixels (log scale)',
        yLabel: 'seconds (log scale)',
        xLog: true,
        yLog: true,
        series: [
          { label: 'forward', color: COLORS[0]!, marker: 'circle', line: true, points: scaling.map((s) => ({ x: px(s), y: s.forwardMs / 1000 })) },
          { label: 'VJP', color: COLORS[1]!, marker: 'triangle', line: true, points: scaling.filter((s) => s.withVjp).map((s) => ({ x: px(s), y: s.vjpMs / 1000 })) },
        ],
      },
      {
        title: 'Peak resident memory',
        xLabel: 'megapixels (log scale)',
        yLabel: 'MiB (log scale)',
        xLog: true,
        yLog: true,
        series: [
          { label: 'forward only', color: COLORS[0]!, marker: 'circle', line: true, points: scaling.map((s) => ({ x: px(s), y: s.forwardRss / MiB })) },
          { label: 'with VJP', color: COLORS[1]!, marker: 'triangle', line: true, points: scaling.filter((s) => s.withVjp).map((s) => ({ x: px(s), y: s.peakRss / MiB })) },
        ],
      },
    ];
    await writeCharts(join(imgDir, 'bench-scaling.png'), charts, 640, 460, footer);
    p(`![time and memory against image size](${imgRel('bench-scaling.png')})`);
    p();
    p(`*Figure: time per network call and peak memory against image size; \`${meta.command}\` on ${machine}.*`);
    p();
  }

  // ------------------------------------------------------------------ 24-megapixel photos
  // Too long for this command (about half an hour idle): bench/large.ts writes its own
  // report beside this one, and its table is carried over so that every figure is in one place.
  const largePath = join(dirname(outPath), 'BENCHMARKS-large.md');
  if (existsSync(largePath)) {
    const lines = readFileSync(largePath, 'utf8').split('\n');
    const first = lines.findIndex((l) => l.startsWith('|'));
    const table = first < 0 ? [] : lines.slice(first, first + lines.slice(first).findIndex((l) => !l.startsWith('|')));
    if (table.length) {
      p('## 24-megapixel photos');
      p();
      p(
        'A 6000x4000 photo denoised with the fast preset (peak resident memory must stay under 3 GB) and the same photo with 1% of its pixels scratched, inpainted by region. ' +
          'Not run by this command (about 10 min on this 2-core machine, 2026-12-01): measured by `npm run -s build:cli && node out/cli/bench/large.js --memory-mb 3000` (bench/large.ts), ' +
          'whose report docs/BENCHMARKS-large.md gives the machine, the model, the load and the checks on the outputs (no seams, observed pixels unchanged). Its table, copied when this report was generated:',
      );
      p();
      for (const l of table) p(l);
      p();
    }
  }

  // ---------------------------------------------------------------------------- closing note
  p('## Closing note');
  p();
  {
    const dpsRuns = restores.filter((r) => variantById(r.variant).solver === 'dps');
    const dpsMin = sum(dpsRuns.map((r) => r.wallMs)) / 60000;
    const target = plan.name === 'quick' ? 5 : 90;
    p(
      `**Run time**: ${f(meta.durationS / 60, 1)} min ${meta.invocations > 1 ? `of running time over ${meta.invocations} invocations, rows measured again by \`--only\` counted each time, so not the time of one run of` : 'for'} the whole \`${plan.name}\` plan (target for one run: under ${target} min)${ls.length ? `, at a median load average of ${f(median(ls))} on ${meta.cores} cores` : ''}; DPS's ${dpsRuns.length} runs took ${f(dpsMin, 1)} min of it.`,
    );
    p();
  }
  p(closingNote({ t1, t2, t2Tuned, t1Met, t2Met, t3Met, vmlShare, perTaskShare, matrix, cmp, untrained, loaded: loaded(meta), matrixTasks, roof, scaling, probe, memGiB: meta.memGiB }));
  p();
  if (failures.length) {
    p('## Failed runs');
    p();
    p(head(['run', 'error']));
    for (const x of failures) p(row([x.job, x.error.replace(/\|/g, '/')]));
    p();
  }
  writeFileSync(
    outPath,
    `${L.join('\n')
      .replace(/\n{3,}/g, '\n\n')
      .trimEnd()}\n`,
  );
}

/** Per counted operator type: its share of the FLOPs and of the time, and its GFLOP/s. */
export function opGflops(roof: RooflineRecord): { graph: string; op: string; flopShare: number; timeShare: number; gflops: number }[] {
  const group = (op: string): string => (op === 'FusedConv' ? 'Conv' : op === 'FusedGemm' ? 'Gemm' : op === 'FusedMatMul' ? 'MatMul' : op);
  const out: { graph: string; op: string; flopShare: number; timeShare: number; gflops: number }[] = [];
  for (const [graph, flops, times] of [
    ['forward', roof.flopsForward ?? [], roof.opsForward],
    ['VJP', roof.flopsVjp ?? [], roof.opsVjp],
  ] as const) {
    const totalF = sum(flops.map((x) => x.flops));
    const totalT = sum(times.map((x) => x.ms));
    for (const x of [...flops].sort((a, b) => b.flops - a.flops)) {
      const ms = sum(times.filter((t) => group(t.op) === x.op).map((t) => t.ms));
      if (!(x.flops > 0) || !(totalT > 0)) continue;
      out.push({ graph, op: x.op, flopShare: x.flops / totalF, timeShare: ms / totalT, gflops: ms > 0 ? x.flops / ms / 1e6 : NaN });
    }
  }
  return out;
}

interface NoteInput {
  t1: { task: string; vml: Agg; dps: Agg }[];
  t2: { task: string; vml: Agg; diffpir: Agg; ddnm: Agg }[];
  /** The same against the baselines at their own best settings (empty when the plan has none). */
  t2Tuned: { task: string; vml: Agg; diffpir: Agg; ddnm: Agg }[];
  t1Met: boolean;
  t2Met: boolean;
  t3Met: boolean;
  vmlShare: number;
  perTaskShare: { task: string; share: number }[];
  matrix: RestoreRecord[];
  cmp: Plan['compare'];
  untrained: boolean;
  loaded: boolean;
  matrixTasks: string[];
  roof?: RooflineRecord;
  scaling: ScalingRecord[];
  probe: RestoreRecord[];
  memGiB: number;
}

/** The verdicts in words, with the numbers, what the benchmark tried and what the data point to. */
function closingNote(n: NoteInput): string {
  const out: string[] = [];
  const variantMean = (v: string, task: string): number => mean(n.matrix.filter((r) => r.variant === v && r.task === task).map((r) => r.psnr));
  // Best over the variants that ran on every image of the task (means over different images do not compare).
  const best = (task: string): { v: string; psnr: number } => {
    const rs = n.matrix.filter((r) => r.task === task);
    const images = new Set(rs.map((r) => r.imageIndex)).size;
    const full = [...by(rs, (r) => r.variant).entries()].filter(([, x]) => x.length === images).map(([v]) => v);
    return full.map((v) => ({ v, psnr: variantMean(v, task) })).sort((a, b) => b.psnr - a.psnr)[0] ?? { v: '-', psnr: NaN };
  };

  // Target 1
  const lose = n.t1.filter((r) => r.vml.psnr < r.dps.psnr);
  const slow = n.t1.filter((r) => r.vml.wallMs > r.dps.wallMs / 5);
  if (n.t1Met)
    out.push(
      `**Against DPS: met.** ${n.cmp.vml} is at least as good as ${n.cmp.dps} in PSNR on all ${n.t1.length} tasks at ${f(Math.max(...n.t1.map((r) => r.vml.wallMs / r.dps.wallMs)), 3)} of its wall time or less.`,
    );
  else {
    const parts: string[] = [];
    if (n.t1.length < n.matrixTasks.length) parts.push(`DPS results exist for ${n.t1.length} of ${n.matrixTasks.length} tasks`);
    if (lose.length) parts.push(`DPS is ahead on ${lose.map((r) => `${r.task} (by ${f(r.dps.psnr - r.vml.psnr)} dB)`).join(', ')}`);
    if (slow.length) parts.push(`VML-MAP takes more than a fifth of DPS's time on ${slow.map((r) => r.task).join(', ')}`);
    out.push(
      `**Against DPS: not met.** ${parts.join('; ')}. The time half holds on ${n.t1.length - slow.length} of ${n.t1.length} tasks (ratios ${n.t1.map((r) => `${r.task} ${f(r.vml.wallMs / r.dps.wallMs, 3)}`).join(', ')}).`,
    );
  }
  // Target 2
  const behind = n.t2.filter((r) => r.vml.psnr <= Math.max(r.diffpir.psnr, r.ddnm.psnr));
  out.push(
    `**Against DiffPIR and DDNM: ${n.t2Met ? 'met' : 'not met'}.** ${n.cmp.vml} is ahead of both on ${n.t2.length - behind.length} of ${n.t2.length} tasks` +
      (behind.length
        ? `; behind on ${behind.map((r) => `${r.task} (${f(r.vml.psnr)} against ${r.diffpir.psnr >= r.ddnm.psnr ? `DiffPIR ${f(r.diffpir.psnr)}` : `DDNM ${f(r.ddnm.psnr)}`})`).join(', ')}.`
        : '.'),
  );
  if (n.t2Tuned.length) {
    const behindTuned = n.t2Tuned.filter((r) => r.vml.psnr <= Math.max(r.diffpir.psnr, r.ddnm.psnr));
    const calls = (a: Agg): string => `${Math.round(a.nfe)} calls`;
    out.push(
      `**Against DiffPIR and DDNM at their own best settings** (each chosen by its own sweep on the development photos, no time limit): ${n.cmp.vml} is ahead of both on ${n.t2Tuned.length - behindTuned.length} of ${n.t2Tuned.length} tasks` +
        (behindTuned.length
          ? `; behind on ${behindTuned.map((r) => (r.diffpir.psnr >= r.ddnm.psnr ? `${r.task} (${f(r.vml.psnr)} with ${calls(r.vml)} against DiffPIR ${f(r.diffpir.psnr)} with ${calls(r.diffpir)})` : `${r.task} (${f(r.vml.psnr)} with ${calls(r.vml)} against DDNM ${f(r.ddnm.psnr)} with ${calls(r.ddnm)})`)).join(', ')}.`
          : '.'),
    );
  }
  // Target 3
  const low = n.perTaskShare.filter((x) => x.share <= 0.85);
  out.push(
    `**Time inside onnxruntime: ${n.t3Met ? 'met' : 'not met'}.** ${pct(n.vmlShare)} of ${n.cmp.vml}'s wall time over all tasks` +
      (low.length ? `; at or below 85% on ${low.map((x) => `${x.task} (${pct(x.share)})`).join(', ')}` : '') +
      '.',
  );
  // What was tried
  const tried = [...new Set(n.matrix.map((r) => r.variant))].sort((a, b) => variantOrder(a) - variantOrder(b));
  out.push(
    `**What was tried** (tables above): ${tried.join(', ')}. Best mean PSNR per task among the solvers that ran on every image: ${n.matrixTasks.map((t) => `${t} ${best(t).v} (${f(best(t).psnr)})`).join('; ')}.`,
  );
  // Pointers from the data
  const hints: string[] = [];
  if (n.untrained)
    hints.push(
      'the model is not fully trained: every diffusion solver is limited by the prior, and the ranking between solvers can change as training goes on; rerun the benchmark with the trained default model',
    );
  const fp = n.matrix.filter((r) => r.variant === 'vml-fp-balanced');
  const gr = n.matrix.filter((r) => r.variant === 'vml-map-balanced');
  if (fp.length && gr.length) {
    const d = mean(fp.map((r) => r.psnr)) - mean(gr.map((r) => r.psnr));
    hints.push(
      `the fixed-point rule (vml-fp, no VJP) is ${d >= 0 ? 'ahead of' : 'behind'} the gradient rule through the VJP (vml-map) by ${f(Math.abs(d))} dB on average at their balanced presets, at ${f(mean(fp.map((r) => r.wallMs)) / mean(gr.map((r) => r.wallMs)), 2)} times its time`,
    );
  }
  if (lose.length) {
    const spare = Math.min(...lose.map((r) => r.dps.wallMs / r.vml.wallMs / 5));
    hints.push(
      `where DPS is ahead, more noise levels or inner steps (the \`best\` preset row shows how far a larger budget moves VML-MAP) and per-task step sizes are the first levers${spare > 1 ? `; the time target leaves room for ${f(spare, 1)} times the balanced budget on those tasks` : ''}`,
    );
  }
  for (const r of behind) {
    const presets = ['vml-fp-fast', 'vml-fp-balanced', 'vml-fp-best'].map((v) => ({ v, psnr: variantMean(v, r.task) })).filter((x) => Number.isFinite(x.psnr));
    const falling = presets.length === 3 && presets[0]!.psnr > presets[1]!.psnr && presets[1]!.psnr > presets[2]!.psnr;
    const floor = variantMean('pinv', r.task);
    hints.push(
      `on ${r.task}, where ${r.diffpir.psnr >= r.ddnm.psnr ? 'DiffPIR' : 'DDNM'} leads, ` +
        (falling ? `VML-MAP's PSNR falls as its budget grows (${presets.map((x) => `${x.v.replace('vml-', '')} ${f(x.psnr)}`).join(', ')}), ` : '') +
        (Number.isFinite(floor)
          ? Math.max(r.diffpir.psnr, r.ddnm.psnr, r.vml.psnr) - floor < 0.5
            ? `and no diffusion solver improves on A^+ y (${f(floor)} dB) by more than 0.5 dB with this model: `
            : `and the best solver is ${f(Math.max(r.diffpir.psnr, r.ddnm.psnr, r.vml.psnr) - floor)} dB above A^+ y (${f(floor)}): `
          : ': ') +
        'fewer levels or a lower starting noise level for that task are the settings to try first',
    );
  }
  for (const x of low) {
    const rs = n.matrix.filter((r) => r.variant === n.cmp.vml && r.task === x.task);
    const steps = mean(rs.map((r) => r.nfe));
    const outside = mean(rs.map((r) => r.wallMs - r.onnxMs)) / steps;
    const inside = mean(rs.map((r) => r.onnxMs)) / steps;
    const halved = inside / (inside + outside / 2);
    hints.push(
      `on ${x.task} the solver's JavaScript (the operator's forward and adjoint, its normal solve, in float64) takes ${f(outside, 1)} ms per network call against ${f(inside, 1)} ms inside onnxruntime (after the DCT-domain step for symmetric blurs, two transforms per step, and a warm-up; docs/ALGORITHM.md); halving it would lift the share to ${pct(halved)}: the transforms as matrix products inside onnxruntime (a 128-point DCT is a 128x128 MatMul per side, microseconds at its GFLOP/s) or float32 arrays are the candidates`,
    );
  }
  const probeVml = n.probe.filter((r) => variantById(r.variant).solver === 'vml-map');
  if (probeVml.length) {
    const share = sum(probeVml.map((r) => r.onnxMs)) / sum(probeVml.map((r) => r.wallMs));
    if (share < 0.85)
      hints.push(
        `a blur without a closed-form normal solve (the 45-degree motion probe) drops VML-MAP's share inside onnxruntime to ${pct(share)}: its conjugate gradients in JavaScript dominate, even capped at 30 iterations per step (engine/operators/blur.ts: 26.49 against 26.52 dB for the full solve, half the time); a preconditioner that works under the reflective boundary, or running CG's operator applications in onnxruntime, would be the engine change`,
      );
  }
  if (n.roof) {
    const rates = opGflops(n.roof).filter((r) => r.graph === 'VJP');
    const ct = rates.find((r) => r.op === 'ConvTranspose');
    const cv = rates.find((r) => r.op === 'Conv');
    if (ct && cv && ct.gflops < 0.75 * cv.gflops)
      hints.push(
        `the VJP graph's transposed convolutions run at ${f(ct.gflops, 1)} GFLOP/s against ${f(cv.gflops, 1)} for its convolutions (${pct(ct.timeShare)} of its time for ${pct(ct.flopShare)} of its FLOPs): exporting the adjoint of each stride-1 convolution as a Conv with the kernel flipped and its two channel axes swapped (model-training/unet.py conv_t; the same numbers) would move them onto onnxruntime's faster convolution path, which speeds up DPS and the gradient rule (vml-map)`,
      );
  }
  const big = n.scaling.filter((s) => s.withVjp).sort((a, b) => b.size - a.size)[0];
  if (big && big.peakRss > 0.25 * n.memGiB * 2 ** 30)
    hints.push(
      `the VJP graph keeps every activation: ${f(big.peakRss / 2 ** 30, 1)} GiB at ${big.size}x${big.size} against ${f(big.forwardRss / 2 ** 30, 1)} GiB for the forward alone, so solvers that need VJPs (DPS, vml-map) need tiling or recomputation well before 2048x2048 on a ${f(n.memGiB, 0)} GiB machine; the fixed-point rule (vml-fp) needs no VJP`,
    );
  if (n.loaded) hints.push('timings were taken on a loaded machine; the ratios between solvers were measured under the same load');
  if (hints.length) out.push(`**What the numbers point to**:\n\n${hints.map((h) => `- ${h[0]!.toUpperCase()}${h.slice(1)}.`).join('\n')}`);
  return out.join('\n\n');
}
