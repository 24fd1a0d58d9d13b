/** Output shape of an integer-factor downsampler, shared by the box and bicubic ones. */
import { UserError, type Shape } from '../types.js';

export const SCALES = [2, 3, 4] as const;

export function downsampledShape(shape: Shape, s: number, what: string): Shape {
  if (!SCALES.includes(s as 2 | 3 | 4)) {
    throw new UserError(`${what}: the scale must be 2, 3 or 4, got ${s}`);
  }
  const { c, h, w } = shape;
  if (h % s !== 0 || w % s !== 0 || h === 0 || w === 0) {
    throw new UserError(`${what} by ${s} needs a width and height that are multiples of ${s}; got ${w}x${h} ` + `(crop to ${w - (w % s)}x${h - (h % s)})`);
  }
  return { c, h: h / s, w: w / s };
}
