/**
 * Measures every VML-MAP step rule and transition (30 levels x 5 from sigma 20) on the two exact toy priors (docs/ALGORITHM.md):
 * error to the closed-form MAP on the Gaussian prior per operator, and the share of 20 seeds that
 * land on the MAP mode of the two-mode mixture. Prints a markdown table.
 *
 *   npm run -s build:cli && node out/cli/tools/toy-study.js [tests/.models]
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { OnnxDenoiser } from '../engine/model/denoiser.js';
import { operatorFor } from '../engine/operators/index.js';
import { Rng } from '../engine/solvers/common.js';
import { type StepRule, type Transition, vmlMap, VMLMAP_DEFAULTS, type VmlMapSettings } from '../engine/solvers/vmlmap.js';
import type { TaskSpec } from '../engine/tasks.js';
import { closedFormMap, posteriorModes, relErr } from './closed-form.js';

async function main(): Promise<void> {
  const models = process.argv[2] ?? join('tests', '.models');
  const gauss = await OnnxDenoiser.load(join(models, 'gaussian'), { provider: 'cpu' });
  const prior = JSON.parse(readFileSync(join(models, 'gaussian', 'prior.json'), 'utf8'));
  const gmm = await OnnxDenoiser.load(join(models, 'gmm'), { provider: 'cpu' });
  const gp = JSON.parse(readFileSync(join(models, 'gmm', 'prior.json'), 'utf8'));
  const shape = { c: 3, h: 8, w: 8 };
  const holes = new Float64Array(64).map((_, i) => ((i * 7) % 5 < 2 ? 0 : 1));
  const tasks: [string, TaskSpec, Float64Array?][] = [
    ['mask', { task: 'inpaint', sigmaY: 0 }, holes],
    ['box-SR x2', { task: 'sr', scale: 2, srKernel: 'box', sigmaY: 0 }],
    ['blur', { task: 'deblur', kernel: { type: 'gaussian', std: 1 }, sigmaY: 0 }],
    ['luma', { task: 'colorize', sigmaY: 0 }],
  ];
  const rules: [StepRule, Transition, number, number][] = [
    ['fixed-point', 'score', 1, 0],
    ['fixed-point', 'ddim', 1, 0],
    ['fixed-point', 'score', 1, 1],
    ['gradient', 'score', 1, 0],
    ['gradient', 'score', 2, 0],
    ['gradient', 'ddim', 1, 0],
  ];
  process.stdout.write('| step rule | transition | Gaussian prior: max relative error to the exact MAP over operators and sigma_y in {0.01, 0.05} | mixture: seeds on the MAP mode (of 20) |\n|---|---|---|---|\n');
  for (const [stepRule, transition, stepScale, detail] of rules) {
    const settings: VmlMapSettings = { ...VMLMAP_DEFAULTS, sigmaStart: 20, levels: 30, inner: 5, stepRule, transition, stepScale, detail };
    let worst = 0;
    for (const sy of [0.01, 0.05])
      for (const [, spec, mask] of tasks) {
        const op = operatorFor({ ...spec, sigmaY: sy }, shape, mask);
        const rng = new Rng(4);
        const truth = Float64Array.from(prior.mean as number[], (m) => m + 0.1 * rng.normal());
        const y = op.forward(truth).map((v) => v + sy * rng.normal());
        const map = closedFormMap(op, prior, y, sy);
        const { x } = await vmlMap({ op, y, sigmaY: sy, model: gauss, seed: 1 }, settings);
        worst = Math.max(worst, relErr(x, map));
      }
    // Mixture: observe coordinate 0 half-way between the modes, noisily; both modes survive.
    const op = operatorFor({ task: 'inpaint', sigmaY: 0.1 }, { c: 1, h: 1, w: 2 }, Float64Array.of(1, 0));
    const y0 = 0.5 * (gp.means[0][0] + gp.means[1][0]);
    const y = op.forward(Float64Array.of(y0, 0));
    const [best] = posteriorModes(gp, [1, 0], [y0, 0], 0.1);
    let onBest = 0;
    for (let seed = 0; seed < 20; seed++) {
      const { x } = await vmlMap({ op, y, sigmaY: 0.1, model: gmm, seed }, settings);
      if (Math.hypot(x[0] - best.x[0], x[1] - best.x[1]) < 0.02) onBest++;
    }
    process.stdout.write(`| ${stepRule}, step ${stepScale} | ${transition}${detail ? `, detail ${detail}` : ''} | ${worst.toExponential(1)} | ${onBest} |\n`);
  }
  await gauss.release();
  await gmm.release();
}

main();
