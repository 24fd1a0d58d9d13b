/**
 * What a solver needs of the denoiser D(z, sigma): its range, counters and the two network calls.
 * Kept apart from the onnxruntime implementation (denoiser.ts, OnnxDenoiser) so that modules
 * without Node (the page's view of the solvers' settings) can import the solvers' types.
 */
import type { Shape } from '../types.js';

export interface DenoiserCounters {
  nfe: number;
  vjps: number;
  onnxMs: number;
}

export interface Denoiser {
  readonly channels: number;
  /** Exact VJP graph available; otherwise jtv is the finite-difference approximation. */
  readonly hasVjp: boolean;
  /** Image-space noise range the network was trained on. */
  readonly sigmaMin: number;
  readonly sigmaMax: number;
  readonly counters: DenoiserCounters;
  /** Width of the model's value range (image units -> model units), and abar at an image-space sigma. */
  readonly valueScale: number;
  abarAt(sigma: number): number;
  /** Image sides the network accepts are multiples of this (the engine pads); or exactly fixedSize. */
  readonly sizeMultiple: number;
  readonly fixedSize: [number, number] | null;
  /** Checks that an image of this shape can be processed (channels, fixed size). */
  check(s: Shape): void;
  denoise(z: Float64Array, s: Shape, sigma: number): Promise<Float64Array>;
  /** J^T v at (z, sigma), J = dD/dz. */
  jtv(z: Float64Array, s: Shape, sigma: number, v: Float64Array): Promise<Float64Array>;
}
