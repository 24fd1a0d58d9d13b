/**
 * Large-photo benchmark (docs/BENCHMARKS.md): a 6000x4000 photo denoised with the fast preset, and
 * scratch inpainting of the same photo with 1% of its pixels masked. Each restoration runs in a
 * child process through the CLI's own restore command, which then reports its wall time and its
 * peak resident set (VmHWM on Linux; process.resourceUsage().maxRSS elsewhere and as well, but on
 * Linux a spawned child's maxRSS starts at its parent's).
 *
 *   npm run -s build:cli && node out/cli/bench/large.js [--model DIR] [--task denoise|inpaint|both]
 *        [--width 6000] [--height 4000] [--source PHOTO] [--sigma 0.05] [--coverage 0.01]
 *        [--memory-mb 3000] [--preset fast] [--out DIR] [--json]
 *
 * The clean photo is --source (default: the largest development photo, data/dev/*aloeL.jpg, else
 * matplotlib's grace_hopper.jpg) resized to cover --width x --height (Lanczos) and centre-cropped.
 * Denoising: plus Gaussian noise of std --sigma (seeded), written as a 16-bit PNG. Inpainting:
 * engine/photo/masks.ts scratchesObserved at --coverage, masked pixels black. --memory-mb is the job's memory
 * budget (the preflight sizes the tiles to it); without it the preflight uses what the system has.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { restoreCommand } from '../cli/commands.js';
import { packageRoot } from '../cli/model.js';
import { readImage } from '../engine/photo/image.js';
import { scratchesObserved } from '../engine/photo/masks.js';
import { isMissing } from '../engine/photo/user-mask.js';
import { Rng } from '../engine/solvers/common.js';
import type { Progress } from '../engine/types.js';

interface ChildSpec {
  flags: Record<string, string | boolean>;
  memoryBudget?: number;
}

interface ChildReport {
  wallMs: number;
  /** getrusage's maxRSS; on Linux a spawned child starts from its parent's, so see peakRssBytes. */
  maxRssBytes: number;
  /** VmHWM of the child's own process image (Linux), else maxRSS. */
  peakRssBytes: number;
  summary: Record<string, unknown>;
  /** Filled in by the parent: PSNR against the clean photo, and for inpainting the masked pixels' PSNR and the observed samples that changed. */
  quality?: { psnr: number; psnrInput: number; psnrMasked?: number; observedChanged?: number };
}

/** A written photo as the app reads it back (the engine's decoder: 16-bit samples exactly, its sRGB profile honoured), planar in [0, 1]. */
async function readPlanar(path: string): Promise<Float64Array> {
  return (await readImage(path)).image.data;
}

/** PSNR of an output file against the clean 8-bit photo; for inpainting also on the masked pixels, and the observed samples that differ from the input. */
async function quality(output: string, clean: Buffer, input: string, mask?: string): Promise<ChildReport['quality']> {
  const out = await readPlanar(output);
  const inp = await readPlanar(input);
  if (out.length !== clean.length || inp.length !== clean.length) throw new Error(`unexpected output size: ${out.length} samples`);
  const m = mask ? await sharp(mask).extractChannel(0).raw().toBuffer() : undefined;
  const hw = clean.length / 3;
  let se = 0;
  let seIn = 0;
  let seMasked = 0;
  let nMasked = 0;
  let changed = 0;
  for (let i = 0; i < clean.length; i++) {
    // clean is interleaved (pixel-major), the decoded files planar (channel-major).
    const p = Math.floor(i / 3);
    const j = (i % 3) * hw + p;
    const c = clean[i]! / 255;
    const d = out[j]! - c;
    se += d * d;
    seIn += (inp[j]! - c) ** 2;
    if (m && m[p]! >= 128) {
      seMasked += d * d;
      nMasked++;
    } else if (m && out[j] !== inp[j]) changed++;
  }
  const db = (e: number, n: number): number => 10 * Math.log10(n / e);
  return { psnr: db(se, clean.length), psnrInput: db(seIn, clean.length), ...(m ? { psnrMasked: db(seMasked, nMasked), observedChanged: changed } : {}) };
}

