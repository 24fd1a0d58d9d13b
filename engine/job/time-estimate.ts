/**
 * How long a planned job will take, before it starts: a small solve of the same task with the same
 * settings is timed at one and at three noise levels, which separates the cost of the start (the
 * operator's estimate) from the cost per level, network calls and the engine's own arithmetic
 * together; both scale with the pixels the plan solves. An estimate, for refusing jobs that would
 * run for hours and for telling people what to expect.
 */
import type { Denoiser } from '../model/denoiser.js';
import { roundUp } from '../model/pad.js';
import { operatorFor } from '../operators/index.js';
import { scratchesObserved } from '../photo/masks.js';
import { type SolverSettings, solve } from '../solvers/index.js';
import type { TaskSpec } from '../tasks.js';
import { UserError } from '../types.js';
import type { CallCounts, SolveCost, TilingReport, TimeEstimate } from './types.js';

export type { CallCounts, SolveCost, TimeEstimate } from './types.js';

/** Network calls one solve makes with these settings (what its stats.nfe and stats.vjps will say). */
export function callsPerSolve(s: SolverSettings): CallCounts {
  switch (s.solver) {
    case 'vml-map':
    case 'vml-fp': {
      const { levels, inner, stepRule } = s.settings;
      // inner steps per level, each one forward (and one VJP for the gradient rule), then the level's denoise.
      // An upper bound where the solve stands still: a call at the last call's z and level is reused (vmlmap.ts).
      // The gradient rule's safeguard adds a forward per step it shortens, and skips the rest of a level where it stalls.
      return { forwards: levels * (inner + 1), vjps: stepRule === 'gradient' ? levels * inner : 0 };
    }
    case 'dps':
      return { forwards: s.settings.steps, vjps: s.settings.steps };
    case 'diffpir':
    case 'ddnm':
      return { forwards: s.settings.steps, vjps: 0 };
  }
}

/** The number of noise levels (steps) of a solve, and the same settings with another number. */
export function levelsOf(s: SolverSettings): number {
  return 'levels' in s.settings ? s.settings.levels : s.settings.steps;
}

function withLevels(s: SolverSettings, n: number): SolverSettings {
  if (s.solver === 'vml-map' || s.solver === 'vml-fp') return { ...s, settings: { ...s.settings, levels: n } };
  return { ...s, settings: { ...s.settings, steps: n } } as SolverSettings;
}

const costs = new WeakMap<Denoiser, Map<string, SolveCost>>();
/** Side of the timed solve: large enough that per-pixel work dominates, small enough to cost well under a second. */
const PROBE_SIDE = 96;

/**
 * Times a PROBE_SIDE-square solve of the task with these settings at one and at three levels
 * (after a warm-up run). The denoiser's counters are left as they were, so a job's statistics
 * count only its own calls.
 */
export async function measureSolveCost(model: Denoiser, spec: TaskSpec, settings: SolverSettings): Promise<SolveCost> {
  const key = JSON.stringify([spec, settings]);
  const known = costs.get(model)?.get(key);
  if (known) return known;
  const k = spec.task === 'sr' ? (spec.scale ?? 2) : 1;
  const step = k * model.sizeMultiple;
  const [h, w] = model.fixedSize ?? [roundUp(PROBE_SIDE, step), roundUp(PROBE_SIDE, step)];
  const clean = { c: 3, h, w };
  // An old photo is timed with a mask: the masked chain is its slowest form.
  const op = operatorFor(spec, clean, spec.task === 'inpaint' || spec.task === 'old-photo' ? scratchesObserved(h, w, 1) : undefined);
  const x = new Float64Array(3 * h * w);
  for (let i = 0; i < x.length; i++) x[i] = 0.5 + 0.2 * Math.sin(i * 0.37);
  const y = op.forward(x);
  const saved = { ...model.counters };
  const timed = async (levels: number): Promise<number> => {
    const t0 = performance.now();
    await solve({ op, y, sigmaY: spec.sigmaY, model, seed: 0 }, withLevels(settings, levels));
    return performance.now() - t0;
  };
  try {
    await timed(1);
    const one = await timed(1);
    const three = await timed(3);
    const mp = (h * w) / 1e6;
    const level = Math.max(0, (three - one) / 2);
    const cost = { startMsPerMP: Math.max(0, one - level) / mp, levelMsPerMP: level / mp };
    if (!costs.has(model)) costs.set(model, new Map());
    costs.get(model)!.set(key, cost);
    return cost;
  } finally {
    Object.assign(model.counters, saved);
  }
}

/** The job's time from its plan. */
export async function estimateJobTime(model: Denoiser, spec: TaskSpec, report: TilingReport, settings: SolverSettings): Promise<TimeEstimate> {
  const cost = await measureSolveCost(model, spec, settings);
  const levels = levelsOf(settings);
  const mp = report.solvedPixels / 1e6;
  const seconds = (mp * (cost.startMsPerMP + levels * cost.levelMsPerMP)) / 1000;
  return { ...callsPerSolve(settings), seconds, levels, solvedPixels: report.solvedPixels, solves: report.solves, cost };
}

/** "2 h 5 min", "14 min", "40 s". */
export function formatDuration(seconds: number): string {
  if (seconds < 60) return `${Math.max(1, Math.round(seconds))} s`;
  const min = Math.round(seconds / 60);
  if (min < 60) return `${min} min`;
  return `${Math.floor(min / 60)} h ${min % 60} min`;
}

/** A job whose estimated time is above the caller's limit; the message gives the estimate. */
export class JobTooLongError extends UserError {
  constructor(
    readonly estimate: TimeEstimate,
    readonly limitSeconds: number,
  ) {
    const calls = estimate.forwards + estimate.vjps;
    super(
      `this job would take about ${formatDuration(estimate.seconds)} (${calls} network calls on each of ${estimate.solves} solve${estimate.solves === 1 ? '' : 's'}, ` +
        `${(estimate.solvedPixels / 1e6).toFixed(1)} MP solved), above the limit of ${formatDuration(limitSeconds)}`,
    );
  }
}
