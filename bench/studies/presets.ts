/**
 * Chooses VML-MAP's presets by measurement on all development photos, per task and per step rule,
 * and writes docs/PRESETS.md (raw runs in docs/presets/sweep.json; an interrupted sweep resumes).
 *
 *   npm run -s build:cli && node out/cli/bench/studies/presets.js [--data data/dev] [--images 12] [--size 128]
 *
 * At a second size (issue 11: presets chosen by the worst task at 128x128 and 256x256):
 *
 *   node out/cli/bench/studies/presets.js --size 256 --replay docs/presets/sweep.json --store docs/presets/sweep-256.json
 *   node out/cli/bench/studies/presets.js --joint docs/presets/sweep-256.json [--write-engine]
 *
 * `--replay FILE` measures the configurations FILE holds, per task, at this size (no stages; not
 * those starting above the task's MAX_START, which the presets cannot choose)
 * and writes only the raw runs (`--store`, resumable), adding the tasks the benchmark measures only at
 * this size (brush strokes at 256x256) for every configuration of their engine task; `--joint FILE`
 * chooses from the configurations measured at both sizes by the worst loss over every benchmark task
 * at either size (those only at FILE's size included), and writes docs/PRESETS.md with both sizes' scores.
 *
 * Per rule (fixed-point = vml-fp, gradient = vml-map) and task:
 *  A. the first noise level sigmaStart (the solve starts from the operator's estimate plus noise up
 *     to it) at 5 levels x 2 inner steps;
 *  B. at the best sigmaStart: schedules (levels x inner); then the lowest level (sigmaEnd, or a
 *     multiple of sigma_y) on the best schedule and on two that converge on the exact priors; then
 *     those from sigma 0.5;
 *  B4. with noisy measurements, one call from the lowest start with the end at sigma_y (denoising: the stationary z = y);
 *  C. the gradient rule at the best start and end found, with step lengths 1 and 2, and from 0.5.
 * Each preset takes, per engine task, the configuration (or the cheapest within COST_TIE_DB of it) whose worst benchmark task loses least
 * against that task's best configuration, among those whose cost at 512x512 on this machine fits
 * the preset's time (fast 10 s, balanced 30 s, best 120 s), a VJP counted at its measured cost in
 * forwards; balanced and best only among those that converge on the exact priors, unless that costs
 * more than TRADE_DB (then the trade is written down). The reference rows: the operator's estimate (the start) and, for
 * denoising, one call of the network (Tweedie's denoiser at sigma_y).
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { writeFileAtomic } from '../../engine/photo/atomic.js';
import { psnr } from '../../engine/metrics.js';
import { OnnxDenoiser } from '../../engine/model/denoiser.js';
import { Rng } from '../../engine/solvers/common.js';
import { type SolverSettings, solve } from '../../engine/solvers/index.js';
import { type StepRule, VMLMAP_DEFAULTS, type VmlMapSettings } from '../../engine/solvers/vmlmap.js';
import type { Task } from '../../engine/tasks.js';
import { ToyChecks } from '../../tests/oracles/toy-checks.js';
import { TASKS } from '../config.js';
import { photoCrop, pickPhotos } from '../images.js';
import { sweepProblem } from './sweep-problem.js';

interface Config {
  rule: StepRule;
  sigmaStart: number;
  sigmaEnd: number;
  /** sigmaEndPerSigmaY */
  endK: number;
  levels: number;
  inner: number;
  stepScale: number;
}
interface Run {
  key: string;
  task: string;
  image: string;
  psnr: number;
  nfe: number;
  vjps: number;
  wallMs: number;
  stationarity: number;
}

const STARTS = [0.03, 0.06, 0.12, 0.25, 0.5, 1];
/**
 * Highest first level allowed per task. Colourisation from 0.5 scored 0.4 dB above the grey image
 * on average but tinted colourless regions: 8.3 dB below the grey image on the nearly colourless
 * crop of tests/engine/default-model.test.ts (0.12: 3.7 dB below), so it starts no higher than 0.12.
 */
