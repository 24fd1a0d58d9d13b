/**
 * Convergence on the two exact priors (docs/ALGORITHM.md, closed-form checks), for any VML-MAP
 * settings: the error to the closed-form MAP of a Gaussian prior, and how many seeds land on the
 * higher posterior mode of a two-mode mixture. The tests hold the shipped presets to these, and
 * bench/studies/presets.ts lets only configurations that pass them become balanced or best.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { OnnxDenoiser } from '../../engine/model/denoiser.js';
import { operatorFor } from '../../engine/operators/index.js';
import { Rng } from '../../engine/solvers/common.js';
import { vmlMap, type VmlMapSettings } from '../../engine/solvers/vmlmap.js';
import type { Task, TaskSpec } from '../../engine/tasks.js';
import { closedFormMap, type GaussPrior, type GmmPrior, matvec, posteriorModes, relErr } from './closed-form.js';

/** What the checks demand of a converged configuration. */
export const TOY_TARGETS = { gaussianRelErr: 1e-2, mixtureSeeds: 18, seeds: 20 } as const;

/** Each task's operator on the 3x8x8 Gaussian prior, with noise so that the MAP is unique. */
function toySpec(task: Task): { spec: TaskSpec; observed?: Float64Array } {
  switch (task) {
    case 'inpaint':
      return { spec: { task, sigmaY: 0.02 }, observed: new Float64Array(64).map((_, i) => ((i * 7) % 5 < 2 ? 0 : 1)) };
    case 'sr':
      return { spec: { task, scale: 2, srKernel: 'box', sigmaY: 0.02 } };
    case 'deblur':
      return { spec: { task, kernel: { type: 'gaussian', std: 1 }, sigmaY: 0.02 } };
    case 'colorize':
      return { spec: { task, sigmaY: 0.02 } };
    case 'denoise':
      return { spec: { task, sigmaY: 0.05 } };
    case 'old-photo':
      // Every part of the chain at once: blur, then luma, then a mask.
      return { spec: { task, kernel: { type: 'gaussian', std: 1 }, colorize: true, sigmaY: 0.02 }, observed: new Float64Array(64).map((_, i) => ((i * 7) % 5 < 1 ? 0 : 1)) };
  }
}

/** A sample of the Gaussian prior: mu + L n, L its Cholesky factor. */
export function gaussianSample(prior: GaussPrior, seed: number): Float64Array {
  const n = prior.mean.length;
  const S = prior.cov;
  const L = Array.from({ length: n }, () => new Float64Array(n));
  for (let i = 0; i < n; i++)
    for (let j = 0; j <= i; j++) {
      let s = S[i][j];
      for (let k = 0; k < j; k++) s -= L[i][k] * L[j][k];
      L[i][j] = i === j ? Math.sqrt(s) : s / L[j][j];
    }
  const z = new Rng(seed).normals(n);
  return Float64Array.from(matvec(L, z), (v, i) => v + prior.mean[i]);
}

/**
 * Whether the solve has a posterior mode to seek. Not denoising with the last level at sigma_y: there
 * r = (D - z)/s^2 + (y - D)/sigma_y^2 = (y - z)/sigma_y^2, so z = y is the only stationary point
 * for any prior and the answer is D(y, sigma_y), the posterior mean (docs/ALGORITHM.md).
 */
export function seeksMode(task: Task, settings: VmlMapSettings): boolean {
  return !(task === 'denoise' && settings.sigmaEndPerSigmaY === 1 && !settings.sigmaEnd);
}

export class ToyChecks {
  private constructor(
    private readonly gauss: OnnxDenoiser,
    private readonly gaussPrior: GaussPrior,
    private readonly gmm: OnnxDenoiser,
    private readonly gmmPrior: GmmPrior,
  ) {}

  /** The exact priors as ONNX models, made by `npm run test-models` in tests/.models. */
  static async load(folder = join('tests', '.models')): Promise<ToyChecks> {
    const read = (name: string) => JSON.parse(readFileSync(join(folder, name, 'prior.json'), 'utf8'));
    return new ToyChecks(await OnnxDenoiser.load(join(folder, 'gaussian'), { provider: 'cpu' }), read('gaussian'), await OnnxDenoiser.load(join(folder, 'gmm'), { provider: 'cpu' }), read('gmm'));
  }

  /** Relative error of VML-MAP's answer to the closed-form MAP, for the task's operator. */
  async gaussianError(task: Task, settings: VmlMapSettings, seed = 1): Promise<number> {
    const { spec, observed } = toySpec(task);
    const p = this.gaussPrior;
    const op = operatorFor(spec, { c: p.shape[0], h: p.shape[1], w: p.shape[2] }, observed);
    const rng = new Rng(5);
    const y = op.forward(gaussianSample(p, 3)).map((v) => v + spec.sigmaY * rng.normal());
    const { x } = await vmlMap({ op, y, sigmaY: spec.sigmaY, model: this.gauss, seed }, settings);
    return relErr(x, closedFormMap(op, p, y, spec.sigmaY));
  }

  /**
   * Of TOY_TARGETS.seeds seeds, how many end within 0.02 of the higher posterior mode, with one
   * coordinate observed noisily half-way between the two modes (both modes survive in the posterior).
   */
  async mixtureSeedsOnMode(settings: VmlMapSettings): Promise<number> {
    const p = this.gmmPrior;
    const sy = 0.1;
    const observed = [1, 0];
    const op = operatorFor({ task: 'inpaint', sigmaY: sy }, { c: p.shape[0], h: p.shape[1], w: p.shape[2] }, Float64Array.from(observed));
    const y0 = 0.5 * (p.means[0][0] + p.means[1][0]);
    const y = op.forward(Float64Array.of(y0, 0));
    const [best] = posteriorModes(p, observed, [y0, 0], sy);
    let on = 0;
    for (let seed = 0; seed < TOY_TARGETS.seeds; seed++) {
      const { x } = await vmlMap({ op, y, sigmaY: sy, model: this.gmm, seed }, settings);
      if (Math.hypot(x[0] - best.x[0], x[1] - best.x[1]) < 0.02) on++;
    }
    return on;
  }

  /** Both checks against TOY_TARGETS; the mixture's only where there is a mode to seek (modeSought). */
  async converges(task: Task, settings: VmlMapSettings): Promise<{ gaussianError: number; seedsOnMode: number; modeSought: boolean; pass: boolean }> {
    const gaussianError = await this.gaussianError(task, settings);
    const modeSought = seeksMode(task, settings);
    const seedsOnMode = modeSought ? await this.mixtureSeedsOnMode(settings) : NaN;
    return { gaussianError, seedsOnMode, modeSought, pass: gaussianError <= TOY_TARGETS.gaussianRelErr && (!modeSought || seedsOnMode >= TOY_TARGETS.mixtureSeeds) };
  }

  async release(): Promise<void> {
    await this.gauss.release();
    await this.gmm.release();
  }
}
