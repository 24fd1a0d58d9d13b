/** Blur kernels: builders for the kinds a user can ask for (engine/tasks.ts KernelSpec). */
import type { KernelSpec } from '../tasks.js';
import { UserError } from '../types.js';

/** A 2-D kernel, row-major; element (floor(h/2), floor(w/2)) is its origin (see convolve.ts). */
export interface Kernel {
  readonly h: number;
  readonly w: number;
  readonly data: Float64Array;
  /** For operator names, e.g. "gaussian std 2". */
  readonly label?: string;
}

/** Kernels above this side would make a direct convolution crawl; no realistic photo blur needs them. */
export const MAX_KERNEL_SIDE = 201;

function normalised(k: Kernel): Kernel {
  let sum = 0;
  for (const v of k.data) sum += v;
  if (!Number.isFinite(sum) || !(sum > 0)) {
    throw new UserError(`the blur kernel must sum to a positive finite number (it is normalised to sum 1); its sum is ${sum}`);
  }
  return { ...k, data: k.data.map((v) => v / sum) };
}

function checkSide(side: number, what: string): void {
  if (side > MAX_KERNEL_SIDE) {
    throw new UserError(`${what} needs a ${side}x${side} kernel; at most ${MAX_KERNEL_SIDE}x${MAX_KERNEL_SIDE} is supported`);
  }
}

function positive(value: number, what: string): number {
  if (!Number.isFinite(value) || !(value > 0)) throw new UserError(`${what} must be a positive number, got ${value}`);
  return value;
}

/** Isotropic Gaussian sampled at pixel centres, truncated at about 3 std by default, sum 1. */
export function gaussianKernel(std: number, side = 2 * Math.ceil(3 * std) + 1): Kernel {
  positive(std, 'the Gaussian blur std');
  if (!Number.isInteger(side) || side < 1) throw new UserError(`the Gaussian kernel size must be a positive integer, got ${side}`);
  checkSide(side, `a Gaussian blur of std ${std}`);
  const centre = (side - 1) / 2;
  const profile = Float64Array.from({ length: side }, (_, i) => Math.exp(-((i - centre) ** 2) / (2 * std * std)));
  const data = new Float64Array(side * side);
  for (let i = 0; i < side; i++) for (let j = 0; j < side; j++) data[i * side + j] = profile[i] * profile[j];
  return normalised({ h: side, w: side, data, label: `gaussian std ${std}` });
}

/**
 * Linear motion: a segment of the given length in pixels through the kernel centre, at the given
 * angle in degrees counter-clockwise from the horizontal as seen on screen (rows grow downwards).
 * Antialiased by spreading many points along the segment bilinearly over their four pixels, so the
 * kernel moves smoothly with length and angle instead of snapping to whole pixels.
 */
export function motionKernel(length: number, angleDegrees: number): Kernel {
  positive(length, 'the motion blur length');
  if (!Number.isFinite(angleDegrees)) throw new UserError(`the motion blur angle must be a number, got ${angleDegrees}`);
  const radius = Math.ceil(length / 2) + 1;
  const side = 2 * radius + 1;
  checkSide(side, `a motion blur of length ${length}`);
  const data = new Float64Array(side * side);
  const theta = (angleDegrees * Math.PI) / 180;
  const dx = Math.cos(theta);
  const dy = -Math.sin(theta);
  const samples = Math.max(16, Math.ceil(16 * length));
  for (let k = 0; k < samples; k++) {
    const t = ((k + 0.5) / samples - 0.5) * length;
    const x = radius + t * dx;
    const y = radius + t * dy;
    const j = Math.floor(x);
    const i = Math.floor(y);
    const fx = x - j;
    const fy = y - i;
    data[i * side + j] += (1 - fy) * (1 - fx);
    data[i * side + j + 1] += (1 - fy) * fx;
    data[(i + 1) * side + j] += fy * (1 - fx);
    data[(i + 1) * side + j + 1] += fy * fx;
  }
  const label = `motion ${length}px at ${angleDegrees}°`;
  return normalised(trimmed({ h: side, w: side, data, label }));
}

/** Drops all-zero border rows and columns in opposite pairs, so that the origin stays put. */
function trimmed(k: Kernel): Kernel {
  const zeroRow = (i: number): boolean => k.data.subarray(i * k.w, (i + 1) * k.w).every((v) => v === 0);
  const zeroCol = (j: number): boolean => {
    for (let i = 0; i < k.h; i++) if (k.data[i * k.w + j] !== 0) return false;
    return true;
  };
  let r = 0;
  while (2 * (r + 1) < k.h && zeroRow(r) && zeroRow(k.h - 1 - r)) r++;
  let c = 0;
  while (2 * (c + 1) < k.w && zeroCol(c) && zeroCol(k.w - 1 - c)) c++;
  const h = k.h - 2 * r;
  const w = k.w - 2 * c;
  const data = new Float64Array(h * w);
  for (let i = 0; i < h; i++) data.set(k.data.subarray((i + r) * k.w + c, (i + r) * k.w + c + w), i * w);
  return { ...k, h, w, data };
}

function fromRows(rows: number[][]): Kernel {
  const h = Array.isArray(rows) ? rows.length : 0;
  const w = h > 0 && Array.isArray(rows[0]) ? rows[0].length : 0;
  if (h === 0 || w === 0 || !rows.every((row) => Array.isArray(row) && row.length === w)) {
    throw new UserError('a matrix blur kernel must be a non-empty list of rows of equal, non-zero length');
  }
  const data = new Float64Array(h * w);
  rows.forEach((row, i) =>
    row.forEach((v, j) => {
      if (typeof v !== 'number' || !Number.isFinite(v)) {
        throw new UserError(`the blur kernel entry at row ${i + 1}, column ${j + 1} is not a finite number`);
      }
      data[i * w + j] = v;
    }),
  );
  return { h, w, data, label: `custom ${h}x${w}` };
}

/** The kernel a KernelSpec describes, normalised to sum 1. */
export function kernelFromSpec(spec: KernelSpec): Kernel {
  let k: Kernel;
  switch (spec?.type) {
    case 'gaussian':
      k = gaussianKernel(spec.std);
      break;
    case 'motion':
      k = motionKernel(spec.length, spec.angle);
      break;
    case 'matrix':
      k = fromRows(spec.rows);
      break;
    default:
      throw new UserError(`unknown blur kernel type ${JSON.stringify((spec as { type?: unknown } | undefined)?.type)}; ` + `use gaussian, motion or matrix`);
  }
  if (k.h > MAX_KERNEL_SIDE || k.w > MAX_KERNEL_SIDE) {
    throw new UserError(`the blur kernel is ${k.h}x${k.w}; at most ${MAX_KERNEL_SIDE}x${MAX_KERNEL_SIDE} is supported`);
  }
  return normalised(k);
}