const MAX_START: Partial<Record<Task, number>> = { colorize: 0.12 };
const SCHEDULES: Array<[number, number]> = [
  [3, 2],
  [5, 2],
  [8, 2],
  [6, 4],
  [10, 3],
  [20, 3],
];
/** Schedules long enough to converge on the exact priors (tests/oracles/toy-checks.ts), tried from higher starts too. */
const CONVERGING: Array<[number, number]> = [
  [6, 4],
  [10, 3],
  [20, 3],
];
const GRADIENT_SCHEDULES: Array<[number, number]> = [
  [3, 2],
  [6, 4],
];
/** [sigmaEnd, sigmaEndPerSigmaY]: with noisy measurements the end can follow sigma_y. */
const endsFor = (sigmaY: number): Array<[number, number]> =>
  sigmaY > 0
    ? [
        [0, 0],
        [0, 0.5],
        [0, 1],
      ]
    : [
        [0, 0],
        [0.01, 0],
        [0.03, 0],
      ];
const BUDGET_S = { fast: 10, balanced: 30, best: 120 } as const;
/** dB of PSNR on the photos that balanced and best may give up to reach the mode on the exact priors. */
const TRADE_DB = 0.3;
/** dB of PSNR on the worst task below which a cheaper configuration is taken over a better one (paired differences over the 12 photos this small are noise). */
const COST_TIE_DB = 0.02;
const SIZE_FOR_BUDGET = 512;

const keyOf = (c: Config): string => `${c.rule}/${c.sigmaStart}/${c.sigmaEnd}/${c.endK}/${c.levels}x${c.inner}/${c.stepScale}`;
function configOf(key: string): Config {
  const [rule, sigmaStart, sigmaEnd, endK, schedule, stepScale] = key.split('/');
  const [levels, inner] = schedule!.split('x').map(Number);
  return { rule: rule as StepRule, sigmaStart: Number(sigmaStart), sigmaEnd: Number(sigmaEnd), endK: Number(endK), levels: levels!, inner: inner!, stepScale: Number(stepScale) };
}
const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
const settingsOf = (c: Config): Partial<VmlMapSettings> => ({
  sigmaStart: c.sigmaStart,
  ...(c.sigmaEnd ? { sigmaEnd: c.sigmaEnd } : {}),
  ...(c.endK ? { sigmaEndPerSigmaY: c.endK } : {}),
  levels: c.levels,
  inner: c.inner,
  ...(c.stepScale !== 1 ? { stepScale: c.stepScale } : {}),
});

/**
 * What a configuration runs with: the defaults and the configuration's own fields, never a shipped
 * preset's. settingsOf omits fields at their defaults (what presets.ts stores); merged over a preset,
 * the preset's sigmaEnd, sigmaEndPerSigmaY or stepScale would fill them in (it did, in the 256x256
 * replay up to 2026-12-01, whose affected runs were dropped).
 */
const solverSettings = (c: Config): SolverSettings => ({
  solver: c.rule === 'gradient' ? 'vml-map' : 'vml-fp',
  settings: { ...VMLMAP_DEFAULTS, sigmaEnd: c.sigmaEnd, sigmaEndPerSigmaY: c.endK, stepScale: c.stepScale, ...settingsOf(c), stepRule: c.rule },
});

