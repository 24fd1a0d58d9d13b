/**
 * What the baseline solvers (dps.ts, diffpir.ts, ddnm.ts) share: their settings and their set-up.
 * Written in the variance-exploding variable z = x_t / sqrt(abar), image units; each follows its
 * paper's update, with the constants named where they differ from the paper's (docs/ALGORITHM.md).
 */
import { geometricSigmas, noiseFor, Run, type SolveInput, startPoint } from './common.js';

export interface Common {
  steps: number;
  sigmaStart: number;
  /** Start from noise around grey (their papers; default) or from the operator's estimate plus noise, as VML-MAP does. */
  start?: 'grey' | 'estimate';
}

/** What every baseline sets up: its start, its noise levels (the first down to the model's lowest) and run. */
export function begin(input: SolveInput, st: Common) {
  const shape = input.op.inShape;
  const rng = noiseFor(input);
  const start = startPoint(input, Math.min(st.sigmaStart, input.model.sigmaMax), st.start ?? 'grey', rng);
  const sigmas = geometricSigmas(start.sigma, input.model.sigmaMin, st.steps);
  return { shape, n: shape.c * shape.h * shape.w, rng, z0: start.z, sigmas, run: new Run(input, sigmas.length, shape) };
}
