/**
 * What a user asks for, as plain data (it crosses IPC and the CLI): the task, its parameters and the
 * solver settings. engine/restore.ts turns it into an operator and runs a solver.
 */

export const TASKS = ['inpaint', 'sr', 'deblur', 'denoise', 'colorize'] as const;
export type Task = (typeof TASKS)[number];

export const SOLVERS = ['vml-map', 'dps', 'diffpir', 'ddnm'] as const;
export type SolverName = (typeof SOLVERS)[number];

export const PRESETS = ['fast', 'balanced', 'best'] as const;
export type Preset = (typeof PRESETS)[number];

export type KernelSpec =
  | { type: 'gaussian'; std: number }
  | { type: 'motion'; length: number; angle: number }
  /** A user kernel: rows of non-negative or signed weights; normalised to sum 1 (must sum > 0). */
  | { type: 'matrix'; rows: number[][] };

export interface TaskSpec {
  task: Task;
  /** Super-resolution factor. */
  scale?: 2 | 3 | 4;
  srKernel?: 'box' | 'bicubic';
  /** Deblurring kernel. */
  kernel?: KernelSpec;
  /** Measurement noise standard deviation, in [0, 1] image units. */
  sigmaY: number;
}

export interface SolverSpec {
  solver: SolverName;
  preset: Preset;
  /** Overrides the preset's number of noise levels. */
  steps?: number;
  seed: number;
}
