/**
 * One entry point for every solver: name + preset + task (+ optional overrides) -> settings ->
 * result. The presets' numbers are chosen by measurement on the development set: docs/PRESETS.md
 * says which command measured them and what each one trades.
 */
import type { Preset, SingleTask, SolverName, Task } from '../tasks.js';
import { ddnm, type DdnmSettings } from './ddnm.js';
import { diffpir, type DiffPirSettings } from './diffpir.js';
import { dps, type DpsSettings } from './dps.js';
import type { SolveInput, SolveResult } from './common.js';
import { OLD_PHOTO_PRESETS } from './old-photo-presets.js';
import { type PresetEntry, VML_PRESETS } from './presets.js';
import { type StepRule, vmlMap, VMLMAP_DEFAULTS, type VmlMapSettings } from './vmlmap.js';

export type { SolveInput, SolveResult } from './common.js';

export type SolverSettings =
  { solver: 'vml-map' | 'vml-fp'; settings: VmlMapSettings } | { solver: 'dps'; settings: DpsSettings } | { solver: 'diffpir'; settings: DiffPirSettings } | { solver: 'ddnm'; settings: DdnmSettings };

const STEPS: Record<Preset, number> = { fast: 25, balanced: 50, best: 100 };

export interface SettingsOverrides {
  /** Number of noise levels (diffusion steps for the baselines). */
  steps?: number;
  vml?: Partial<VmlMapSettings>;
}

/** VML-MAP's preset entry (settings, and what it trades) for a rule, preset and task. */
export function vmlPreset(rule: StepRule, preset: Preset, task: Task): PresetEntry {
  return task === 'old-photo' ? OLD_PHOTO_PRESETS[rule][preset] : VML_PRESETS[rule][preset][task as SingleTask];
}

/** The settings a solver runs with for a task at a preset; VML-MAP's presets differ per task. */
export function settingsFor(solver: SolverName, preset: Preset, task: Task, overrides: SettingsOverrides = {}): SolverSettings {
  switch (solver) {
    case 'vml-map':
    case 'vml-fp': {
      const rule = solver === 'vml-map' ? 'gradient' : 'fixed-point';
      const s: VmlMapSettings = { ...VMLMAP_DEFAULTS, ...vmlPreset(rule, preset, task).settings, stepRule: rule, ...overrides.vml };
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
    case 'vml-fp':
      return vmlMap(input, s.settings);
    case 'dps':
      return dps(input, s.settings);
    case 'diffpir':
      return diffpir(input, s.settings);
    case 'ddnm':
      return ddnm(input, s.settings);
  }
}
