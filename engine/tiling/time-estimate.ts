/**
 * How long a planned job will take, before it starts: the network calls each solve makes (from the
 * solver's settings) times the pixels solved, at the cost per pixel of one call measured on this
 * model and provider at 128x128. It is an estimate for refusing jobs that would run for hours and
 * for telling people what to expect; the engine's own arithmetic between calls is not counted.
 */
import type { Denoiser } from '../model/denoiser.js';
import { roundUp } from '../model/pad.js';
import type { SolverSettings } from '../solvers/index.js';
import { UserError } from '../types.js';
import type { TilingReport } from './tiled.js';

export interface CallCounts {
  forwards: number;
  vjps: number;
}

/** Network calls one solve makes with these settings (what its stats.nfe and stats.vjps will say). */
export function callsPerSolve(s: SolverSettings): CallCounts {
  switch (s.solver) {
    case 'vml-map':
    case 'vml-fp': {
      const { levels, inner, stepRule } = s.settings;
      // inner steps per level, each one forward (and one VJP for the gradient rule), then the level's denoise.
      return { forwards: levels * (inner + 1), vjps: stepRule === 'gradient' ? levels * inner : 0 };
    }
    case 'dps':
      return { forwards: s.settings.steps, vjps: s.settings.steps };
    case 'diffpir':
    case 'ddnm':
      return { forwards: s.settings.steps, vjps: 0 };
  }
}

export interface CallCost {
  /** Milliseconds per megapixel of one forward call and of one VJP call. */
  forwardMsPerMP: number;
  vjpMsPerMP: number;
}

export interface TimeEstimate extends CallCounts {
  seconds: number;
  /** Pixels solved, summed over every solve (tiles overlap, regions are windows). */
  solvedPixels: number;
  solves: number;
  cost: CallCost;
}

const costs = new WeakMap<Denoiser, Map<boolean, CallCost>>();

/**
 * One call of each graph the solve uses, timed after a warm-up call, at 128x128 (or the model's
 * fixed size). The denoiser's counters are left as they were, so a job's statistics count only
 * its own calls.
 */
export async function measureCallCost(model: Denoiser, withVjp: boolean): Promise<CallCost> {
  const known = costs.get(model)?.get(withVjp);
  if (known) return known;
  const h = model.fixedSize ? model.fixedSize[0] : roundUp(128, model.sizeMultiple);
  const w = model.fixedSize ? model.fixedSize[1] : roundUp(128, model.sizeMultiple);
  const shape = { c: model.channels, h, w };
  const z = new Float64Array(shape.c * h * w).fill(0.5);
  const sigma = Math.min(model.sigmaMax, Math.max(model.sigmaMin, 0.1));
  const saved = { ...model.counters };
  const timed = async (call: () => Promise<unknown>): Promise<number> => {
    await call();
    const t0 = performance.now();
    await call();
    return ((performance.now() - t0) * 1e6) / (h * w);
  };
  try {
    const forwardMsPerMP = await timed(() => model.denoise(z, shape, sigma));
    // Without an exact VJP graph a VJP is two forward calls (finite differences).
    const vjpMsPerMP = !withVjp ? 0 : model.hasVjp ? await timed(() => model.jtv(z, shape, sigma, z)) : 2 * forwardMsPerMP;
    const cost = { forwardMsPerMP, vjpMsPerMP };
    if (!costs.has(model)) costs.set(model, new Map());
    costs.get(model)!.set(withVjp, cost);
    return cost;
  } finally {
    Object.assign(model.counters, saved);
  }
}

/** The job's time from its plan. */
export async function estimateJobTime(model: Denoiser, report: TilingReport, settings: SolverSettings): Promise<TimeEstimate> {
  const calls = callsPerSolve(settings);
  const cost = await measureCallCost(model, calls.vjps > 0);
  const mp = report.solvedPixels / 1e6;
  const seconds = (mp * (calls.forwards * cost.forwardMsPerMP + calls.vjps * cost.vjpMsPerMP)) / 1000;
  return { ...calls, seconds, solvedPixels: report.solvedPixels, solves: report.solves, cost };
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
