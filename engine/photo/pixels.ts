/**
 * Conversions between the engine's planar float images and the interleaved integer samples that
 * codecs (sharp, canvas ImageData) use. Pure functions, no I/O.
 */

/**
 * Splits interleaved samples (`channels` per pixel, integers in [0, max]) into `colour` planar
 * float planes in [0, 1] and, when a further channel follows the colour ones, an alpha plane.
 */
export function deinterleave(src: ArrayLike<number>, pixels: number, channels: number, colour: number, max: number): { planes: Float64Array; alpha?: Float64Array } {
  if (src.length !== pixels * channels) {
    throw new Error(`deinterleave: ${src.length} samples, expected ${pixels}x${channels}`);
  }
  const planes = new Float64Array(colour * pixels);
  for (let c = 0; c < colour; c++) {
    const plane = c * pixels;
    for (let p = 0, s = c; p < pixels; p++, s += channels) planes[plane + p] = src[s]! / max;
  }
  if (channels <= colour) return { planes };
  const alpha = new Float64Array(pixels);
  for (let p = 0, s = colour; p < pixels; p++, s += channels) alpha[p] = src[s]! / max;
  return { planes, alpha };
}

/** Clamps to [0, 1] and rounds to the nearest of max+1 levels; callers reject NaN beforehand. */
export const quantise = (v: number, max: number): number => Math.round((v <= 0 ? 0 : v >= 1 ? 1 : v) * max);

/**
 * Interleaves `colour` planes (plus an optional alpha plane) into integer samples in [0, max],
 * the layout sharp's raw input expects.
 */
export function interleave<T extends Uint8Array | Uint16Array | Uint8ClampedArray>(out: T, planes: Float64Array, colour: number, pixels: number, alpha: Float64Array | undefined, max: number): T {
  const channels = colour + (alpha ? 1 : 0);
  if (out.length !== pixels * channels) throw new Error('interleave: output has the wrong length');
  for (let c = 0; c < colour; c++) {
    const plane = c * pixels;
    for (let p = 0, d = c; p < pixels; p++, d += channels) {
      out[d] = quantise(planes[plane + p]!, max);
    }
  }
  if (alpha) {
    for (let p = 0, d = colour; p < pixels; p++, d += channels) out[d] = quantise(alpha[p]!, max);
  }
  return out;
}

/**
 * Luma of sRGB-encoded values with the Rec. 601 weights, as PIL's convert('L') and most tools
 * compute it, so that masks and greyscale conversions agree with the Python side. When the three
 * channels are equal (greyscale sources) the grey value comes back exactly.
 */
export const luma = (r: number, g: number, b: number): number => (r === g && g === b ? r : 0.299 * r + 0.587 * g + 0.114 * b);

export function allFinite(data: ArrayLike<number>): boolean {
  for (let i = 0; i < data.length; i++) if (!Number.isFinite(data[i])) return false;
  return true;
}
