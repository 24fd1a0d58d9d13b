/**
 * The CLI fuzz cases: every bad input file, flag, output path and kernel, each run as a careless
 * user or a hostile file would supply it. OUT is the case's own (empty) output folder.
 */
import { join } from 'node:path';
import type { FuzzCase } from './harness.js';

export function cliCases(f: Record<string, string>, inputs: string, tiny: string, bigBomb: boolean): FuzzCase[] {
  const fast = ['--model', tiny, '--preset', 'fast', '--steps', '2', '--provider', 'cpu'];
  const restore = (task: string[], input: string, out = 'OUT/r.png', extra: string[] = []): string[] => ['restore', ...task, '--input', input, '--output', out, ...fast, ...extra];
  const cases: FuzzCase[] = [];
  const add = (name: string, args: string[], timeoutMs?: number): void => void cases.push({ name, args, timeoutMs });
  const denoise = ['--task', 'denoise', '--sigma-y', '0.05'];

  // Input images: damaged, hostile, odd shapes and formats, and things that are not files.
  const images = [
    'photo.png',
    'empty.png',
    'random.png',
    'truncated.png',
    'truncated.jpg',
    'corrupt-idat.png',
    'text.png',
    'claims-huge.png',
    'claims-101mp.png',
    'claims-zero.png',
    'gif.gif',
    'svg.png',
    'one-pixel.png',
    'row.png',
    'column.png',
    'odd.png',
    'grey.png',
    'grey-alpha.png',
    'rgba.png',
    'deep.png',
    'palette.png',
    'cmyk.jpg',
    'rotated.jpg',
    'photo.webp',
    'photo.tif',
    'folder.png',
    'fifo.png',
    'loop.png',
    'dangling.png',
    'photo-link.png',
  ];
  for (const name of images) add(`input ${name}`, restore(denoise, f[name]!));
  add('input /dev/zero', restore(denoise, '/dev/zero'));
  add('input /dev/null', restore(denoise, '/dev/null'));
  add('input missing', restore(denoise, join(inputs, 'no-such.png')));
  add('input with a newline in its name', restore(denoise, join(inputs, 'a\nb.png')));
  add('input name of 300 characters', restore(denoise, join(inputs, `${'x'.repeat(300)}.png`)));
  for (const name of ['odd.png', 'one-pixel.png', 'row.png', 'rgba.png']) add(`sr x4 of ${name}`, restore(['--task', 'sr', '--scale', '4'], f[name]!));
  for (const name of ['odd.png', 'grey.png', 'one-pixel.png']) add(`colourise ${name}`, restore(['--task', 'colorize'], f[name]!));
  if (bigBomb) {
    // Deblurring at the default preset is many calls: hours on 100 MP, refused under the default limit.
    // (Denoising is one call at every preset, about 25 min here: a real job, not a refusal.)
    add('100 MP bomb, default model and preset', ['restore', '--task', 'deblur', '--kernel', 'gaussian:2', '--sigma-y', '0.01', '--input', f['bomb-100mp.png']!, '--output', 'OUT/r.png'], 120_000);
    // One step on 100 MP is a real job of about an hour on a CPU: refused under a 10-minute limit.
    add('100 MP bomb, one step, 10-minute limit', ['restore', ...denoise, '--input', f['bomb-100mp.png']!, '--output', 'OUT/r.png', '--steps', '1', '--max-minutes', '10'], 120_000);
    add('SR x4 of the 100 MP bomb', ['restore', '--task', 'sr', '--scale', '4', '--input', f['bomb-100mp.png']!, '--output', 'OUT/r.png', ...fast], 120_000);
  }

  // Masks.
  const inpaint = ['--task', 'inpaint'];
  for (const name of [
    'black-mask.png',
    'white-mask.png',
    'clear-mask.png',
    'small-mask.png',
    'noise-mask.png',
    'deep-mask.png',
    'random.png',
    'empty.png',
    'fifo.png',
    'folder.png',
    'gif.gif',
    'claims-huge.png',
    'photo-link.png',
  ])
    add(`mask ${name}`, restore([...inpaint, '--mask', f[name]!], f['photo.png']!));
  add('mask /dev/zero', restore([...inpaint, '--mask', '/dev/zero'], f['photo.png']!));
  add('inpainting without a mask', restore(inpaint, f['photo.png']!));
  add('mask as the output', restore([...inpaint, '--mask', f['noise-mask.png']!], f['photo.png']!, f['noise-mask.png']!));

  // Blur kernels.
  const deblur = (kernel: string): string[] => ['--task', 'deblur', '--kernel', kernel, '--sigma-y', '0.01'];
  for (const k of [
    'k-empty.txt',
    'k-text.txt',
    'k-ragged.txt',
    'k-zero-sum.txt',
    'k-negative.txt',
    'k-nan.txt',
    'k-inf.txt',
    'k-huge-values.txt',
    'k-one.txt',
    'k-big.txt',
    'k-too-large-file.txt',
    'k-binary.txt',
    'fifo.png',
    'folder.png',
  ])
    // The 201x201 kernel is valid and really deblurs: past 60 s on a loaded 2-core machine, so not a hang.
    add(`kernel file ${k}`, restore(deblur(`file:${f[k]}`), f['photo.png']!), k === 'k-big.txt' ? 180_000 : undefined);
  for (const k of [
    'file:/dev/zero',
    'file:',
    'gaussian:0',
    'gaussian:-1',
    'gaussian:1e9',
    'gaussian:NaN',
    'gaussian:',
    'gaussian:1:2',
    'motion:0:0',
    'motion:1e9:0',
    'motion:5:NaN',
    'motion:5:1e308',
    'motion:64:33',
    'box:3',
    '',
  ])
    add(`kernel ${JSON.stringify(k)}`, restore(deblur(k), f['photo.png']!));

  // Blur and old photos read from the photo itself (--kernel auto, --task old-photo without numbers):
  // photos too small, flat or noisy to read get a one-line refusal, never a crash.
  for (const name of ['photo.png', 'random.png', 'one-pixel.png', 'row.png', 'column.png', 'odd.png', 'grey.png', 'rgba.png', 'deep.png'])
    add(`kernel auto on ${name}`, restore(['--task', 'deblur', '--kernel', 'auto', '--sigma-y', 'auto'], f[name]!));
  for (const name of ['photo.png', 'random.png', 'one-pixel.png', 'row.png', 'odd.png', 'grey.png', 'rgba.png']) add(`old-photo of ${name}`, restore(['--task', 'old-photo'], f[name]!));
  add('old-photo, colourise a grey photo', restore(['--task', 'old-photo', '--colorize'], f['grey.png']!));
  for (const [name, extra] of [
    ['sensitivity NaN', ['--sensitivity', 'NaN']],
    ['sensitivity -1', ['--sensitivity', '-1']],
    ['sensitivity 2', ['--sensitivity', '2']],
    ['mask none, kernel none', ['--mask', 'none', '--kernel', 'none']],
    ['kernel auto, sigma-y given', ['--kernel', 'auto', '--sigma-y', '0.02']],
    ['noise-mask as its mask', ['--mask', f['noise-mask.png']!]],
  ] as [string, string[]][])
    add(`old-photo ${name}`, restore(['--task', 'old-photo', ...extra], f['photo.png']!));
  add('kernel auto for sr', restore(['--task', 'sr', '--kernel', 'auto'], f['photo.png']!));
  add('colorize flag for denoise', restore([...denoise, '--colorize'], f['photo.png']!));
  add('detect on random noise', ['detect', '--input', f['random.png']!, '--output', 'OUT/m.png']);
  add('detect on one pixel', ['detect', '--input', f['one-pixel.png']!, '--output', 'OUT/m.png']);

  // Flags.
  const photo = f['photo.png']!;
  const flagCases: [string, string[]][] = [
    ['steps 0', ['--steps', '0']],
    ['steps -1', ['--steps', '-1']],
    ['steps 1e9', ['--steps', '1e9']],
    ['steps 2.5', ['--steps', '2.5']],
    ['steps NaN', ['--steps', 'NaN']],
    ['sigma-y -1', ['--sigma-y', '-1']],
    ['sigma-y 1', ['--sigma-y', '1']],
    ['sigma-y NaN', ['--sigma-y', 'NaN']],
    ['sigma-y 1e-300', ['--sigma-y', '1e-300']],
    ['seed -1', ['--seed', '-1']],
    ['seed 1.5', ['--seed', '1.5']],
    ['seed 1e300', ['--seed', '1e300']],
    ['detail -1', ['--detail', '-1']],
    ['detail 2', ['--detail', '2']],
    ['detail 1', ['--detail', '1']],
    ['preset turbo', ['--preset', 'turbo']],
    ['solver x', ['--solver', 'x']],
    ['provider gpu', ['--provider', 'gpu']],
    ['precision fp8', ['--precision', 'fp8']],
    ['max-minutes 0', ['--max-minutes', '0']],
    ['max-minutes NaN', ['--max-minutes', 'NaN']],
    ['max-minutes 1e-9', ['--max-minutes', '1e-9']],
    ['unknown flag', ['--foo', 'bar']],
    ['positional argument', ['stray']],
    ['json', ['--json']],
  ];
  for (const [name, extra] of flagCases) add(`flag ${name}`, [...restore(denoise, photo), ...extra]);
  for (const solver of ['vml-map', 'dps', 'diffpir', 'ddnm']) add(`solver ${solver}`, [...restore(denoise, photo), '--solver', solver]);
  add('scale 5', restore(['--task', 'sr', '--scale', '5'], photo));
  add('scale 2.5', restore(['--task', 'sr', '--scale', '2.5'], photo));
  add('sr-kernel lanczos', restore(['--task', 'sr', '--sr-kernel', 'lanczos'], photo));
  add('task sharpen', restore(['--task', 'sharpen'], photo));
  add('no task', ['restore', '--input', photo, '--output', 'OUT/r.png', ...fast]);
  add('no input', ['restore', ...denoise, '--output', 'OUT/r.png', ...fast]);
  add('no output', ['restore', ...denoise, '--input', photo, ...fast]);
  add('unknown command', ['sharpen', '--input', photo]);
  add('no command', []);

  // Output paths.
  for (const out of ['OUT/r.gif', 'OUT/r', 'OUT/missing/r.png', 'OUT', photo, f['photo-link.png']!, f['dangling.png']!, f['fifo.png']!, '/dev/null', 'OUT/\n.png', `OUT/${'y'.repeat(300)}.png`])
    add(`output ${JSON.stringify(out)}`, restore(denoise, photo, out));

  // Models that are not model folders.
  for (const model of [inputs, f['photo.png']!, f['fifo.png']!, join(inputs, 'no-such-model'), '/dev/null'])
    add(`model ${model}`, ['restore', ...denoise, '--input', photo, '--output', 'OUT/r.png', '--model', model, '--steps', '2']);

  // degrade and eval.
  add('degrade, mask-out into a missing folder', ['degrade', '--task', 'inpaint', '--input', photo, '--output', 'OUT/m.png', '--mask-out', 'OUT/missing/mask.png']);
  add('degrade, mask-out = output', ['degrade', '--task', 'inpaint', '--input', photo, '--output', 'OUT/m.png', '--mask-out', 'OUT/m.png']);
  add('degrade, output .gif', ['degrade', '--task', 'inpaint', '--input', photo, '--output', 'OUT/m.gif']);
  add('degrade, empty mask', ['degrade', '--task', 'inpaint', '--input', photo, '--output', 'OUT/m.png', '--mask', f['black-mask.png']!]);
  add('degrade, fifo', ['degrade', '--task', 'denoise', '--sigma-y', '0.1', '--input', f['fifo.png']!, '--output', 'OUT/m.png']);
  add('degrade, sr of one pixel', ['degrade', '--task', 'sr', '--scale', '4', '--input', f['one-pixel.png']!, '--output', 'OUT/m.png']);
  // The folder holds the 100 MP bomb: with the tiny model its estimate is minutes, refused at 1.
  // Its own limit is a minute, so the hang bound must be above it.
  add('eval of a folder of bad files', ['eval', ...denoise, '--input', inputs, ...fast, '--limit', '3', '--max-minutes', '1'], 180_000);
  add('eval of a file', ['eval', ...denoise, '--input', photo, ...fast]);
  add('eval crop 1', ['eval', ...denoise, '--input', inputs, '--crop', '1', ...fast]);
  // detect: odd and broken images, and outputs it must not write.
  for (const name of ['photo.png', 'grey-alpha.png', 'one-pixel.png', 'row.png', 'truncated.jpg', 'claims-huge.png', 'svg.png', 'folder.png', 'fifo.png'])
    add(`detect ${name}`, ['detect', '--input', f[name]!, '--output', 'OUT/m.png']);
  for (const out of ['OUT/m.gif', 'OUT/missing/m.png', photo, '/dev/null']) add(`detect, output ${JSON.stringify(out)}`, ['detect', '--input', photo, '--output', out]);
  add('detect, sensitivity 1.5', ['detect', '--input', photo, '--output', 'OUT/m.png', '--sensitivity', '1.5']);
  return cases;
}
