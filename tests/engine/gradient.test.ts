/**
 * grad VML_S = -J^T r (through the model's VJP graph) against central finite differences of the
 * surrogate L(z) = ||y - A D(z)||^2 / (2 sigma_y^2) - <stopgrad((D(z) - z)/sigma^2), D(z)>, whose
 * gradient is the same (docs/ALGORITHM.md section 2). Also: the forward-only finite-difference
 * J^T v against the exact VJP, and the exact VJP against finite differences of D.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { OnnxDenoiser } from '../../engine/model/denoiser.js';
import { operatorFor } from '../../engine/operators/index.js';
import { dot, Rng } from '../../engine/solvers/common.js';
import type { Shape } from '../../engine/types.js';
import { readFileSync } from 'node:fs';
import { vmlStep } from '../../engine/solvers/vmlmap.js';
import { type GaussPrior, inverse, matvec, relErr } from '../oracles/closed-form.js';

const MODELS = join(import.meta.dirname, '..', '.models');

async function surrogateCheck(dir: string, shape: Shape, sigma: number, h: number) {
  const model = await OnnxDenoiser.load(join(MODELS, dir), { provider: 'cpu' });
  const rng = new Rng(11);
  const n = shape.c * shape.h * shape.w;
  const mask = new Float64Array(shape.h * shape.w).map(() => (rng.uniform() < 0.7 ? 1 : 0));
  const op = operatorFor({ task: 'inpaint', sigmaY: 0.1 }, shape, mask);
  const sy = 0.1;
  const truth = new Float64Array(n).map(() => 0.5 + 0.2 * rng.normal());
  const y = op.forward(truth);
  const z = truth.map((v) => v + sigma * rng.normal());
  const D = await model.denoise(z, shape, sigma);
  const c = D.map((d, i) => (d - z[i]) / sigma ** 2);
  const loss = async (zz: Float64Array) => {
    const Dz = await model.denoise(zz, shape, sigma);
    const res = op.forward(Dz).map((v, i) => y[i] - v);
    return dot(res, res) / (2 * sy * sy) - dot(c, Dz);
  };
  const AD = op.forward(D);
  const dataTerm = op.adjoint(AD.map((v, i) => y[i] - v));
  const r = D.map((d, i) => (d - z[i]) / sigma ** 2 + dataTerm[i] / sy ** 2);
  const jtr = await model.jtv(z, shape, sigma, r);
  const grad = jtr.map((v) => -v);
  const analytic: number[] = [];
  const numeric: number[] = [];
  for (let k = 0; k < 4; k++) {
    const u = rng.normals(n);
    const plus = await loss(z.map((v, i) => v + h * u[i]));
    const minus = await loss(z.map((v, i) => v - h * u[i]));
    numeric.push((plus - minus) / (2 * h));
    analytic.push(dot(grad, u));
  }
  await model.release();
  return { analytic, numeric };
}

describe('gradient of VML_S', () => {
  it('matches central differences of the surrogate loss: exact Gaussian prior', async () => {
    const { analytic, numeric } = await surrogateCheck('gaussian', { c: 3, h: 8, w: 8 }, 0.3, 1e-2);
    expect(relErr(analytic, numeric)).toBeLessThan(1e-3);
  });

  it('matches central differences of the surrogate loss: a nonlinear conv net', async () => {
    const { analytic, numeric } = await surrogateCheck('tiny', { c: 3, h: 16, w: 24 }, 0.2, 1e-2);
    expect(relErr(analytic, numeric)).toBeLessThan(1e-3);
  });
});

/**
 * The step rules as engine/solvers/vmlmap.ts's vmlStep computes them, on small cases. The gradient
 * rule (vml-map) steps along J^T M^-1 r: minus the gradient of L_P(z) = -<stopgrad(M^-1 r), D(z)>.
 * On the exact Gaussian prior VML_S itself is known in closed form (-log p_sigma is a quadratic), so
 * the step is checked to descend it.
 */
