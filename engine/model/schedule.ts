/**
 * The VP linear-beta schedule of docs/MODEL_CONTRACT.md, mapped to the variance-exploding noise
 * level sigma(t) = sqrt((1 - abar(t)) / abar(t)) (in the model's value range). Fractional t
 * interpolates log(abar) linearly, exactly as model-training/schedule.py does at training time.
 */

export interface ScheduleSpec {
  type: 'vp-linear';
  betaStart: number;
  betaEnd: number;
  timesteps: number;
}

export class VpSchedule {
  private readonly logAbar: Float64Array;
  readonly T: number;

  constructor(spec: ScheduleSpec) {
    this.T = spec.timesteps;
    this.logAbar = new Float64Array(this.T);
    let acc = 0;
    for (let k = 0; k < this.T; k++) {
      const beta = this.T === 1 ? spec.betaStart : spec.betaStart + ((spec.betaEnd - spec.betaStart) * k) / (this.T - 1);
      acc += Math.log1p(-beta);
      this.logAbar[k] = acc;
    }
  }

  /** abar at a fractional t in [0, T-1]. */
  abar(t: number): number {
    const tc = Math.min(Math.max(t, 0), this.T - 1);
    const lo = Math.min(Math.floor(tc), this.T - 2);
    const w = tc - lo;
    return Math.exp(this.logAbar[lo] * (1 - w) + this.logAbar[lo + 1] * w);
  }

  /** Model-space VE noise level at t. */
  sigma(t: number): number {
    const a = this.abar(t);
    return Math.sqrt((1 - a) / a);
  }

  get sigmaMin(): number {
    return this.sigma(0);
  }

  get sigmaMax(): number {
    return this.sigma(this.T - 1);
  }

  /** The fractional t whose sigma(t) equals `s` (sigma is increasing in t); clamped to the range. */
  tOfSigma(s: number): number {
    if (s <= this.sigmaMin) return 0;
    if (s >= this.sigmaMax) return this.T - 1;
    let lo = 0;
    let hi = this.T - 1;
    for (let i = 0; i < 60; i++) {
      const mid = 0.5 * (lo + hi);
      if (this.sigma(mid) < s) lo = mid;
      else hi = mid;
    }
    return 0.5 * (lo + hi);
  }
}
