/** The types of a restoration job: what it is given, how it is planned, what it returns. */
import type { SolverSettings } from '../solvers/index.js';
import type { SolverSpec, TaskSpec } from '../tasks.js';
import type { Img, Progress, Shape, SolveStats } from '../types.js';
import type { RegionPlan } from './regions.js';
import type { Tile } from './tiles.js';

export interface RestoreJob {
  /** The photo to restore, 3 channels in [0, 1]: the measurement y (its luma for colourisation). */
  image: Img;
  /** Inpainting: h*w observed weights, 1 = observed, 0 = missing (engine/photo/user-mask.ts converts a person's mask). */
  observed?: Float64Array;
  spec: TaskSpec;
  solver: SolverSpec;
  previewEvery?: number;
  /** Large images and inpainting by region (engine/job/, docs/TILING.md); defaults when absent. */
  tiling?: TilingOptions;
  /** Refuse the job (JobTooLongError) when its estimated time is above this; no estimate when absent. */
  maxSeconds?: number;
}

/** What restore() decides before touching pixels: the plan, and the time estimate when asked for. */
export interface Preflight {
  clean: Shape;
  settings: SolverSettings;
  plan: JobPlan;
  estimate?: TimeEstimate;
}

export interface RestoreResult {
  image: Img;
  stats: SolveStats;
  operator: string;
  /** How the job ran: whole, in tiles or by region, and what the memory preflight found. */
  tiling?: TilingReport;
  estimate?: TimeEstimate;
}

export interface RunOptions {
  signal?: AbortSignal;
  onProgress?: (p: Progress) => void;
  /** Progress per network step rather than per noise level (SolveInput.stepProgress): for a progress bar. */
  stepProgress?: boolean;
}

export interface TilingOptions {
  /** 'auto' (default) picks by size and memory; 'whole' and 'tiles' force a mode. */
  mode?: 'auto' | 'whole' | 'tiles';
  /** Inpainting by region when it solves fewer pixels than the whole image (default true). */
  regions?: boolean;
  /** Bytes this process may hold while the job runs; default its resident set + 75% of available. */
  memoryBudget?: number;
  /** Largest tile in pixels of the restored image (default 768 x 768). */
  maxTilePixels?: number;
  /** Images up to this many pixels are solved whole when memory allows (default 2^21, about 1448 x 1448). */
  maxWholePixels?: number;
  /** Network context kept around each tile's kept area, beyond the operator's support (default 32). */
  context?: number;
  /** Cross-fade width between tiles (default 32). */
  overlap?: number;
  /** Inpainting: observed pixels around a region in its window (default 12). */
  inpaintContext?: number;
  /** Inpainting: grid cell that covers long regions (default 64), and their cross-fade (default 4). */
  inpaintCell?: number;
  inpaintOverlap?: number;
}

export interface TilingReport {
  mode: 'whole' | 'tiles' | 'regions';
  /** Solves run (tiles or windows). */
  solves: number;
  /** Pixels of all solved windows together (overlaps counted each time). */
  solvedPixels: number;
  /** Tiles: the tile side limits (window height and width), margin and cross-fade width. */
  tileH?: number;
  tileW?: number;
  margin?: number;
  overlap?: number;
  /** Inpainting by region: masked pixels and connected regions. */
  maskedPixels?: number;
  regions?: number;
  memory: {
    budget: number;
    rss: number;
    available: number;
    /** Largest solve the memory allows, in pixels. */
    maxSolvePixels: number;
    modelBytesPerPixel: number;
    how: string;
  };
}

export interface JobPlan {
  report: TilingReport;
  tiles?: Tile[];
  regions?: RegionPlan;
}

export interface CallCounts {
  forwards: number;
  vjps: number;
}

/** Milliseconds per megapixel solved: once per solve (the start) and per noise level. */
export interface SolveCost {
  startMsPerMP: number;
  levelMsPerMP: number;
}

export interface TimeEstimate extends CallCounts {
  seconds: number;
  /** Pixels solved, summed over every solve (tiles overlap, regions are windows). */
  solvedPixels: number;
  solves: number;
  levels: number;
  cost: SolveCost;
}
