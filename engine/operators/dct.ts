/**
 * DCT-II of any length through one complex FFT of the same length (Makhoul's even/odd reordering),
 * and its exact inverse. Unnormalised: X[k] = sum_n x[n] cos(pi k (2n + 1) / (2N)). The pair is only
 * ever used as transform -> diagonal gain -> inverse, so no orthonormal scaling is needed.
 */
import { fftPlan } from './fft.js';

export interface DctPlan {
  readonly n: number;
  /** In place on x (length n). */
  forward(x: Float64Array): void;
  inverse(x: Float64Array): void;
}

const plans = new Map<number, DctPlan>();

export function dctPlan(n: number): DctPlan {
  let plan = plans.get(n);
  if (!plan) {
    plan = makePlan(n);
    plans.set(n, plan);
  }
  return plan;
}

function makePlan(n: number): DctPlan {
  const fft = fftPlan(n);
  // Where x[m] goes in the reordered sequence: evens ascending, then odds descending.
  const slot = Int32Array.from({ length: n }, (_, m) => (m % 2 === 0 ? m / 2 : n - 1 - (m - 1) / 2));
  const cos = Float64Array.from({ length: n }, (_, k) => Math.cos((Math.PI * k) / (2 * n)));
  const sin = Float64Array.from({ length: n }, (_, k) => Math.sin((Math.PI * k) / (2 * n)));
  const re = new Float64Array(n);
  const im = new Float64Array(n);
  return {
    n,
    forward(x) {
      for (let m = 0; m < n; m++) re[slot[m]] = x[m];
      im.fill(0);
      fft.run(re, im, false);
      // X[k] = Re(e^{-i pi k / 2n} V[k])
      for (let k = 0; k < n; k++) x[k] = cos[k] * re[k] + sin[k] * im[k];
    },
    inverse(x) {
      // V[k] = e^{i pi k / 2n} (X[k] - i X[n - k]), with X[n] = 0
      for (let k = 0; k < n; k++) {
        const a = x[k];
        const b = k === 0 ? 0 : -x[n - k];
        re[k] = cos[k] * a - sin[k] * b;
        im[k] = sin[k] * a + cos[k] * b;
      }
      fft.run(re, im, true);
      for (let m = 0; m < n; m++) x[m] = re[slot[m]];
    },
  };
}
