/** The measurement operator of a task (engine/tasks.ts), as the rest of the engine asks for it. */
import { TASKS, type TaskSpec } from '../tasks.js';
import { UserError, type LinearOperator, type Shape } from '../types.js';
import { BicubicDownsample } from './bicubic-downsample.js';
import { Blur } from './blur.js';
import { BoxDownsample } from './box-downsample.js';
import { Composition } from './compose.js';
import type { CgOptions } from '../linalg/cg.js';
import { Identity } from './identity.js';
import { kernelFromSpec } from './kernels.js';
import { Luma } from './luma.js';
import { Mask } from './mask.js';

export interface OperatorOptions {
  /** Tolerance and iteration cap of the operators that solve by conjugate gradients. */
  cg?: CgOptions;
}

/**
 * inShape is the shape of the unknown image: for super-resolution the high-resolution one, i.e. the
 * low-resolution input times the scale. The mask (inpainting only) is h*w observed weights, 1 =
 * observed (engine/photo/user-mask.ts converts a person's mask). Super-resolution uses the bicubic
 * kernel unless the spec asks for box. An old photo is the chain blur, luma, mask, each where the
 * spec has it (the mask: where it marks a pixel missing).
 */
export function operatorFor(spec: TaskSpec, inShape: Shape, mask?: Float64Array, options: OperatorOptions = {}): LinearOperator {
  switch (spec.task) {
    case 'denoise':
      return new Identity(inShape);
    case 'inpaint':
      if (!mask) throw new UserError('inpainting needs a mask of the pixels to restore');
      return new Mask(inShape, mask);
    case 'colorize':
      return new Luma(inShape);
    case 'deblur':
      if (!spec.kernel) throw new UserError('deblurring needs a blur kernel (gaussian, motion or matrix)');
      return new Blur(inShape, kernelFromSpec(spec.kernel), options);
    case 'sr': {
      if (spec.scale === undefined) throw new UserError('super-resolution needs a scale of 2, 3 or 4');
      const kind = spec.srKernel ?? 'bicubic';
      if (kind === 'box') return new BoxDownsample(inShape, spec.scale);
      if (kind === 'bicubic') return new BicubicDownsample(inShape, spec.scale, options);
      throw new UserError(`unknown super-resolution kernel ${JSON.stringify(kind)}; use box or bicubic`);
    }
    case 'old-photo':
      return oldPhotoOperator(spec, inShape, mask, options);
    default:
      throw new UserError(`unknown task ${JSON.stringify((spec as { task?: unknown }).task)}; use ${TASKS.join(', ')}`);
  }
}

function oldPhotoOperator(spec: TaskSpec, inShape: Shape, mask: Float64Array | undefined, options: OperatorOptions): LinearOperator {
  const chain: LinearOperator[] = [];
  if (spec.kernel) chain.push(new Blur(inShape, kernelFromSpec(spec.kernel), options));
  const pixels = spec.colorize ? new Luma(inShape) : undefined;
  if (pixels) chain.push(pixels);
  const shape = pixels ? pixels.outShape : inShape;
  if (mask && mask.some((m) => m !== 1)) chain.push(new Mask(shape, mask));
  if (chain.length === 0) return new Identity(inShape);
  return chain.length === 1 ? chain[0] : new Composition(chain, options);
}
