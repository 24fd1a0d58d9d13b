/**
 * vmlmap detect: the damage of a photo (scratches, dust, small blotches) found by
 * engine/estimate/damage.ts, written as a mask image in the person's convention (white = damaged,
 * to restore; engine/photo/user-mask.ts), ready to check, touch up and give back as --mask.
 */
import { detectDamage } from '../engine/estimate/damage.js';
import { checkImageOutput, readImage, writeImage } from '../engine/photo/image.js';
import { restoreImageFromObserved } from '../engine/photo/user-mask.js';
import { type Flags, required, sensitivityOption } from './args.js';

export async function detectCommand(f: Flags): Promise<void> {
  const sensitivity = sensitivityOption(f);
  const input = required(f, 'input');
  const output = required(f, 'output');
  // The output is checked before any work: a bad path is not found after the detection.
  await checkImageOutput(output, [input]);
  const file = await readImage(input);
  const { h, w } = file.image;
  const start = performance.now();
  const { damaged, fraction } = detectDamage(file.image, { sensitivity });
  const seconds = (performance.now() - start) / 1000;
  const observed = Float64Array.from(damaged, (d) => 1 - d);
  await writeImage(output, restoreImageFromObserved(observed, h, w), { protect: [input] });
  const summary = { output, width: w, height: h, sensitivity, damagedFraction: fraction, damagedPixels: Math.round(fraction * h * w), seconds };
  process.stdout.write(f.json ? `${JSON.stringify(summary)}\n` : `wrote ${output}: damage on ${(100 * fraction).toFixed(1)}% of the pixels (white = to restore)\n`);
}
