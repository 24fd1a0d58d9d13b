/**
 * One entry point for every solver: name + preset (+ optional overrides) -> settings -> result.
 * The presets' numbers are chosen by measurement on the development set: docs/PRESETS.md says
 * which command measured them.
 */
import type { Preset, SolverName } from '../tasks.js';
import { ddnm, type DdnmSettings, diffpir, type DiffPirSettings, dps, type DpsSettings } from './baselines.js';
import type { SolveInput, SolveResult } from './common.js';
import { vmlMap, VMLMAP_DEFAULTS, type VmlMapSettings } from './vmlmap.js';

export type { SolveInput, SolveResult } from './common.js';

export type SolverSettings =
  | { solver: 'vml-map'; settings: VmlMapSettings }
  | { solver: 'dps'; settings: DpsSettings }
  | { solver: 'diffpir'; settings: DiffPirSettings }
  | { solver: 'ddnm'; settings: DdnmSettings };

/**
 * Measured by tools/presets.ts on development photos (docs/PRESETS.md), with the models at 96,832
 * and at 1,078,368 training samples, which chose the same presets: over 54 configurations, the mean
 * PSNR on the benchmark's seven tasks peaked at 5 levels x 3 inner steps from sigma 1 (20 network
 * calls; 26.51 dB with the later model) and fell with longer schedules (20 x 3 from sigma 20, the
 * earlier guess, 0.8 and 1.0 dB lower): more mode-seeking steps fit the prior's errors. best is
 * that peak; balanced and fast are the cheapest within 0.3 and 1 dB of it on every task, and both
 * are 5 x 2 (largest loss 0.30 dB): every cheaper schedule lost more than 1 dB somewhere (3 x 2: 1.7
 * dB with the later model, 1.3 with the earlier, the worst task being scratch
 * inpainting). Re-measure with `node out/cli/tools/presets.js` whenever the default model changes.
 */
const VML_PRESETS: Record<Preset, Partial<VmlMapSettings>> = {
  fast: { sigmaStart: 1, levels: 5, inner: 2 },
  balanced: { sigmaStart: 1, levels: 5, inner: 2 },
  best: { sigmaStart: 1, levels: 5, inner: 3 },
};

const STEPS: Record<Preset, number> = { fast: 25, balanced: 50, best: 100 };

export function settingsFor(
  solver: SolverName,
  preset: Preset,
  overrides: { steps?: number; vml?: Partial<VmlMapSettings> } = {},
): SolverSettings {
  switch (solver) {
    case 'vml-map': {
      const s: VmlMapSettings = { ...VMLMAP_DEFAULTS, ...VML_PRESETS[preset], ...overrides.vml };
      if (overrides.steps) s.levels = overrides.steps;
      return { solver, settings: s };
    }
    case 'dps':
      return { solver, settings: { steps: overrides.steps ?? { fast: 100, balanced: 250, best: 1000 }[preset], zeta: 1.0, sigmaStart: 80 } };
    case 'diffpir':
      return { solver, settings: { steps: overrides.steps ?? STEPS[preset], lambda: 7, zeta: 0.3, sigmaStart: 80, sigmaYFloor: 1e-3 } };
    case 'ddnm':
      return { solver, settings: { steps: overrides.steps ?? STEPS[preset], eta: 0.85, sigmaStart: 80 } };
  }
}

export function solve(input: SolveInput, s: SolverSettings): Promise<SolveResult> {
  switch (s.solver) {
    case 'vml-map':
      return vmlMap(input, s.settings);
    case 'dps':
      return dps(input, s.settings);
    case 'diffpir':
      return diffpir(input, s.settings);
    case 'ddnm':
      return ddnm(input, s.settings);
  }
}