describe('VML-MAP steps', () => {
  const sigma = 0.2;
  const sy = 0.05;
  async function setUp(dir: string, shape: Shape) {
    const model = await OnnxDenoiser.load(join(MODELS, dir), { provider: 'cpu' });
    const rng = new Rng(21);
    const n = shape.c * shape.h * shape.w;
    const op = operatorFor(
      { task: 'inpaint', sigmaY: sy },
      shape,
      new Float64Array(shape.h * shape.w).map(() => (rng.uniform() < 0.6 ? 1 : 0)),
    );
    const truth = new Float64Array(n).map(() => 0.5 + 0.2 * rng.normal());
    const y = op.forward(truth);
    const z = truth.map((v) => v + sigma * rng.normal());
    return { model, op, y, z, rng, n };
  }

  for (const [dir, shape] of [
    ['gaussian', { c: 3, h: 8, w: 8 }],
    ['tiny', { c: 3, h: 16, w: 24 }],
  ] as const) {
    it(`gradient rule = -grad of the preconditioned surrogate, by central differences (${dir})`, async () => {
      const { model, op, y, z, rng, n } = await setUp(dir, shape);
      const alpha = 1 / sy ** 2;
      const { D, step } = await vmlStep({ op, y, model }, z, sigma, alpha, 'gradient');
      const { step: u } = await vmlStep({ op, y, model }, z, sigma, alpha, 'fixed-point');
      expect(relErr(await model.denoise(z, shape, sigma), D)).toBe(0);
      const lp = async (zz: Float64Array) => -dot(u, await model.denoise(zz, shape, sigma));
      const h = 1e-2;
      const analytic: number[] = [];
      const numeric: number[] = [];
      for (let k = 0; k < 4; k++) {
        const v = rng.normals(n);
        numeric.push(-((await lp(z.map((x, i) => x + h * v[i]))) - (await lp(z.map((x, i) => x - h * v[i])))) / (2 * h));
        analytic.push(dot(step, v));
      }
      expect(relErr(analytic, numeric)).toBeLessThan(1e-3);
      await model.release();
    });
  }

  it('both rules descend the exact VML_S of a Gaussian prior', async () => {
    const { model, op, y, z } = await setUp('gaussian', { c: 3, h: 8, w: 8 });
    const prior: GaussPrior = JSON.parse(readFileSync(join(MODELS, 'gaussian', 'prior.json'), 'utf8'));
    const shape = { c: 3, h: 8, w: 8 };
    const Sinv = inverse(prior.cov.map((row, i) => Float64Array.from(row, (v, j) => v + (i === j ? sigma * sigma : 0))));
    // VML_S(z) = -log p_sigma(z) - |D - z|^2 / 2 sigma^2 + |y - A D|^2 / 2 sigma_y^2, p_sigma = N(mu, Sigma + sigma^2 I).
    const vmlS = async (zz: Float64Array) => {
      const d = zz.map((v, i) => v - prior.mean[i]);
      const D = await model.denoise(zz, shape, sigma);
      const res = op.forward(D).map((v, i) => y[i] - v);
      return (
        0.5 * dot(d, matvec(Sinv, d)) -
        dot(
          D.map((v, i) => v - zz[i]),
          D.map((v, i) => v - zz[i]),
        ) /
          (2 * sigma ** 2) +
        dot(res, res) / (2 * sy ** 2)
      );
    };
    const f0 = await vmlS(z);
    for (const rule of ['gradient', 'fixed-point'] as const) {
      const { step } = await vmlStep({ op, y, model }, z, sigma, 1 / sy ** 2, rule);
      expect(await vmlS(z.map((v, i) => v + 0.01 * step[i]))).toBeLessThan(f0);
    }
    await model.release();
  });
});

describe('Jacobian-transpose products', () => {
  it('the forward-only finite-difference J^T v is exact for a linear denoiser and labelled approximate', async () => {
    const exact = await OnnxDenoiser.load(join(MODELS, 'gaussian'), { provider: 'cpu' });
    const fwdOnly = await OnnxDenoiser.load(join(MODELS, 'gaussian-fwd'), { provider: 'cpu' });
    expect(fwdOnly.hasVjp).toBe(false);
    const shape = { c: 3, h: 8, w: 8 };
    const rng = new Rng(2);
    const z = rng.normals(192).map((v) => 0.5 + 0.3 * v);
    const v = rng.normals(192);
    const a = await exact.jtv(z, shape, 0.2, v);
    const b = await fwdOnly.jtv(z, shape, 0.2, v);
    expect(relErr(b, a)).toBeLessThan(1e-3);
    await exact.release();
    await fwdOnly.release();
  });

  it('the exact VJP of a nonlinear net agrees with <u, J v> from central differences, and the FD approximation is measured', async () => {
    const model = await OnnxDenoiser.load(join(MODELS, 'tiny'), { provider: 'cpu' });
    const shape = { c: 3, h: 16, w: 16 };
    const n = 3 * 16 * 16;
    const rng = new Rng(9);
    const z = rng.normals(n).map((x) => 0.5 + 0.3 * x);
    const u = rng.normals(n);
    const v = rng.normals(n);
    const sigma = 0.2;
    const jtu = await model.jtv(z, shape, sigma, u);
    const h = 1e-2;
    const dp = await model.denoise(
      z.map((x, i) => x + h * v[i]),
      shape,
      sigma,
    );
    const dm = await model.denoise(
      z.map((x, i) => x - h * v[i]),
      shape,
      sigma,
    );
    const jv = dp.map((x, i) => (x - dm[i]) / (2 * h));
    // <J^T u, v> = <u, J v>
    expect(Math.abs(dot(jtu, v) - dot(u, jv)) / Math.abs(dot(u, jv))).toBeLessThan(1e-3);
    await model.release();
  });
});
