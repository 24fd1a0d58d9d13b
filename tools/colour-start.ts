/**
 * Where VML-MAP's starting noise is centred, for colourisation: mid-grey (the start before
 * Luma.neutralEstimate existed), the operator's neutral estimate (the grey image, today's start) and
 * A^+ y (the truncated start). PSNR per photo and the mean, with the grey image itself for reference.
 *
 *   npm run -s build:cli && node out/cli/tools/colour-start.js [--images 6] [--crop 128] [--preset balanced]
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { readImage } from '../engine/io/image.js';
import { psnr } from '../engine/metrics.js';
import { OnnxDenoiser } from '../engine/model/denoiser.js';
import { Luma } from '../engine/operators/luma.js';
import { settingsFor } from '../engine/solvers/index.js';
import { vmlMap } from '../engine/solvers/vmlmap.js';
import type { Preset } from '../engine/tasks.js';
import type { Img, LinearOperator } from '../engine/types.js';

function centreCrop(img: Img, size: number): Img {
  const y0 = Math.floor((img.h - size) / 2);
  const x0 = Math.floor((img.w - size) / 2);
  const data = new Float64Array(img.c * size * size);
  for (let c = 0; c < img.c; c++)
    for (let y = 0; y < size; y++) data.set(img.data.subarray((c * img.h + y0 + y) * img.w + x0, (c * img.h + y0 + y) * img.w + x0 + size), (c * size + y) * size);
  return { c: img.c, h: size, w: size, data };
}

/** The same operator without neutralEstimate, so that the solver centres its noise on mid-grey. */
function withoutNeutral(op: Luma): LinearOperator {
  return {
    name: op.name,
    structure: op.structure,
    inShape: op.inShape,
    outShape: op.outShape,
    forward: (x) => op.forward(x),
    adjoint: (y) => op.adjoint(y),
    pinv: (y) => op.pinv(y),
    normalSolve: (r, a, b) => op.normalSolve(r, a, b),
  };
}

async function main(): Promise<void> {
  const { values: a } = parseArgs({
    options: {
      model: { type: 'string', default: 'resources/models/default' },
      data: { type: 'string', default: 'data/dev' },
      images: { type: 'string', default: '6' },
      crop: { type: 'string', default: '128' },
      preset: { type: 'string', default: 'balanced' },
    },
  });
  const size = Number(a.crop);
  const files = readdirSync(a.data!).filter((f) => /\.(png|jpe?g)$/i.test(f)).sort().slice(0, Number(a.images));
  const model = await OnnxDenoiser.load(a.model!, { provider: 'cpu' });
  const base = settingsFor('vml-map', a.preset as Preset);
  if (base.solver !== 'vml-map') throw new Error('unreachable');
  const starts = [
    ['noise around mid-grey', (op: Luma) => withoutNeutral(op), false],
    ['noise around the grey image (neutralEstimate)', (op: Luma) => op, false],
    ['noise around A^+ y (truncated start)', (op: Luma) => op, true],
  ] as const;
  const sums = new Array<number>(starts.length + 1).fill(0);
  process.stdout.write(`| photo | grey image | ${starts.map((s) => s[0]).join(' | ')} |\n|---|${'---|'.repeat(starts.length + 1)}\n`);
  for (const [i, f] of files.entries()) {
    const clean = centreCrop((await readImage(join(a.data!, f))).image, size);
    const op = new Luma(clean);
    const y = op.forward(clean.data);
    const row = [psnr(op.neutralEstimate(y), clean.data)];
    for (const [, wrap, truncatedStart] of starts) {
      const { x } = await vmlMap({ op: wrap(op), y, sigmaY: 0, model, seed: i }, { ...base.settings, truncatedStart });
      row.push(psnr(x, clean.data));
    }
    row.forEach((p, k) => (sums[k]! += p));
    process.stdout.write(`| ${f.replace(/^.*__/, '')} | ${row.map((p) => p.toFixed(2)).join(' | ')} |\n`);
  }
  process.stdout.write(`| mean of ${files.length} | ${sums.map((s) => (s / files.length).toFixed(2)).join(' | ')} |\n`);
  process.stdout.write(`\n${a.preset} preset (${JSON.stringify(base.settings)}), ${size}x${size} centre crops of ${a.data}, model ${a.model}\n`);
  await model.release();
}

main();
