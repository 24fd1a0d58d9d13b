/**
 * What the benchmark measures: the tasks, the solver variants and the two plans (full and quick).
 * Everything here is plain data so that the parent process can hand one run to a child as JSON.
 */
import type { Preset, SolverName, TaskSpec } from '../engine/tasks.js';

export interface BenchTask {
  id: string;
  label: string;
  spec: TaskSpec;
  /** Inpainting masks are made per image from its seed. */
  mask?: 'scratches' | 'box' | 'painted';
  /** Only in the where-the-time-goes probe, not in the quality matrix. */
  probeOnly?: boolean;
  /** Measured only at this crop size, in a block of its own (brush strokes are sized for 256x256). */
  size?: number;
}

export const TASKS: BenchTask[] = [
  { id: 'denoise', label: 'denoising, sigma_y = 0.05', spec: { task: 'denoise', sigmaY: 0.05 } },
  { id: 'sr4', label: 'super-resolution x4 (box), sigma_y = 0', spec: { task: 'sr', scale: 4, srKernel: 'box', sigmaY: 0 } },
  {
    id: 'deblur-gauss',
    label: 'Gaussian deblurring, std 2.0 (13x13), sigma_y = 0.01',
    spec: { task: 'deblur', kernel: { type: 'gaussian', std: 2 }, sigmaY: 0.01 },
  },
  {
    id: 'deblur-motion',
    label: 'motion deblurring, length 9, horizontal, sigma_y = 0.01',
    spec: { task: 'deblur', kernel: { type: 'motion', length: 9, angle: 0 }, sigmaY: 0.01 },
  },
  { id: 'inpaint-scratch', label: 'scratch inpainting (thin strokes, ~8% of pixels), sigma_y = 0', spec: { task: 'inpaint', sigmaY: 0 }, mask: 'scratches' },
  { id: 'inpaint-box', label: 'box inpainting (centred square hole), sigma_y = 0', spec: { task: 'inpaint', sigmaY: 0 }, mask: 'box' },
  { id: 'colorize', label: 'colourisation (from Rec. 601 luma), sigma_y = 0', spec: { task: 'colorize', sigmaY: 0 } },
  {
    id: 'inpaint-painted',
    label: 'inpainting of brush strokes as a person paints them (12-28 px wide, 8-18% of the photo), sigma_y = 0',
    spec: { task: 'inpaint', sigmaY: 0 },
    mask: 'painted',
    size: 256,
  },
  {
    id: 'deblur-motion45',
    label: 'motion deblurring, length 9, 45 degrees (no closed-form solve: conjugate gradients), sigma_y = 0.01',
    spec: { task: 'deblur', kernel: { type: 'motion', length: 9, angle: 45 }, sigmaY: 0.01 },
    probeOnly: true,
  },
];

export function taskById(id: string): BenchTask {
  const t = TASKS.find((x) => x.id === id);
  if (!t) throw new Error(`unknown bench task ${id}`);
  return t;
}

/**
 * One solver configuration. `pinv` is A^+ y and `estimate` the operator's starting estimate (no
 * network); `one-call` is the network once as Tweedie's denoiser at sigma_y (denoising only).
 */
export interface Variant {
  id: string;
  label: string;
  solver: SolverName | 'pinv' | 'estimate' | 'one-call';
  preset: Preset;
  steps?: number;
  /** DiffPIR / DDNM at VML-MAP balanced's start (its estimate plus noise to its first level) and network calls. */
  matched?: boolean;
  /** DiffPIR / DDNM at their own best settings per task, from a sweep as VML-MAP's presets (bench/tuned.ts). */
  tuned?: boolean;
  /** Run on the forward-only copy of the model (finite-difference J^T v). */
  forwardOnly?: boolean;
  /** Plot family: points of one family are joined by a line. */
  family: string;
}

