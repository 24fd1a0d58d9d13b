/**
 * Do the presets hold at other pixel scales? The sweep (bench/studies/presets.ts) measures on
 * crops downsampled about 2x, denser in detail per pixel than most photos people restore (native
 * scans, enlargements). Here the same 12 development photos are cropped at 1/scale of --size
 * native pixels and resized to --size (scale 1: native pixels; 2 and 4: enlargements, smoother per
 * pixel), degraded as the benchmark does (seed 2000 + i), and restored with the shipped vml-fp
 * balanced preset and with the alternatives the sweep weighed against it.
 *
 *   npm run -s build:cli && node out/cli/bench/studies/preset-scale.js [--task denoise|deblur] [--scales 1,2,4] [--size 128]
 */
import { parseArgs } from 'node:util';
import { buildOperator, degrade } from '../../engine/job/restore.js';
import { psnr } from '../../engine/metrics.js';
import { OnnxDenoiser } from '../../engine/model/denoiser.js';
import { settingsFor, solve } from '../../engine/solvers/index.js';
import type { VmlMapSettings } from '../../engine/solvers/vmlmap.js';
import type { TaskSpec } from '../../engine/tasks.js';
import { photoCrop, pickPhotos } from '../images.js';

const SPECS: Record<string, TaskSpec> = {
  denoise: { task: 'denoise', sigmaY: 0.05 },
  deblur: { task: 'deblur', kernel: { type: 'gaussian', std: 2 }, sigmaY: 0.01 },
};
/** The shipped preset (no override) and the alternatives docs/PRESETS.md lists for these tasks. */
const CONFIGS: Record<string, Partial<VmlMapSettings>> = {
  'shipped balanced': {},
  '0.12 -> min, 5 x 2': { sigmaStart: 0.12, levels: 5, inner: 2, sigmaEnd: 0, sigmaEndPerSigmaY: 0 },
  '0.12 -> 0.5 sigma_y, 6 x 4': { sigmaStart: 0.12, levels: 6, inner: 4, sigmaEnd: 0, sigmaEndPerSigmaY: 0.5 },
  '1 -> min, 5 x 2': { sigmaStart: 1, levels: 5, inner: 2, sigmaEnd: 0, sigmaEndPerSigmaY: 0 },
};

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      data: { type: 'string', default: 'data/dev' },
      model: { type: 'string', default: 'resources/models/default' },
      images: { type: 'string', default: '12' },
      size: { type: 'string', default: '128' },
      scales: { type: 'string', default: '1,2,4' },
      task: { type: 'string', default: 'denoise' },
    },
  });
  const spec = SPECS[values.task!];
  if (!spec) throw new Error(`--task: one of ${Object.keys(SPECS).join(', ')}`);
  const size = Number(values.size);
  const photos = pickPhotos(values.data!, Number(values.images));
  const model = await OnnxDenoiser.load(values.model!, { provider: 'cpu' });
  const names = Object.keys(CONFIGS);
  process.stdout.write(`| ${values.task} at ${size}x${size}, mean PSNR (dB) | ${names.join(' | ')} |\n|${' --- |'.repeat(1 + names.length)}\n`);
  for (const scale of values.scales!.split(',').map(Number)) {
    const sums = names.map(() => 0);
    for (let i = 0; i < photos.length; i++) {
      const clean = await photoCrop(photos[i]!, size, Math.ceil(size / scale));
      const seed = 2000 + i;
      const y = degrade(clean, spec, seed).image.data;
      const op = buildOperator(spec, clean);
      for (let k = 0; k < names.length; k++) {
        const res = await solve({ op, y, sigmaY: spec.sigmaY, model, seed }, settingsFor('vml-fp', 'balanced', spec.task, { vml: CONFIGS[names[k]!] }));
        sums[k]! += psnr(res.x, clean.data) / photos.length;
      }
    }
    process.stdout.write(`| ${scale === 1 ? 'native pixels' : `${scale}x enlargement`} | ${sums.map((s) => s.toFixed(2)).join(' | ')} |\n`);
  }
  await model.release();
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
