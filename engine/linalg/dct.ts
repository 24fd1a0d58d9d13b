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
  /** Two real sequences through one complex FFT (half the cost of two calls); in place. */
  forwardPair(a: Float64Array, b: Float64Array): void;
  inversePair(a: Float64Array, b: Float64Array): void;
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
    forwardPair(a, b) {
      for (let m = 0; m < n; m++) {
        re[slot[m]] = a[m];
        im[slot[m]] = b[m];
      }
      fft.run(re, im, false);
      // With Z = FFT(va + i vb): Va[k] = (Z[k] + conj Z[n-k]) / 2, Vb[k] = (Z[k] - conj Z[n-k]) / 2i.
      for (let k = 0; k < n; k++) {
        const j = k === 0 ? 0 : n - k;
        const ar = 0.5 * (re[k] + re[j]);
        const ai = 0.5 * (im[k] - im[j]);
        const br = 0.5 * (im[k] + im[j]);
        const bi = -0.5 * (re[k] - re[j]);
        a[k] = cos[k] * ar + sin[k] * ai;
        b[k] = cos[k] * br + sin[k] * bi;
      }
    },
    inversePair(a, b) {
      // Both inverse spectra give real sequences, so one inverse FFT of Va + i Vb returns va + i vb.
      for (let k = 0; k < n; k++) {
        const a1 = a[k];
        const a2 = k === 0 ? 0 : -a[n - k];
        const b1 = b[k];
        const b2 = k === 0 ? 0 : -b[n - k];
        const var_ = cos[k] * a1 - sin[k] * a2;
        const vai = sin[k] * a1 + cos[k] * a2;
        const vbr = cos[k] * b1 - sin[k] * b2;
        const vbi = sin[k] * b1 + cos[k] * b2;
        re[k] = var_ - vbi;
        im[k] = vai + vbr;
      }
      fft.run(re, im, true);
      for (let m = 0; m < n; m++) {
        a[m] = re[slot[m]];
        b[m] = im[slot[m]];
      }
    },
  };
}