export const VARIANTS: Variant[] = [
  { id: 'pinv', label: 'A^+ y', solver: 'pinv', preset: 'fast', family: 'A^+ y' },
  { id: 'estimate', label: "the operator's estimate (the solvers' start)", solver: 'estimate', preset: 'fast', family: 'estimate' },
  { id: 'one-call', label: "one network call (Tweedie's denoiser at sigma_y)", solver: 'one-call', preset: 'fast', family: 'one call' },
  { id: 'vml-fp-fast', label: 'VML-MAP fixed point, fast', solver: 'vml-fp', preset: 'fast', family: 'VML-MAP fixed point' },
  { id: 'vml-fp-balanced', label: 'VML-MAP fixed point, balanced', solver: 'vml-fp', preset: 'balanced', family: 'VML-MAP fixed point' },
  { id: 'vml-fp-best', label: 'VML-MAP fixed point, best', solver: 'vml-fp', preset: 'best', family: 'VML-MAP fixed point' },
  { id: 'vml-map-fast', label: 'VML-MAP gradient (exact VJP), fast', solver: 'vml-map', preset: 'fast', family: 'VML-MAP gradient' },
  { id: 'vml-map-balanced', label: 'VML-MAP gradient (exact VJP), balanced', solver: 'vml-map', preset: 'balanced', family: 'VML-MAP gradient' },
  { id: 'diffpir-matched', label: "DiffPIR from VML-MAP balanced's start, same network calls", solver: 'diffpir', preset: 'balanced', matched: true, family: 'DiffPIR matched' },
  { id: 'ddnm-matched', label: "DDNM from VML-MAP balanced's start, same network calls", solver: 'ddnm', preset: 'balanced', matched: true, family: 'DDNM matched' },
  { id: 'diffpir-tuned', label: 'DiffPIR at its own best settings', solver: 'diffpir', preset: 'balanced', tuned: true, family: 'DiffPIR tuned' },
  { id: 'ddnm-tuned', label: 'DDNM at its own best settings', solver: 'ddnm', preset: 'balanced', tuned: true, family: 'DDNM tuned' },
  { id: 'diffpir-fast', label: 'DiffPIR 25 steps', solver: 'diffpir', preset: 'fast', family: 'DiffPIR' },
  { id: 'diffpir-balanced', label: 'DiffPIR 50 steps', solver: 'diffpir', preset: 'balanced', family: 'DiffPIR' },
  { id: 'ddnm-fast', label: 'DDNM 25 steps', solver: 'ddnm', preset: 'fast', family: 'DDNM' },
  { id: 'ddnm-balanced', label: 'DDNM 50 steps', solver: 'ddnm', preset: 'balanced', family: 'DDNM' },
  { id: 'dps-50', label: 'DPS 50 steps', solver: 'dps', preset: 'fast', steps: 50, family: 'DPS' },
  { id: 'dps-100', label: 'DPS 100 steps', solver: 'dps', preset: 'fast', steps: 100, family: 'DPS' },
  { id: 'dps-1000', label: 'DPS 1000 steps (published)', solver: 'dps', preset: 'best', steps: 1000, family: 'DPS' },
];

export function variantById(id: string): Variant {
  const v = VARIANTS.find((x) => x.id === id);
  if (!v) throw new Error(`unknown bench variant ${id}`);
  return v;
}

/** A group of runs: these variants on these tasks, on the first `images` images of the plan. */
export interface Block {
  variants: string[];
  tasks: string[];
  images: number;
  size: number;
}

export interface Plan {
  name: 'full' | 'quick';
  /** How many development photos the plan uses (evenly spread over the sorted list). */
  images: number;
  /** The quality matrix: every block's runs end up in the per-task tables. */
  matrix: Block[];
  /** Higher-resolution comparison of VML-MAP against DPS: only with --hires (may be empty). */
  hires: Block[];
  /** Tasks of the where-the-time-goes probe with conjugate-gradient solves (VML-MAP, DiffPIR). */
  probe: Block[];
  /** Sizes for the scaling table; runSizes also run a whole restore (others are projected). */
  scaling: { sizes: number[]; runSizes: number[]; vjpSizes: number[] };
  /** Sizes (square) for the GFLOP/s measurement, and the MatMul ceiling's size. */
  roofline: { sizes: number[]; matmul: number; rounds: number };
  /** The variants the targets compare (tuned: the baselines at their own best settings). */
  compare: { vml: string; dps: string; diffpir: string; ddnm: string; tuned?: { diffpir: string; ddnm: string } };
}

const MATRIX_TASKS = TASKS.filter((t) => !t.probeOnly && !t.size).map((t) => t.id);

export const FULL: Plan = {
  name: 'full',
  images: 12,
  matrix: [
    { variants: ['pinv', 'estimate', 'vml-fp-balanced', 'vml-map-balanced', 'diffpir-matched', 'ddnm-matched'], tasks: MATRIX_TASKS, images: 12, size: 128 },
    { variants: ['one-call'], tasks: ['denoise'], images: 12, size: 128 },
    { variants: ['diffpir-tuned', 'ddnm-tuned'], tasks: MATRIX_TASKS, images: 12, size: 128 },
    { variants: ['estimate', 'vml-fp-balanced'], tasks: ['inpaint-painted'], images: 12, size: 256 },
    // The other presets and the baselines at their papers' constants on the first 3 photos.
    { variants: ['vml-fp-fast', 'vml-fp-best', 'diffpir-balanced', 'ddnm-balanced', 'dps-100'], tasks: MATRIX_TASKS, images: 3, size: 128 },
  ],
  hires: [{ variants: ['vml-fp-balanced', 'dps-100'], tasks: ['denoise', 'sr4', 'inpaint-box'], images: 1, size: 256 }],
  probe: [{ variants: ['vml-fp-fast', 'diffpir-fast'], tasks: ['deblur-motion45'], images: 1, size: 128 }],
  // The VJP at 2048x2048 would need about 45 GiB (measured up to 1024: linear in pixels): projected.
  scaling: { sizes: [256, 512, 1024, 2048], runSizes: [256, 512], vjpSizes: [256, 512] },
  roofline: { sizes: [128, 256], matmul: 2048, rounds: 5 },
  compare: { vml: 'vml-fp-balanced', dps: 'dps-100', diffpir: 'diffpir-matched', ddnm: 'ddnm-matched', tuned: { diffpir: 'diffpir-tuned', ddnm: 'ddnm-tuned' } },
};

