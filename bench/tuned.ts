/** DiffPIR and DDNM at their own best settings (bench/tuned-baselines.ts, chosen by bench/studies/baselines.ts) as engine settings. */
import { settingsFor, type SolverSettings } from '../engine/solvers/index.js';
import type { Task } from '../engine/tasks.js';
import { TUNED_DDNM, TUNED_DIFFPIR } from './tuned-baselines.js';

export function tunedSettings(solver: 'diffpir' | 'ddnm', task: Task, steps?: number): SolverSettings {
  const base = settingsFor(solver, 'balanced', task);
  const own = (solver === 'diffpir' ? TUNED_DIFFPIR : TUNED_DDNM)[task];
  if (!own) throw new Error(`no tuned ${solver} settings for ${task}: run bench/studies/baselines.ts`);
  return { ...base, settings: { ...base.settings, ...own, ...(steps ? { steps } : {}) } } as SolverSettings;
}
