/**
 * Command-line flags shared by restore, degrade and eval, turned into the engine's plain-data job
 * description. Every bad value is a UserError with one line saying what is wrong.
 */
import { parseArgs } from 'node:util';
import { readRegularFileSync } from '../engine/photo/regular-file.js';
import type { ProviderChoice } from '../engine/model/providers.js';
import { PRECISION_CHOICES, type PrecisionChoice, PROVIDER_CHOICES } from '../engine/model/choices.js';
import { DEFAULT_SOLVER, type KernelSpec, type Preset, PRESETS, type SolverName, SOLVERS, SR_KERNELS, type TaskSpec, TASKS } from '../engine/tasks.js';
import { UserError } from '../engine/types.js';

export const FLAGS = {
  task: { type: 'string' },
  input: { type: 'string' },
  output: { type: 'string' },
  mask: { type: 'string' },
  scale: { type: 'string' },
  'sr-kernel': { type: 'string' },
  kernel: { type: 'string' },
  'sigma-y': { type: 'string' },
  solver: { type: 'string' },
  preset: { type: 'string' },
  steps: { type: 'string' },
  seed: { type: 'string' },
  detail: { type: 'string' },
  colorize: { type: 'boolean' },
  sensitivity: { type: 'string' },
  model: { type: 'string' },
  provider: { type: 'string' },
  precision: { type: 'string' },
  json: { type: 'boolean' },
  crop: { type: 'string' },
  limit: { type: 'string' },
  'mask-out': { type: 'string' },
  'max-minutes': { type: 'string' },
  'strip-gps': { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

export type Flags = { [K in keyof typeof FLAGS]?: (typeof FLAGS)[K]['type'] extends 'boolean' ? boolean : string };

export function parse(argv: string[]): Flags {
  try {
    return parseArgs({ args: argv, options: FLAGS, strict: true, allowPositionals: false }).values as Flags;
  } catch (e) {
    throw new UserError((e as Error).message.split('\n')[0]);
  }
}

function oneOf<T extends string>(what: string, value: string | undefined, allowed: readonly T[], fallback?: T): T {
  if (value === undefined) {
    if (fallback !== undefined) return fallback;
    throw new UserError(`--${what} is required (one of ${allowed.join(', ')})`);
  }
  if (!(allowed as readonly string[]).includes(value)) throw new UserError(`unknown ${what} "${value}" (expected one of ${allowed.join(', ')})`);
  return value as T;
}

export function number(what: string, value: string | undefined, fallback: number, check: (v: number) => boolean, rule: string): number {
  if (value === undefined) return fallback;
  const v = Number(value);
  if (!Number.isFinite(v) || !check(v)) throw new UserError(`--${what} ${value}: ${rule}`);
  return v;
}

/** gaussian:STD | motion:LEN:ANGLE | file:PATH (whitespace- or comma-separated rows of numbers). */
export function parseKernel(text: string | undefined): KernelSpec {
  if (!text) throw new UserError('deblurring needs --kernel gaussian:STD, motion:LEN:ANGLE or file:PATH (or, with restore, auto)');
  const [kind, ...rest] = text.split(':');
  if (kind === 'gaussian' && rest.length === 1) {
    const std = Number(rest[0]);
    if (!(std > 0 && std <= 20)) throw new UserError(`--kernel ${text}: the Gaussian std must be in (0, 20]`);
    return { type: 'gaussian', std };
  }
  if (kind === 'motion' && rest.length === 2) {
    const length = Number(rest[0]);
    const angle = Number(rest[1]);
    if (!(length >= 1 && length <= 64) || !Number.isFinite(angle)) throw new UserError(`--kernel ${text}: motion length must be in [1, 64] and the angle a number of degrees`);
    return { type: 'motion', length, angle };
  }
  if (kind === 'file' && rest.length >= 1) {
    const path = rest.join(':');
    // A kernel is a few numbers; 1 MB is far above any real one.
    const body = readRegularFileSync(path, 'kernel file', 1 << 20).toString('utf8');
    const rows = body
      .split(/\r?\n/)
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('#'))
      .map((l) => l.split(/[\s,]+/).map(Number));
    if (!rows.length || rows.some((r) => r.length !== rows[0].length || r.some((v) => !Number.isFinite(v)))) throw new UserError(`kernel file ${path}: expected rows of equal length of numbers`);
    return { type: 'matrix', rows };
  }
  throw new UserError(`--kernel ${text}: expected gaussian:STD, motion:LEN:ANGLE or file:PATH`);
}

/**
 * Before the photo is decoded, --sigma-y auto stands in as this value: the preflight's time estimate
 * hardly depends on it (the number of levels is the preset's), and the estimate replaces it before
 * the restore starts.
 */
export const PROVISIONAL_SIGMA_Y = 0.02;

/** Likewise --kernel auto stands in as a Gaussian of this std until the photo is decoded (the estimate is a Gaussian too). */
export const PROVISIONAL_BLUR_STD = 1.5;

export interface ParsedTask {
  spec: TaskSpec;
  /** --sigma-y auto: spec.sigmaY is PROVISIONAL_SIGMA_Y until it is estimated from the decoded photo. */
  sigmaYAuto: boolean;
  /** old-photo without --kernel (or with auto), deblur with --kernel auto: the blur is estimated from the decoded photo (deblur: spec.kernel is a Gaussian of PROVISIONAL_BLUR_STD until then). */
  kernelAuto?: boolean;
}

/** The task flags of `command`; --sigma-y auto only for restore, since degrade and eval add noise of the level given. */
export function taskSpec(f: Flags, command: 'restore' | 'degrade' | 'eval'): ParsedTask {
  const task = oneOf('task', f.task, TASKS);
  const sigmaYAuto = f['sigma-y'] === 'auto';
  if (sigmaYAuto && command !== 'restore') throw new UserError(`--sigma-y auto is for restore only: ${command} adds noise of the level it is given, a number in [0, 1)`);
  const sigmaY = sigmaYAuto ? PROVISIONAL_SIGMA_Y : number('sigma-y', f['sigma-y'], 0, (v) => v >= 0 && v < 1, 'must be in [0, 1) (image units) or auto');
  const spec: TaskSpec = { task, sigmaY };
  if (task === 'sr') {
    const s = number('scale', f.scale, 2, (v) => v === 2 || v === 3 || v === 4, 'must be 2, 3 or 4');
    spec.scale = s as 2 | 3 | 4;
    spec.srKernel = oneOf('sr-kernel', f['sr-kernel'], SR_KERNELS, 'bicubic');
  }
  // --kernel auto: deblurring with the blur read from the photo, for restore only (cli/commands.ts).
  const kernelAuto = task === 'deblur' && f.kernel === 'auto';
  if (kernelAuto && command !== 'restore') throw new UserError(`--kernel auto is for restore only: ${command} blurs with the kernel it is given (gaussian:STD, motion:LEN:ANGLE or file:PATH)`);
  if (task === 'deblur') spec.kernel = kernelAuto ? { type: 'gaussian', std: PROVISIONAL_BLUR_STD } : parseKernel(f.kernel);
  if (f.colorize && task !== 'old-photo') throw new UserError('--colorize is for --task old-photo; to colourise alone use --task colorize');
  if (task === 'old-photo') return oldPhotoSpec(f, command, spec, sigmaYAuto);
  return { spec, sigmaYAuto, kernelAuto };
}

/**
 * An old photo's blur, grain and damage are estimated from the photo unless given: restore treats a
 * missing --sigma-y or --kernel as auto (and a missing --mask as detection, cli/old-photo.ts);
 * --kernel none means no blur. degrade draws the damage itself and needs numbers.
 */
function oldPhotoSpec(f: Flags, command: 'restore' | 'degrade' | 'eval', spec: TaskSpec, sigmaYAuto: boolean): ParsedTask {
  const kernelAuto = f.kernel === undefined || f.kernel === 'auto';
  if (command !== 'restore' && (kernelAuto || f['sigma-y'] === undefined)) throw new UserError(`${command} --task old-photo needs --sigma-y S and --kernel gaussian:STD or none`);
  if (f.kernel !== undefined && f.kernel !== 'auto' && f.kernel !== 'none') spec.kernel = parseKernel(f.kernel);
  if (f.colorize) spec.colorize = true;
  const auto = sigmaYAuto || f['sigma-y'] === undefined;
  return { spec: auto ? { ...spec, sigmaY: PROVISIONAL_SIGMA_Y } : spec, sigmaYAuto: auto, kernelAuto };
}

/** --sensitivity of damage detection: 0..1, default 0.5. */
export function sensitivityOption(f: Flags): number {
  return number('sensitivity', f.sensitivity, 0.5, (v) => v >= 0 && v <= 1, 'must be a number in [0, 1]');
}

export function solverOptions(f: Flags): { solver: SolverName; preset: Preset; steps?: number; detail?: number; seed: number; provider: ProviderChoice } {
  return {
    solver: oneOf('solver', f.solver, SOLVERS, DEFAULT_SOLVER),
    preset: oneOf('preset', f.preset, PRESETS, 'balanced'),
    steps: f.steps === undefined ? undefined : number('steps', f.steps, 0, (v) => Number.isInteger(v) && v >= 1 && v <= 5000, 'must be an integer in [1, 5000]'),
    detail: f.detail === undefined ? undefined : number('detail', f.detail, 0, (v) => v >= 0 && v <= 1, 'must be a number in [0, 1]'),
    seed: number('seed', f.seed, 0, (v) => Number.isInteger(v) && v >= 0, 'must be a non-negative integer'),
    provider: oneOf('provider', f.provider, PROVIDER_CHOICES, 'auto'),
  };
}

/** Jobs estimated to take longer are refused before the photo is decoded (a 100 MP photo takes hours on a CPU). */
export const DEFAULT_MAX_MINUTES = 120;

/** --max-minutes: the longest job the CLI starts without being told to. */
export function maxMinutes(f: Flags): number {
  return number('max-minutes', f['max-minutes'], DEFAULT_MAX_MINUTES, (v) => v > 0, 'must be a positive number of minutes');
}

/** --precision: auto (fp16 variant on a GPU provider when the model has one), fp32 or fp16. */
export function precisionOption(f: Flags): PrecisionChoice {
  return oneOf('precision', f.precision, PRECISION_CHOICES, 'auto');
}

export function required(f: Flags, name: 'input' | 'output'): string {
  const v = f[name];
  if (!v) throw new UserError(`--${name} is required`);
  return v;
}
