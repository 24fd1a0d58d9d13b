/**
 * Does averaging the network over the square's symmetries help? D_G(z) = mean over g in G of
 * g^-1 D(g z), G = {identity}, the horizontal flip, the four rotations, or all eight of the dihedral
 * group (and J_G^T v the same mean of g^-1 J^T(g z) g v, g being orthogonal). Measured on the
 * development photos' 128x128 crops with the preset sweep's problems (seeds 2000 + i):
 *  - one call at sigma_y (Tweedie's denoiser, the denoising floor) with each G;
 *  - VML-MAP fixed point, balanced, with G = the four rotations (4x the network calls), on the tasks
 *    given, against the same with the network alone.
 *
 *   npm run -s build:cli && node out/cli/bench/studies/rotation-average.js [--images 12] [--tasks denoise,deblur-gauss]
 */
import { parseArgs } from 'node:util';
import { psnr } from '../../engine/metrics.js';
import type { Denoiser } from '../../engine/model/denoiser-interface.js';
import { OnnxDenoiser } from '../../engine/model/denoiser.js';
import { settingsFor, solve } from '../../engine/solvers/index.js';
import type { Shape } from '../../engine/types.js';
import { taskById } from '../config.js';
import { photoCrop, pickPhotos } from '../images.js';
import { sweepProblem } from './sweep-problem.js';

/** Element t of the dihedral group on a square: bit 0 flips columns, bit 1 rows, bit 2 transposes (applied first). */
function act(x: Float64Array, s: Shape, t: number, inverse: boolean): Float64Array {
  const { c, h, w } = s;
  if (t & 4 && h !== w) throw new Error('transposes need a square image');
  const out = new Float64Array(x.length);
  for (let k = 0; k < c; k++)
    for (let i = 0; i < h; i++)
      for (let j = 0; j < w; j++) {
        let [a, b] = t & 4 ? [j, i] : [i, j];
        if (t & 2) a = h - 1 - a;
        if (t & 1) b = w - 1 - b;
        const from = k * h * w + i * w + j;
        const to = k * h * w + a * w + b;
        if (inverse) out[from] = x[to]!;
        else out[to] = x[from]!;
      }
  return out;
}

const GROUPS: Record<string, number[]> = { none: [0], flip: [0, 1], rotations: [0, 3, 5, 6], dihedral: [0, 1, 2, 3, 4, 5, 6, 7] };

/** The network averaged over `group`: every call is |group| calls of the network (its counters count them). */
function averaged(base: Denoiser, group: number[]): Denoiser {
  const mean = async (z: Float64Array, s: Shape, f: (t: number) => Promise<Float64Array>): Promise<Float64Array> => {
    const m = new Float64Array(z.length);
    for (const t of group) {
      const o = act(await f(t), s, t, true);
      for (let p = 0; p < m.length; p++) m[p] += o[p]! / group.length;
    }
    return m;
  };
  return Object.assign(Object.create(base) as Denoiser, {
    denoise: (z: Float64Array, s: Shape, sigma: number) => mean(z, s, (t) => base.denoise(act(z, s, t, false), s, sigma)),
    jtv: (z: Float64Array, s: Shape, sigma: number, v: Float64Array) => mean(z, s, (t) => base.jtv(act(z, s, t, false), s, sigma, act(v, s, t, false))),
  });
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      data: { type: 'string', default: 'data/dev' },
      model: { type: 'string', default: 'resources/models/default' },
      images: { type: 'string', default: '12' },
      tasks: { type: 'string', default: 'denoise,deblur-gauss' },
    },
  });
  const model = await OnnxDenoiser.load(values.model!, { provider: 'cpu' });
  const crops = await Promise.all(pickPhotos(values.data!, Number(values.images)).map((p) => photoCrop(p, 128)));
  const mean = (v: number[]): string => (v.reduce((a, b) => a + b, 0) / v.length).toFixed(2);

  const denoise = taskById('denoise');
  const one: Record<string, number[]> = Object.fromEntries(Object.keys(GROUPS).map((g) => [g, []]));
  for (const [i, crop] of crops.entries()) {
    const { clean, y } = sweepProblem(denoise, crop, i);
    for (const [g, group] of Object.entries(GROUPS)) one[g]!.push(psnr(await averaged(model, group).denoise(y, clean, denoise.spec.sigmaY), clean.data));
  }
  console.log(
    `one call at sigma_y = ${denoise.spec.sigmaY}, ${crops.length} photos, mean PSNR (dB): ${Object.entries(one)
      .map(([g, v]) => `${g} ${mean(v)}`)
      .join(', ')}`,
  );

  for (const id of values.tasks!.split(',')) {
    const task = taskById(id);
    const line: string[] = [];
    for (const g of ['none', 'rotations']) {
      const net = averaged(model, GROUPS[g]!);
      const scores: number[] = [];
      let calls = 0;
      for (const [i, crop] of crops.entries()) {
        const { seed, clean, op, y } = sweepProblem(task, crop, i);
        const before = model.counters.nfe + model.counters.vjps;
        const res = await solve({ op, y, sigmaY: task.spec.sigmaY, model: net, seed }, settingsFor('vml-fp', 'balanced', task.spec.task, {}));
        calls = model.counters.nfe + model.counters.vjps - before;
        scores.push(psnr(res.x, clean.data));
      }
      line.push(`${g} ${mean(scores)} dB (${calls} network calls)`);
    }
    console.log(`vml-fp balanced, ${id}: ${line.join(', ')}`);
  }
  await model.release();
}

main().catch((e: unknown) => {
  process.stderr.write(`${(e as Error).stack ?? String(e)}\n`);
  process.exit(1);
});