/** engine/solvers/presets.ts for the measured choice. */
function presetsModule(entries: unknown): string {
  return `/**
 * VML-MAP's presets, per step rule, preset and task: written by \`node out/cli/bench/studies/presets.js
 * --write-engine\` from its measurement on the development photos (docs/PRESETS.md has every
 * configuration tried and why each was chosen; docs/presets/chosen.json the same table). Balanced and
 * best reach the MAP on the exact test priors (tests/engine/presets.test.ts) unless \`trades\` says
 * what they gain by not doing so.
 */
import type { Preset, SingleTask } from '../tasks.js';
import type { StepRule, VmlMapSettings } from './vmlmap.js';

export interface PresetEntry {
  settings: Partial<VmlMapSettings>;
  /** Set where the preset does not converge on the exact priors: what it gains instead. */
  trades?: string;
}

export type PresetTable = Record<Preset, Record<SingleTask, PresetEntry>>;

export const VML_PRESETS: Record<StepRule, PresetTable> = ${JSON.stringify(entries, null, 2)};
`;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      data: { type: 'string', default: 'data/dev' },
      model: { type: 'string', default: 'resources/models/default' },
      images: { type: 'string', default: '12' },
      size: { type: 'string', default: '128' },
      rules: { type: 'string', default: 'fixed-point,gradient' },
      out: { type: 'string', default: 'docs' },
      /** Raw runs; docs/presets/sweep.json by default (under --out). */
      store: { type: 'string' },
      /** Measure the configurations of another sweep.json at this size, and stop. */
      replay: { type: 'string' },
      /** Another size's sweep.json: choose by the worst task over both sizes. */
      joint: { type: 'string' },
      /** Also write engine/solvers/presets.ts from the choice (what ships). */
      'write-engine': { type: 'boolean', default: false },
    },
  });
  const size = Number(values.size);
  const rules = values.rules!.split(',') as StepRule[];
  const photos = pickPhotos(values.data!, Number(values.images));
  const names = photos.map((p) => p.split('/').pop()!.split('__').pop()!);
  const store = values.store ?? join(values.out!, 'presets', 'sweep.json');
  mkdirSync(join(values.out!, 'presets'), { recursive: true });
  const stored = existsSync(store) ? JSON.parse(readFileSync(store, 'utf8')) : null;
  const runs: Run[] = stored?.size === size && Array.isArray(stored.runs) && 'key' in (stored.runs[0] ?? { key: 1 }) ? stored.runs : [];
  const done = new Map(runs.map((r) => [`${r.key}|${r.task}|${r.image}`, r]));
  const model = await OnnxDenoiser.load(values.model!, { provider: 'cpu' });
  const tasks = TASKS.filter((t) => !t.probeOnly && !t.size);
  /** Tasks measured only at one size (brush strokes at 256x256): in the replay at that size, with every configuration of their engine task. */
  const sizedTasks = TASKS.filter((t) => !t.probeOnly && t.size);
  const crops = await Promise.all(photos.map((p) => photoCrop(p, size)));
  const started = Date.now();

  // The cost model: a forward and a VJP at 512x512, medians of 3 after a warm-up.
  const big = { c: 3, h: SIZE_FOR_BUDGET, w: SIZE_FOR_BUDGET };
  const z = new Rng(1).normals(3 * SIZE_FOR_BUDGET * SIZE_FOR_BUDGET).map((v) => 0.5 + 0.1 * v);
  const time = async (f: () => Promise<unknown>): Promise<number> => {
    await f();
    const ts: number[] = [];
    for (let i = 0; i < 3; i++) {
      const t0 = performance.now();
      await f();
      ts.push(performance.now() - t0);
    }
    return ts.sort((a, b) => a - b)[1]!;
  };
  // Measured once with the runs and kept with them: a re-render on a busy machine must not change the budgets.
  const fwdMs: number = runs.length && stored?.fwdMs ? stored.fwdMs : await time(() => model.denoise(z, big, 0.1));
  const vjpMs: number = runs.length && stored?.vjpMs ? stored.vjpMs : await time(() => model.jtv(z, big, 0.1, z));
  // The gradient rule's safeguard adds a forward per shortened trial and ends stalled levels early, so its
  // time counts the calls its runs made (mean over every run of the configuration at this size).
  const measuredCalls = (c: Config): { nfe: number; vjps: number } | undefined => {
    const mine = runs.filter((r) => r.key === keyOf(c));
    return mine.length ? { nfe: mean(mine.map((r) => r.nfe)), vjps: mean(mine.map((r) => r.vjps)) } : undefined;
  };
  const costS = (c: Config): number => {
    const calls = c.rule === 'gradient' ? measuredCalls(c) : undefined;
    if (calls) return (calls.nfe * fwdMs + calls.vjps * vjpMs) / 1000;
    return (c.levels * (c.inner + 1) * fwdMs + (c.rule === 'gradient' ? c.levels * c.inner * vjpMs : 0)) / 1000;
  };
  process.stderr.write(`cost model at ${SIZE_FOR_BUDGET}^2: forward ${fwdMs.toFixed(0)} ms, VJP ${vjpMs.toFixed(0)} ms\n`);

  const measured = (c: Config, task: string): Run[] => names.map((n) => done.get(`${keyOf(c)}|${task}|${n}`)!).filter(Boolean);
  const score = (c: Config, task: string): number => mean(measured(c, task).map((r) => r.psnr));

  const problem = (task: (typeof tasks)[number], i: number) => sweepProblem(task, crops[i]!, i);

  async function measure(c: Config, task: (typeof tasks)[number]): Promise<number> {
    for (let i = 0; i < photos.length; i++) {
      const k = `${keyOf(c)}|${task.id}|${names[i]}`;
      if (done.has(k)) continue;
      const { seed, clean, op, y } = problem(task, i);
      const res = await solve({ op, y, sigmaY: task.spec.sigmaY, model, seed }, solverSettings(c));
      const r: Run = {
        key: keyOf(c),
        task: task.id,
        image: names[i]!,
        psnr: psnr(res.x, clean.data),
        nfe: res.stats.nfe,
        vjps: res.stats.vjps,
        wallMs: res.stats.wallMs,
        stationarity: res.stats.stationarity ?? NaN,
      };
      runs.push(r);
      done.set(k, r);
    }
    await writeFileAtomic(store, JSON.stringify({ model: model.model.manifest.provenance ?? null, size, photos: names, fwdMs, vjpMs, runs }, null, 1));
    const s = score(c, task.id);
    process.stderr.write(`[${((Date.now() - started) / 60000).toFixed(1)} min] ${keyOf(c)} ${task.id}: ${s.toFixed(2)} dB\n`);
    return s;
  }

  if (values.replay) {
    // Every configuration the other sweep measured, for the tasks it measured it on, in its order.
    const other = JSON.parse(readFileSync(values.replay, 'utf8')) as { runs: Run[] };
    const seen = new Set<string>();
    for (const r of other.runs) {
      const c = configOf(r.key);
      const task = tasks.find((t) => t.id === r.task);
      // Starts above MAX_START are stored from before the cap and can never be chosen: not replayed.
      if (!task || !rules.includes(c.rule) || seen.has(`${r.key}|${r.task}`) || c.sigmaStart > (MAX_START[task.spec.task] ?? Infinity)) continue;
      seen.add(`${r.key}|${r.task}`);
      await measure(c, task);
      for (const extra of sizedTasks.filter((t) => t.size === size && t.spec.task === task.spec.task && !seen.has(`${r.key}|${t.id}`))) {
        seen.add(`${r.key}|${extra.id}`);
        await measure(c, extra);
      }
    }
    process.stderr.write(`replayed ${seen.size} configuration-task pairs at ${size}x${size} into ${store}\n`);
    await model.release();
    return;
  }
  // The other size's runs, for --joint: PSNR by configuration, task and photo.
  const joint = values.joint ? (JSON.parse(readFileSync(values.joint, 'utf8')) as { size: number; runs: Run[] }) : undefined;
  const jointDone = new Map((joint?.runs ?? []).map((r) => [`${r.key}|${r.task}|${r.image}`, r.psnr]));
  const jointScore = (c: Config, task: string): number => {
    const v = names.map((n) => jointDone.get(`${keyOf(c)}|${task}|${n}`));
    return v.every((x) => x !== undefined) ? mean(v as number[]) : NaN;
  };

  // Reference rows: the start (the operator's estimate) and the one-call denoiser.
  const reference: Record<string, { estimate: number; oneCall?: number }> = {};
  for (const task of tasks) {
    const est: number[] = [];
    const one: number[] = [];
    for (let i = 0; i < photos.length; i++) {
      const { clean, op, y } = problem(task, i);
      est.push(psnr(op.estimate(y, task.spec.sigmaY).x, clean.data));
      if (task.spec.task === 'denoise') one.push(psnr(await model.denoise(y, clean, task.spec.sigmaY), clean.data));
    }
    reference[task.id] = { estimate: mean(est), oneCall: one.length ? mean(one) : undefined };
  }

  const f2 = (v: number | undefined): string => (v === undefined || !Number.isFinite(v) ? '-' : v.toFixed(2));
  const endOf = (c: Config): string => (c.endK ? `${c.endK} sigma_y` : c.sigmaEnd ? String(c.sigmaEnd) : 'min');
  const cfg = (c: Config): string => `${c.sigmaStart} -> ${endOf(c)}, ${c.levels} x ${c.inner}${c.rule === 'gradient' ? `, step ${c.stepScale}` : ''}`;
  const toys = await ToyChecks.load();
  const toyCache = new Map<string, { gaussianError: number; seedsOnMode: number; modeSought: boolean; pass: boolean }>();
  const toy = async (c: Config, task: Task) => {
    const k = `${keyOf(c)}|${task}`;
    if (!toyCache.has(k)) toyCache.set(k, await toys.converges(task, { ...VMLMAP_DEFAULTS, ...settingsOf(c), stepRule: c.rule }));
    return toyCache.get(k)!;
  };
  const singleSize = new Set<string>();
  const chosen: Record<string, Record<string, Record<string, Config>>> = {};
  const trades: Record<string, string | undefined> = {};
  const tried: Record<string, Record<string, Config[]>> = {};
  const chosenByTask: Record<string, Record<string, Record<string, Config>>> = {};
  for (const rule of rules) {
    chosen[rule] = {};
    chosenByTask[rule] = {};
    tried[rule] = {};
  }
  // Per engine task (deblurring covers both blurs, inpainting scratches and the box): the stages
  // decide on the mean over its benchmark tasks; the presets on the worst of them (the largest
  // loss against that task's best configuration).
  const groups = [...new Set(tasks.map((t) => t.spec.task))].map((engineTask) => ({ engineTask, members: tasks.filter((t) => t.spec.task === engineTask) }));
  for (const { engineTask, members } of groups) {
    const list: Config[] = [];
    const gScore = (c: Config): number => mean(members.map((t) => score(c, t.id)));
    const byG = (xs: Config[]) => [...xs].sort((x, y) => gScore(y) - gScore(x));
    const add = async (c: Config): Promise<void> => {
      if (list.some((d) => keyOf(d) === keyOf(c))) return;
      for (const t of members) await measure(c, t);
      list.push(c);
    };
    const sigmaY = Math.max(...members.map((t) => t.spec.sigmaY));
    const base: Config = { rule: 'fixed-point', sigmaStart: 0.25, sigmaEnd: 0, endK: 0, levels: 5, inner: 2, stepScale: 1 };
    // A: the first level. B1: schedules. B2: the end, on the best schedule and two converging ones.
    // B3: the converging schedules from sigma 0.5.
    const cap = MAX_START[engineTask] ?? Infinity;
    for (const sigmaStart of STARTS.filter((x) => x <= cap)) await add({ ...base, sigmaStart });
    const a = byG(list)[0]!;
    for (const [levels, inner] of SCHEDULES) await add({ ...a, levels, inner });
    const top = byG(list.filter((c) => c.sigmaStart === a.sigmaStart)).slice(0, 1);
    const conv = CONVERGING.slice(0, 2).map(([levels, inner]) => ({ ...a, levels, inner }));
    for (const c of [...top, ...conv]) for (const [sigmaEnd, endK] of endsFor(sigmaY)) await add({ ...c, sigmaEnd, endK });
    const b = byG(list)[0]!;
    if (0.5 <= cap) for (const [levels, inner] of CONVERGING) await add({ ...b, sigmaStart: 0.5, levels, inner });
    if (rules.includes('gradient')) {
      // The gradient rule at the fixed-point rule's best start and end, and from sigma 0.5 (converging).
      const g = byG(list)[0]!;
      for (const [levels, inner] of GRADIENT_SCHEDULES) for (const stepScale of [1, 2]) await add({ ...g, rule: 'gradient', levels, inner, stepScale });
      if (0.5 <= cap) await add({ ...g, rule: 'gradient', sigmaStart: 0.5, levels: 6, inner: 4, stepScale: 2 });
    }
    // B4 (after C, which starts from the best so far): with noisy measurements, one call at the start's level with the end at sigma_y: for
    // denoising z = y is stationary there (docs/ALGORITHM.md), so this is the converged answer.
    if (sigmaY > 0) await add({ ...b, rule: 'fixed-point', sigmaStart: STARTS[0]!, sigmaEnd: 0, endK: 1, levels: 1, inner: 0, stepScale: 1 });
    for (const rule of rules) {
      // With --joint, only what was measured at both sizes (a rule not measured at the other size
      // yet is chosen at this size alone, and the document says so).
      // The other size's own tasks of this engine task (brush strokes at 256x256), once measured there.
      const extras = sizedTasks.filter((t) => t.size === joint?.size && t.spec.task === engineTask && !!joint?.runs.some((r) => r.task === t.id));
      const atBoth = (c: Config): boolean => [...members, ...extras].every((t) => Number.isFinite(jointScore(c, t.id)));
      // Jointly only once every configuration of the rule is measured at both sizes: a partly replayed rule would choose among a subset.
      const ofRule = list.filter((c) => c.rule === rule && c.sigmaStart <= cap);
      const jointRule = !!joint && ofRule.length > 0 && ofRule.every(atBoth);
      if (joint && !jointRule) singleSize.add(`${rule} ${engineTask}`);
      const both = (c: Config): boolean => !jointRule || atBoth(c);
      const mine = list.filter((c) => c.rule === rule && c.sigmaStart <= cap && both(c));
      for (const t of members) tried[rule]![t.id] = mine;
      // The worst benchmark task's loss against the best configuration of either rule on it (at
      // either size, with --joint).
      const pool = list.filter(both);
      const bestOf = new Map(members.map((t) => [t.id, Math.max(...pool.map((c) => score(c, t.id)))]));
      const bestJoint = new Map([...members, ...extras].map((t) => [t.id, Math.max(...pool.map((c) => jointScore(c, t.id)))]));
      const worst = (c: Config): number =>
        Math.min(...members.map((t) => score(c, t.id) - bestOf.get(t.id)!), ...(jointRule ? [...members, ...extras].map((t) => jointScore(c, t.id) - bestJoint.get(t.id)!) : []));
      const ranked = (xs: Config[]) => [...xs].sort((x, y) => worst(y) - worst(x));
      // Of a ranked list, the cheapest within COST_TIE_DB of its first: no time for a difference the photos cannot tell.
      const cheapestNear = (xs: Config[]): Config | undefined =>
        xs.filter((c) => worst(c) >= worst(xs[0]!) - COST_TIE_DB).reduce<Config | undefined>((x, y) => (!x || costS(y) < costS(x) ? y : x), undefined);
      const pick: Record<string, Config> = {};
      for (const [preset, budget] of Object.entries(BUDGET_S)) {
        const fits = ranked(mine.filter((c) => costS(c) <= budget));
        const top = cheapestNear(fits) ?? mine.reduce((x, y) => (costS(y) < costS(x) ? y : x));
        let choice = top;
        let why: string | undefined;
        // balanced and best reach the mode on the exact priors unless that costs more than
        // TRADE_DB on the photos (on the worst task); fast may trade it for time. Either way the
        // trade is written down.
        const passing: Config[] = [];
        for (const c of fits) if ((await toy(c, engineTask)).pass) passing.push(c);
        const converging = cheapestNear(passing);
        if (preset !== 'fast' && converging && worst(top) - worst(converging) <= TRADE_DB) choice = converging;
        if (!(await toy(choice, engineTask)).pass) {
          why = converging
            ? `${f2(worst(top) - worst(converging))} dB of PSNR on its worst task on the development photos: the best configuration within ${budget} s that reaches the mode on the exact priors (${cfg(converging)}) scores ${members.map((t) => `${t.id} ${f2(score(converging!, t.id))}`).join(', ')} dB against ${members.map((t) => `${f2(score(choice, t.id))}`).join(', ')}`
            : Number.isFinite(cap)
              ? `fidelity on colourless regions: starts above ${cap} tinted them (MAX_START in bench/studies/presets.ts), and none of the ${fits.length} configurations measured from ${cap} or below within ${budget} s reaches the mode on the exact priors`
              : `time: ${fits.length ? `none of the ${fits.length} configurations measured within ${budget} s reaches` : `no configuration measured fits ${budget} s, and the cheapest (${cfg(choice)}, ${costS(choice).toFixed(1)} s) does not reach`} the mode on the exact priors${rule === 'gradient' ? ' (the gradient rule contracts more slowly per step than the fixed-point rule and a VJP costs about 3 forwards: docs/ALGORITHM.md)' : ''}`;
        }
        pick[preset] = choice;
        trades[`${rule === 'gradient' ? 'vml-map' : 'vml-fp'} ${preset} ${engineTask}`] = why;
      }
      for (const t of members) chosen[rule]![t.id] = pick;
      chosenByTask[rule]![engineTask] = pick;
    }
  }
  await toys.release();

  const toyCell = (c: Config, task: Task): string => {
    const t = toyCache.get(`${keyOf(c)}|${task}`);
    return t ? `${t.gaussianError.toExponential(1)}, ${t.modeSought ? `${t.seedsOnMode}/20` : 'no mode to seek'}${t.pass ? '' : ' (does not converge)'}` : '-';
  };
  const md: string[] = [
    '# VML-MAP presets',
    '',
    `Generated by \`node out/cli/bench/studies/presets.js --images ${photos.length} --size ${size}${values.joint ? ` --joint ${values.joint}` : ''}\` (bench/studies/presets.ts) on ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC; do not edit by hand. Raw runs: ${store}${joint ? ` (${size}x${size}) and ${values.joint} (${joint.size}x${joint.size})` : ''}.`,
    ...(joint
      ? [
          '',
          `**Two sizes.** The configurations below were measured at ${size}x${size} and at ${joint.size}x${joint.size} (the same photos and seeds); each preset takes the one whose worst loss over the benchmark tasks at either size is least.${singleSize.size ? ` Not yet (or only partly) measured at ${joint.size}x${joint.size}, so chosen at ${size}x${size} alone: ${[...singleSize].join(', ')}.` : ''} Scores are written \`${size} / ${joint.size}\`.`,
        ]
      : []),
    '',
    `- **Model**: \`${values.model}\` (${(model.model.manifest.provenance as { samplesSeen?: number } | undefined)?.samplesSeen ?? '?'} training samples).`,
    `- **Images**: all ${photos.length} development photos (${names.map((n) => `\`${n}\``).join(', ')}), centred square crops resized to ${size}x${size}; seeds 2000 + image index; the benchmark's seven tasks (bench/config.ts).`,
    `- **Cost**: a forward at ${SIZE_FOR_BUDGET}x${SIZE_FOR_BUDGET} took ${fwdMs.toFixed(0)} ms and a VJP ${vjpMs.toFixed(0)} ms on this machine (2-core CPU, onnxruntime CPU provider, idle but for this sweep; measured with the runs and kept in sweep.json); a fixed-point configuration's time is levels x (inner + 1) forwards; a gradient one's is the forwards and VJPs its runs made on average (nominally levels x (inner + 1) and levels x inner: its safeguard adds a forward per shortened trial and ends a level early where no shorter step keeps the residual from growing). Budgets: fast ${BUDGET_S.fast} s, balanced ${BUDGET_S.balanced} s, best ${BUDGET_S.best} s.`,
    `- **Rule per preset**: presets are per engine task (deblur covers both blurs, inpaint the scratches and the box). Each takes the configuration whose worst benchmark task loses least against that task's best configuration, within its time budget, or the cheapest within ${COST_TIE_DB} dB of it. Balanced and best take one that converges on the exact priors (tests/oracles/toy-checks.ts: the Gaussian prior within 1e-2 of the closed-form MAP for the task's operator, the higher mode of the two-mode mixture on at least 18 of 20 seeds, except denoising that ends at sigma_y: there z = y is the only stationary point for any prior, no mode to seek) unless that costs more than ${TRADE_DB} dB on the worst task; fast may trade convergence for time. Every trade is listed below. Configurations are written \`sigmaStart -> sigmaEnd, levels x inner\`; "toys" gives the Gaussian error and the seeds on the mode.`,
    '',
    '## The presets',
    '',
    `| rule | preset | ${tasks.map((t) => t.id).join(' | ')} |`,
    `|${' --- |'.repeat(2 + tasks.length)}`,
  ];
  for (const rule of rules)
    for (const preset of Object.keys(BUDGET_S)) {
      md.push(
        `| ${rule} | ${preset} | ${tasks
          .map((t) => {
            const c = chosen[rule]![t.id]![preset]!;
            return `${f2(score(c, t.id))}${joint ? ` / ${f2(jointScore(c, t.id))}` : ''} dB (${cfg(c)}; ${costS(c).toFixed(1)} s; toys ${toyCell(c, t.spec.task)})`;
          })
          .join(' | ')} |`,
      );
    }
  const sizedShown = joint ? sizedTasks.filter((t) => t.size === joint.size && joint.runs.some((r) => r.task === t.id)) : [];
  if (sizedShown.length) {
    // Whole-image PSNR: the unpainted pixels are kept exactly, so differences between configurations equal those on the painted pixels.
    md.push(
      '',
      `Measured at ${joint!.size}x${joint!.size} only, and counted in the choice of its engine task's presets (whole-image PSNR, dB):`,
      '',
      `| rule | preset | ${sizedShown.map((t) => t.id).join(' | ')} |`,
      `|${' --- |'.repeat(2 + sizedShown.length)}`,
    );
    for (const rule of rules)
      for (const preset of Object.keys(BUDGET_S)) md.push(`| ${rule} | ${preset} | ${sizedShown.map((t) => f2(jointScore(chosenByTask[rule]![t.spec.task]![preset]!, t.id))).join(' | ')} |`);
  }
  md.push('', `| reference | ${tasks.map((t) => t.id).join(' | ')} |`, `|${' --- |'.repeat(1 + tasks.length)}`);
  md.push(`| the start: the operator's estimate | ${tasks.map((t) => f2(reference[t.id]!.estimate)).join(' | ')} |`);
  md.push(`| one network call (Tweedie's denoiser at sigma_y) | ${tasks.map((t) => f2(reference[t.id]!.oneCall)).join(' | ')} |`);
  for (const rule of rules)
    for (const task of tasks) {
      md.push('', `## ${rule}, ${task.id}`, '', '| configuration | time at 512^2 (s) | mean PSNR (dB) | mean stationarity \\|M^-1 r\\| / \\|z\\| | toys |', '| --- | --- | --- | --- | --- |');
      for (const c of tried[rule]![task.id]!)
        md.push(
          `| ${cfg(c)} | ${costS(c).toFixed(1)} | ${f2(score(c, task.id))}${joint ? ` / ${f2(jointScore(c, task.id))}` : ''} | ${mean(measured(c, task.id).map((r) => r.stationarity)).toExponential(1)} | ${toyCell(c, task.spec.task)} |`,
        );
    }
  // The size-only tasks per configuration, so a trade against them (a preset that converges but scores lower there) is visible.
  for (const rule of rules)
    for (const t of sizedShown) {
      const member = tasks.find((m) => m.spec.task === t.spec.task);
      const configs = (member ? tried[rule]![member.id]! : []).filter((c) => Number.isFinite(jointScore(c, t.id)));
      if (!configs.length) continue;
      md.push('', `## ${rule}, ${t.id} (${joint!.size}x${joint!.size} only)`, '', '| configuration | time at 512^2 (s) | whole-image PSNR (dB) | toys |', '| --- | --- | --- | --- |');
      for (const c of configs) md.push(`| ${cfg(c)} | ${costS(c).toFixed(1)} | ${f2(jointScore(c, t.id))} | ${toyCell(c, t.spec.task)} |`);
    }
  const entries = Object.fromEntries(
    rules.map((rule) => [
      rule,
      Object.fromEntries(
        Object.keys(BUDGET_S).map((preset) => [
          preset,
          Object.fromEntries(
            Object.entries(chosenByTask[rule]!).map(([engineTask, pick]) => {
              const c = pick[preset]!;
              const why = trades[`${rule === 'gradient' ? 'vml-map' : 'vml-fp'} ${preset} ${engineTask}`];
              return [engineTask, { settings: settingsOf(c), ...(why ? { trades: why } : {}) }];
            }),
          ),
        ]),
      ),
    ]),
  );
  await writeFileAtomic(join(values.out!, 'presets', 'chosen.json'), JSON.stringify(entries, null, 1));
  if (values['write-engine']) await writeFileAtomic('engine/solvers/presets.ts', presetsModule(entries));
  if (rules.length > 1) {
    // The two rules at equal time: per time budget at 512x512, the best of each rule's configurations that fit it.
    const budgets = [5, 10, 15, 30, 60, 120];
    md.push(
      '',
      '## The two rules at equal time',
      '',
      `Per task and time budget at ${SIZE_FOR_BUDGET}x${SIZE_FOR_BUDGET} (the cost model above), the best mean PSNR (dB) at ${size}x${size} among each rule's configurations measured here that fit it, written \`${rules.join(' / ')}\`; "-" where none fits. The gradient rule was measured on fewer configurations (stage C above).`,
      '',
      `| task | ${budgets.map((b) => `${b} s`).join(' | ')} |`,
      `|${' --- |'.repeat(1 + budgets.length)}`,
    );
    for (const task of tasks)
      md.push(
        `| ${task.id} | ${budgets
          .map((b) =>
            rules
              .map((rule) => {
                const fit = (tried[rule]![task.id] ?? []).filter((c) => costS(c) <= b);
                return fit.length ? f2(Math.max(...fit.map((c) => score(c, task.id)))) : '-';
              })
              .join(' / '),
          )
          .join(' | ')} |`,
      );
  }
  md.push('', '## What the presets trade', '');
  for (const [k, why] of Object.entries(trades)) if (why) md.push(`- ${k}: ${why}.`);
  md.push('', 'The chosen settings, per rule, preset and benchmark task: docs/presets/chosen.json (engine/solvers/presets.ts holds the same, checked by tests/engine/presets.test.ts).', '');
  await writeFileAtomic(join(values.out!, 'PRESETS.md'), md.join('\n'));
  await model.release();
}

main();
