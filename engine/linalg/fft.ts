/**
 * Complex FFT of any length: iterative radix-2 for powers of two, Bluestein's chirp-z otherwise
 * (which re-expresses a length-n transform as a power-of-two circular convolution). It serves the DCT
 * of the closed-form blur solves (dct.ts), where simplicity wins over the last factor of two. Plans
 * are cached per length and keep scratch buffers, so a plan must not be re-entered while running;
 * transforms run in place on separate real and imaginary arrays.
 */

interface Plan {
  n: number;
  run(re: Float64Array, im: Float64Array, inverse: boolean): void;
}

const plans = new Map<number, Plan>();

export function fftPlan(n: number): Plan {
  let plan = plans.get(n);
  if (!plan) {
    plan = (n & (n - 1)) === 0 ? radix2(n) : bluestein(n);
    plans.set(n, plan);
  }
  return plan;
}

/** Unnormalised forward (e^{-i...}) or inverse (e^{+i...}, divided by n) transform, in place. */
export function fft(re: Float64Array, im: Float64Array, inverse = false): void {
  fftPlan(re.length).run(re, im, inverse);
}

function radix2(n: number): Plan {
  const bits = Math.log2(n);
  const rev = new Uint32Array(n);
  for (let i = 1; i < n; i++) rev[i] = (rev[i >> 1] >> 1) | ((i & 1) << (bits - 1));
  const cos = new Float64Array(n / 2);
  const sin = new Float64Array(n / 2);
  for (let k = 0; k < n / 2; k++) {
    cos[k] = Math.cos((2 * Math.PI * k) / n);
    sin[k] = Math.sin((2 * Math.PI * k) / n);
  }
  return {
    n,
    run(re, im, inverse) {
      for (let i = 0; i < n; i++) {
        const j = rev[i];
        if (j > i) {
          let t = re[i];
          re[i] = re[j];
          re[j] = t;
          t = im[i];
          im[i] = im[j];
          im[j] = t;
        }
      }
      const sign = inverse ? 1 : -1;
      for (let len = 2; len <= n; len <<= 1) {
        const half = len >> 1;
        const stride = n / len;
        for (let start = 0; start < n; start += len) {
          for (let k = 0; k < half; k++) {
            const wr = cos[k * stride];
            const wi = sign * sin[k * stride];
            const a = start + k;
            const b = a + half;
            const tr = re[b] * wr - im[b] * wi;
            const ti = re[b] * wi + im[b] * wr;
            re[b] = re[a] - tr;
            im[b] = im[a] - ti;
            re[a] += tr;
            im[a] += ti;
          }
        }
      }
      if (inverse) {
        for (let i = 0; i < n; i++) {
          re[i] /= n;
          im[i] /= n;
        }
      }
    },
  };
}

function bluestein(n: number): Plan {
  let m = 1;
  while (m < 2 * n - 1) m <<= 1;
  const inner = radix2(m);
  // chirp w_k = exp(-i pi k^2 / n); k^2 mod 2n keeps the angle exact for large k.
  const cr = new Float64Array(n);
  const ci = new Float64Array(n);
  for (let k = 0; k < n; k++) {
    const angle = (Math.PI * ((k * k) % (2 * n))) / n;
    cr[k] = Math.cos(angle);
    ci[k] = -Math.sin(angle);
  }
  // Transform of the conjugate chirp, wrapped to length m, for both directions.
  const spectrum = (sign: number): [Float64Array, Float64Array] => {
    const br = new Float64Array(m);
    const bi = new Float64Array(m);
    for (let k = 0; k < n; k++) {
      br[k] = cr[k];
      bi[k] = -sign * ci[k];
      if (k > 0) {
        br[m - k] = br[k];
        bi[m - k] = bi[k];
      }
    }
    inner.run(br, bi, false);
    return [br, bi];
  };
  const forward = spectrum(1);
  const backward = spectrum(-1);
  const ar = new Float64Array(m);
  const ai = new Float64Array(m);
  return {
    n,
    run(re, im, inverse) {
      const [br, bi] = inverse ? backward : forward;
      const s = inverse ? -1 : 1;
      ar.fill(0);
      ai.fill(0);
      for (let k = 0; k < n; k++) {
        // a_k = x_k * chirp_k (conjugated for the inverse)
        const wr = cr[k];
        const wi = s * ci[k];
        ar[k] = re[k] * wr - im[k] * wi;
        ai[k] = re[k] * wi + im[k] * wr;
      }
      inner.run(ar, ai, false);
      for (let k = 0; k < m; k++) {
        const tr = ar[k] * br[k] - ai[k] * bi[k];
        ai[k] = ar[k] * bi[k] + ai[k] * br[k];
        ar[k] = tr;
      }
      inner.run(ar, ai, true);
      const scale = inverse ? 1 / n : 1;
      for (let k = 0; k < n; k++) {
        const wr = cr[k];
        const wi = s * ci[k];
        re[k] = (ar[k] * wr - ai[k] * wi) * scale;
        im[k] = (ar[k] * wi + ai[k] * wr) * scale;
      }
    },
  };
}
