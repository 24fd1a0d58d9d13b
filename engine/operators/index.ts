/** Linear measurement operators (forward models) and the helpers to build them. */
export { BicubicDownsample, bicubicDownsample, bicubicDownsampleMatrix, cubic, type BicubicOptions } from './bicubic-downsample.js';
export { Blur, blur, type BlurOptions } from './blur.js';
export { symmetricIndex } from './boundary.js';
export { BoxDownsample, boxDownsample } from './box-downsample.js';
export { CG_DEFAULTS, conjugateGradient, leastSquaresCg, type CgOptions, type CgStats } from '../linalg/cg.js';
export { normalSolveByCg, pinvByCg } from '../linalg/cg-solves.js';
export { Composition, compose, type ComposeOptions } from './compose.js';
export { convolveSymmetric, convolveSymmetricAdjoint } from './convolve.js';
export { SCALES } from './downsample-shape.js';
export { Identity, identity } from './identity.js';
export { MAX_KERNEL_SIDE, gaussianKernel, kernelFromSpec, motionKernel, type Kernel } from './kernels.js';
export { LUMA_WEIGHTS, Luma, luma } from './luma.js';
export { Mask, mask } from './mask.js';
export { operatorFor, type OperatorOptions } from './operator-for.js';