function peakRss(): number {
  try {
    const m = /VmHWM:\s*(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
    if (m) return Number(m[1]) * 1024;
  } catch {
    // not Linux
  }
  return process.resourceUsage().maxRSS * 1024;
}

/** The child: one restore command in this process, then its peak RSS. */
async function child(spec: ChildSpec): Promise<void> {
  const t0 = performance.now();
  let lastLog = 0;
  let captured = '';
  const write = process.stdout.write.bind(process.stdout);
  // The command prints its JSON summary on stdout; keep it for the report.
  process.stdout.write = ((chunk: string | Uint8Array): boolean => {
    captured += String(chunk);
    return true;
  }) as typeof process.stdout.write;
  const onProgress = (p: Progress): void => {
    const now = performance.now();
    if (now - lastLog < 30_000 && p.step !== p.total) return;
    lastLog = now;
    const rss = process.memoryUsage.rss();
    process.stderr.write(`  ${p.step}/${p.total} steps, ${(p.elapsedMs / 1000).toFixed(0)} s elapsed, ETA ${(p.etaMs / 1000).toFixed(0)} s, RSS ${(rss / 2 ** 20).toFixed(0)} MB\n`);
  };
  const controller = new AbortController();
  process.once('SIGINT', () => controller.abort());
  await restoreCommand(spec.flags as never, controller.signal, { onProgress, tiling: spec.memoryBudget ? { memoryBudget: spec.memoryBudget } : undefined });
  process.stdout.write = write;
  const report: ChildReport = {
    wallMs: performance.now() - t0,
    maxRssBytes: process.resourceUsage().maxRSS * 1024,
    peakRssBytes: peakRss(),
    summary: JSON.parse(captured.trim().split('\n').pop() ?? '{}'),
  };
  process.stdout.write(`${JSON.stringify(report)}\n`);
}

function runChild(spec: ChildSpec): Promise<ChildReport> {
  return new Promise((res, rej) => {
    const p = spawn(process.execPath, [process.argv[1], '--child', JSON.stringify(spec)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    p.stdout.on('data', (d) => (out += String(d)));
    p.on('error', rej);
    p.on('close', (code) => {
      if (code !== 0) return rej(new Error(`child exited with ${code}`));
      res(JSON.parse(out.trim().split('\n').pop()!));
    });
  });
}

function defaultSource(root: string): string {
  const dev = join(root, 'data', 'dev');
  if (existsSync(dev)) {
    const photos = readdirSync(dev)
      .filter((n) => /\.(jpe?g|png)$/i.test(n))
      .map((n) => join(dev, n))
      .sort((a, b) => statSync(b).size - statSync(a).size);
    const aloe = photos.find((p) => p.includes('aloeL'));
    if (aloe ?? photos[0]) return aloe ?? photos[0];
  }
  const hopper = '/usr/share/matplotlib/mpl-data/sample_data/grace_hopper.jpg';
  if (existsSync(hopper)) return hopper;
  throw new Error('no source photo: pass --source PHOTO');
}

/** The clean photo at width x height, 8-bit RGB interleaved. */
async function cleanPhoto(source: string, width: number, height: number): Promise<Buffer> {
  return sharp(source).rotate().removeAlpha().toColourspace('srgb').resize(width, height, { fit: 'cover', kernel: 'lanczos3' }).raw().toBuffer();
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      child: { type: 'string' },
      model: { type: 'string' },
      task: { type: 'string', default: 'both' },
      width: { type: 'string', default: '6000' },
      height: { type: 'string', default: '4000' },
      source: { type: 'string' },
      sigma: { type: 'string', default: '0.05' },
      coverage: { type: 'string', default: '0.01' },
      'memory-mb': { type: 'string' },
      preset: { type: 'string', default: 'fast' },
      out: { type: 'string', default: join(packageRoot(), 'bench-out', 'large') },
      json: { type: 'boolean' },
    },
  });
  if (values.child) return child(JSON.parse(values.child));
  const root = packageRoot();
  const width = Number(values.width);
  const height = Number(values.height);
  const sigma = Number(values.sigma);
  const coverage = Number(values.coverage);
  const out = resolve(values.out!);
  mkdirSync(out, { recursive: true });
  const source = values.source ?? defaultSource(root);
  const memoryBudget = values['memory-mb'] ? Number(values['memory-mb']) * 2 ** 20 : undefined;
  const model = values.model ? resolve(values.model) : undefined;
  const tasks = values.task === 'both' ? ['denoise', 'inpaint'] : [values.task!];
  process.stderr.write(`preparing a ${width}x${height} photo from ${source} in ${out}\n`);
  const clean = await cleanPhoto(source, width, height);
  const pixels = width * height;
  const rows: { task: string; report: ChildReport; command: string }[] = [];
  for (const task of tasks) {
    const flags: Record<string, string | boolean> = { task, output: join(out, `${task}-restored.png`), preset: values.preset!, provider: 'cpu', json: true, seed: '0' };
    if (model) flags.model = model;
    if (task === 'denoise') {
      const noisy = new Uint16Array(3 * pixels);
      const rng = new Rng(1);
      for (let i = 0; i < noisy.length; i++) noisy[i] = Math.round(Math.min(1, Math.max(0, clean[i] / 255 + sigma * rng.normal())) * 65535);
      const input = join(out, 'denoise-input.png');
      await sharp(noisy, { raw: { width, height, channels: 3 } })
        .toColourspace('rgb16')
        .png({ compressionLevel: 1 })
        .toFile(input);
      Object.assign(flags, { input, 'sigma-y': String(sigma) });
    } else {
      const observed = scratchesObserved(height, width, 2, coverage);
      const scratched = Buffer.from(clean);
      const maskPx = Buffer.alloc(pixels);
      let masked = 0;
      for (let p = 0; p < pixels; p++)
        if (isMissing(observed[p]!)) {
          masked++;
          maskPx[p] = 255;
          scratched[3 * p] = scratched[3 * p + 1] = scratched[3 * p + 2] = 0;
        }
      const input = join(out, 'inpaint-input.png');
      const maskPath = join(out, 'inpaint-mask.png');
      await sharp(scratched, { raw: { width, height, channels: 3 } })
        .png({ compressionLevel: 1 })
        .toFile(input);
      await sharp(maskPx, { raw: { width, height, channels: 1 } })
        .png()
        .toFile(maskPath);
      process.stderr.write(`mask: ${((100 * masked) / pixels).toFixed(2)}% of the pixels\n`);
      Object.assign(flags, { input, mask: maskPath, 'sigma-y': '0' });
    }
    const command = `vmlmap restore ${Object.entries(flags)
      .map(([k, v]) => (v === true ? `--${k}` : `--${k} ${v}`))
      .join(' ')}${memoryBudget ? ` (memory budget ${values['memory-mb']} MB)` : ''}`;
    process.stderr.write(`${task}: ${command}\n`);
    const report = await runChild({ flags, memoryBudget });
    report.quality = await quality(String(flags.output), clean, String(flags.input), task === 'inpaint' ? String(flags.mask) : undefined);
    rows.push({ task, report, command });
    process.stderr.write(`${task}: ${(report.wallMs / 1000).toFixed(0)} s, peak RSS ${((report.peakRssBytes ?? report.maxRssBytes) / 2 ** 30).toFixed(2)} GB\n`);
  }
  if (values.json) {
    process.stdout.write(`${JSON.stringify({ width, height, source, sigma, coverage, memoryBudget, rows })}\n`);
    return;
  }
  const line = (c: string[]): string => `| ${c.join(' | ')} |\n`;
  let table =
    line(['task', 'size', 'time (s)', 'peak RSS (GB)', 'tiling', 'solves', 'solved MP', 'NFE', 'PSNR input -> restored (dB)']) + line(['---', '---', '---', '---', '---', '---', '---', '---', '---']);
  for (const { task, report } of rows) {
    const s = report.summary as { tiling?: { mode: string; solves: number; solvedPixels: number; tileH?: number; tileW?: number }; nfe?: number };
    const t = s.tiling;
    table += line([
      task,
      `${width}x${height}`,
      (report.wallMs / 1000).toFixed(0),
      ((report.peakRssBytes ?? report.maxRssBytes) / 2 ** 30).toFixed(2),
      t ? `${t.mode}${t.tileH ? ` ${t.tileH}x${t.tileW}` : ''}` : '?',
      String(t?.solves ?? '?'),
      t ? (t.solvedPixels / 1e6).toFixed(1) : '?',
      String(s.nfe ?? '?'),
      report.quality
        ? `${report.quality.psnrInput.toFixed(2)} -> ${report.quality.psnr.toFixed(2)}${report.quality.psnrMasked !== undefined ? ` (masked pixels ${report.quality.psnrMasked.toFixed(2)}; ${report.quality.observedChanged} observed samples changed)` : ''}`
        : '?',
    ]);
  }
  process.stdout.write(table);
}

main().catch((e: unknown) => {
  process.stderr.write(`${(e as Error)?.stack ?? String(e)}\n`);
  process.exitCode = 1;
});
