/**
 * What a user asks for, as plain data (it crosses IPC and the CLI): the task, its parameters and the
 * solver settings. engine/job/restore.ts turns it into an operator and runs a solver.
 */

/** Tasks with one degradation each: one operator, and presets measured per task (docs/PRESETS.md). */
export const SINGLE_TASKS = ['inpaint', 'sr', 'deblur', 'denoise', 'colorize'] as const;
export type SingleTask = (typeof SINGLE_TASKS)[number];
/**
 * 'old-photo' solves several degradations at once as one MAP problem: an optional Gaussian blur, grain
 * (sigma_y), optional missing colour (luma) and an optional mask of damaged pixels, in that order.
 */
export const TASKS = [...SINGLE_TASKS, 'old-photo'] as const;
export type Task = (typeof TASKS)[number];

export const SOLVERS = ['vml-map', 'vml-fp', 'dps', 'diffpir', 'ddnm'] as const;
export type SolverName = (typeof SOLVERS)[number];
/**
 * What the app and the CLI run unless asked otherwise: the VML-MAP rule that measured better on the
 * development photos at the same time budget (docs/PRESETS.md).
 */
export const DEFAULT_SOLVER: SolverName = 'vml-fp';

export const PRESETS = ['fast', 'balanced', 'best'] as const;
export type Preset = (typeof PRESETS)[number];

/** Super-resolution factors, and the downsampling kernels an SR measurement may have come from. */
export const SR_SCALES = [2, 3, 4] as const;
export type SrScale = (typeof SR_SCALES)[number];
export const SR_KERNELS = ['box', 'bicubic'] as const;
export type SrKernel = (typeof SR_KERNELS)[number];

export type KernelSpec =
  | { type: 'gaussian'; std: number }
  | { type: 'motion'; length: number; angle: number }
  /** A user kernel: rows of non-negative or signed weights; normalised to sum 1 (must sum > 0). */
  | { type: 'matrix'; rows: number[][] };

export interface TaskSpec {
  task: Task;
  /** Super-resolution factor. */
  scale?: SrScale;
  srKernel?: SrKernel;
  /** Deblurring kernel; for old-photo optional (no blur when absent). */
  kernel?: KernelSpec;
  /** old-photo only: the photo lost its colour (its luma is the measurement), so colours are restored too. */
  colorize?: boolean;
  /** Measurement noise standard deviation, in [0, 1] image units. */
  sigmaY: number;
}

export interface SolverSpec {
  solver: SolverName;
  preset: Preset;
  /** Overrides the preset's number of noise levels. */
  steps?: number;
  /**
   * VML-MAP only: 0 (default) = the MAP; up to 1 moves toward a posterior sample (fresh noise between
   * noise levels): more texture in large holes, lower PSNR (docs/ALGORITHM.md).
   */
  detail?: number;
  seed: number;
}