export const QUICK: Plan = {
  name: 'quick',
  images: 2,
  matrix: [
    { variants: ['pinv', 'estimate', 'vml-fp-fast', 'diffpir-fast', 'ddnm-fast'], tasks: MATRIX_TASKS, images: 2, size: 64 },
    { variants: ['one-call'], tasks: ['denoise'], images: 2, size: 64 },
    { variants: ['estimate', 'vml-fp-fast'], tasks: ['inpaint-painted'], images: 1, size: 64 },
    { variants: ['dps-50'], tasks: MATRIX_TASKS, images: 1, size: 64 },
    { variants: ['diffpir-tuned', 'ddnm-tuned'], tasks: MATRIX_TASKS, images: 1, size: 64 },
  ],
  hires: [],
  probe: [],
  scaling: { sizes: [256], runSizes: [256], vjpSizes: [256] },
  roofline: { sizes: [64], matmul: 1024, rounds: 2 },
  compare: { vml: 'vml-fp-fast', dps: 'dps-50', diffpir: 'diffpir-fast', ddnm: 'ddnm-fast', tuned: { diffpir: 'diffpir-tuned', ddnm: 'ddnm-tuned' } },
};

/** What one child process is asked to do. */
export type Job =
  | { kind: 'restore'; model: string; fdModel?: string; image: string; imageIndex: number; size: number; task: string; variant: string; seed: number; dump?: string }
  | { kind: 'scaling'; model: string; size: number; withVjp: boolean; fullRun: boolean; seed: number }
  | { kind: 'roofline'; model: string; sizes: number[]; matmul: number; rounds: number; scratch: string };

export interface RestoreRecord {
  kind: 'restore';
  task: string;
  variant: string;
  image: string;
  imageIndex: number;
  size: number;
  psnr: number;
  /** Inpainting: PSNR over the restored (masked) pixels only. */
  maskedPsnr?: number;
  ssim: number;
  nfe: number;
  vjps: number;
  wallMs: number;
  onnxMs: number;
  approximateVjp: boolean;
  /** Peak resident memory of the child process (model, sessions, solver), bytes. */
  peakRss: number;
  /** Peak resident memory right after loading the model, bytes. */
  loadRss: number;
  loadMs: number;
}

export interface ScalingRecord {
  kind: 'scaling';
  size: number;
  withVjp: boolean;
  /** Median engine-level denoise() time (includes conversions and padding), ms. */
  forwardMs: number;
  /** Engine-level jtv() time (exact VJP graph), ms; NaN when not run. */
  vjpMs: number;
  /** First forward (includes onnxruntime's first-run allocation), ms. */
  firstForwardMs: number;
  /** Whole VML-MAP restores, measured (fullRun) or NaN. */
  fastMs: number;
  fastOnnxMs: number;
  /** Peak resident memory before the first VJP (forward graph only), bytes. */
  forwardRss: number;
  /** Peak resident memory of the whole child (with the VJP when withVjp), bytes. */
  peakRss: number;
  loadRss: number;
}

export interface OpShare {
  op: string;
  ms: number;
}

export interface OpFlops {
  op: string;
  flops: number;
}

export interface RooflineRecord {
  kind: 'roofline';
  /** Per size: FLOPs per forward and per VJP call, counted from the graphs at that size. */
  graphs: { size: number; forwardFlops: number; vjpFlops: number; forwardMs: number; vjpMs: number }[];
  matmul: { n: number; flops: number; ms: number };
  /** Time inside onnxruntime per operator type (optimised graphs, profiled) at the first size. */
  opsForward: OpShare[];
  opsVjp: OpShare[];
  /** Which profiled operator types count as convolutions / matrix products for the FLOP count. */
  flopOps: string[];
  /** FLOPs per counted operator type at the first size. */
  flopsForward?: OpFlops[];
  flopsVjp?: OpFlops[];
  /** Nodes of those types whose shapes could not be found (not counted; 0 expected). */
  uncounted: number;
}

export type BenchRecord = RestoreRecord | ScalingRecord | RooflineRecord | ClassicalRecord;

/** A scikit-image baseline on one measurement (bench/classical.py), parameters tuned on the truth. */
export interface ClassicalRecord {
  kind: 'classical';
  task: string;
  imageIndex: number;
  method: string;
  psnr: number;
  maskedPsnr?: number;
  parameter: number | null;
}
