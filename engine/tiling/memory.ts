/**
 * Memory preflight (docs/TILING.md): how many pixels one solve may hold, from the memory this
 * process may still use and the model's measured cost per pixel; and the refusal, with numbers,
 * when not even the smallest tile fits.
 *
 * The model's cost is measured, not assumed: a fresh process (this Node, or Electron run as Node)
 * loads each graph the solver will call with the job's provider and session options, runs it at
 * 64x64 and then 192x192, and reports its peak resident set (VmHWM) after each; the growth per
 * pixel is the graph's marginal cost. A fresh process matters: in this one, memory freed earlier (a decoded
 * image, an earlier session) is reused without showing in the resident set, which hides the cost.
 * The figure is cached per graph (sha256), provider and thread count, in memory and in a small
 * file in the temporary folder. Measured against runs at 512x512 and 768x768 it errs high
 * (docs/TILING.md). It measures host memory: on a GPU provider the activations live on the
 * device, where the tile cap (maxTilePixels) is the only bound.
 */
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { freemem, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Denoiser } from '../model/denoiser.js';
import { OnnxDenoiser } from '../model/denoiser.js';
import { roundUp } from '../model/pad.js';
import { sessionOptions } from '../model/providers.js';

export interface ModelMemoryCost {
  /** Bytes of host memory per (padded) pixel of one network call, forward and VJP graphs together. */
  bytesPerPixel: number;
  /** How the number was obtained, for reports. */
  how: string;
}

/**
 * Bytes per pixel of the engine's own float64 working set in one solve (the solver's images, the
 * denoiser's padded copies and float32 tensors, and garbage not yet collected): measured with the
 * tiny test model, whose network memory is small and known, at about 600 B/px (docs/TILING.md);
 * 1 KiB leaves room for the baselines' extra images.
 */
export const ENGINE_BYTES_PER_PIXEL = 1024;
/** The measured model cost is multiplied by this (arena rounding; docs/TILING.md). */
export const MODEL_COST_SAFETY = 1.25;
/** Encoding the result (interleaved 16-bit samples and the encoder's copy), per output pixel. */
export const WRITE_BYTES_PER_PIXEL = 16;

const PROBE_SIZES = [64, 192];
/** Assumed per graph when the probe cannot run (about twice the default model's measured cost). */
const FALLBACK_BYTES_PER_PIXEL = { forward: 4096, vjp: 20480 };

const rss = (): number => process.memoryUsage.rss();

/** The child's program: argv = [onnxruntime-node URL, graph, provider, options JSON, inputs JSON, sizes...]. */
const PROBE_CHILD = `
const ort = await import(process.argv[1]);
const [path, provider, options, inputs, ...sizes] = process.argv.slice(2);
const names = JSON.parse(inputs);
const session = await ort.InferenceSession.create(path, { ...JSON.parse(options), executionProviders: [provider] });
const { readFileSync } = await import('node:fs');
// The peak resident set of THIS process image. Not getrusage's maxRSS: on Linux a child spawned by
// a large process starts with its parent's maxRSS. VmHWM belongs to the exec'd image; elsewhere
// the arena keeps its high-water mark, so the resident set after a run is close to its peak.
const peak = () => {
  try {
    const m = /VmHWM:\s*(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
    if (m) return Number(m[1]) * 1024;
  } catch {}
  return process.memoryUsage.rss();
};
const out = [peak()];
for (const n of sizes.map(Number)) {
  const dims = [1, names.c, n, n];
  const data = new Float32Array(names.c * n * n);
  for (let i = 0; i < data.length; i++) data[i] = 0.9 * Math.sin(i * 0.618);
  const feeds = { [names.x]: new ort.Tensor('float32', data, dims), [names.t]: new ort.Tensor('float32', Float32Array.of(500), [1]) };
  if (names.v !== undefined) feeds[names.v] = new ort.Tensor('float32', data.slice(), dims);
  await session.run(feeds);
  out.push(peak());
}
process.stdout.write(JSON.stringify(out));
`;

function probeInChild(path: string, provider: string, inputs: Record<string, string>, channels: number, sizes: number[]): Promise<number[]> {
  const ortUrl = import.meta.resolve('onnxruntime-node');
  const { executionProviders: _, ...options } = sessionOptions(provider);
  const args = ['--input-type=module', '-e', PROBE_CHILD, ortUrl, path, provider, JSON.stringify(options), JSON.stringify({ ...inputs, c: channels }), ...sizes.map(String)];
  return new Promise((resolve, reject) => {
    execFile(process.execPath, args, { env: { ...process.env, ELECTRON_RUN_AS_NODE: '1' }, timeout: 300_000, maxBuffer: 1 << 20 }, (err, stdout, stderr) => {
      if (err) return reject(new Error(`memory probe failed: ${String(stderr || err.message).split('\n')[0]}`));
      try {
        const peaks = JSON.parse(String(stdout).trim().split('\n').pop() ?? '');
        if (!Array.isArray(peaks) || peaks.length !== sizes.length + 1) throw new Error('bad output');
        resolve(peaks);
      } catch {
        reject(new Error(`memory probe printed ${JSON.stringify(String(stdout).slice(0, 200))}`));
      }
    });
  });
}

const memoryCache = new WeakMap<Denoiser, Map<string, ModelMemoryCost>>();
const CACHE_FILE = join(tmpdir(), `vmlmap-model-memory-v2-${process.getuid?.() ?? 'user'}.json`);

function readFileCache(): Record<string, number> {
  try {
    const v = JSON.parse(readFileSync(CACHE_FILE, 'utf8'));
    return v && typeof v === 'object' ? v : {};
  } catch {
    return {};
  }
}

function writeFileCache(key: string, bytesPerPixel: number): void {
  try {
    writeFileSync(CACHE_FILE, JSON.stringify({ ...readFileCache(), [key]: bytesPerPixel }));
  } catch {
    // A cache only.
  }
}

/**
 * The model's host memory per pixel for the graphs a solve calls (the VJP graph only when the
 * solver uses it). Denoisers that are not ONNX models (test doubles) cost nothing here.
 */
export async function modelMemoryCost(model: Denoiser, withVjp: boolean): Promise<ModelMemoryCost> {
  if (!(model instanceof OnnxDenoiser)) return { bytesPerPixel: 0, how: 'not an onnxruntime model' };
  const key = `${model.provider}/${withVjp && model.hasVjp}`;
  let byModel = memoryCache.get(model);
  if (!byModel) memoryCache.set(model, (byModel = new Map()));
  const known = byModel.get(key);
  if (known) return known;
  if (model.provider !== 'cpu') {
    // Device memory is not host memory; probing would also compile every kernel a second time.
    const cost = { bytesPerPixel: 0, how: `not measured on ${model.provider} (device memory): tiles are bounded by maxTilePixels` };
    byModel.set(key, cost);
    return cost;
  }
  const m = model.model.manifest;
  const sizes = PROBE_SIZES.map((n) => roundUp(n, m.sizeMultiple));
  // The graphs of the precision in use (the fp32 ones on the CPU unless fp16 was forced).
  const { specs, paths } = model.graphs;
  const graphs = [{ name: 'forward', path: paths.forwardPath, spec: specs.forward }];
  if (withVjp && paths.vjpPath && specs.vjp) graphs.push({ name: 'vjp', path: paths.vjpPath, spec: specs.vjp });
  const threads = sessionOptions('cpu').intraOpNumThreads;
  const fileCache = readFileCache();
  let perPixel = 0;
  const parts: string[] = [];
  for (const g of graphs) {
    const fileKey = `${g.spec.sha256}/${model.provider}/${threads}/${sizes.join('x')}`;
    let bpp = fileCache[fileKey];
    let note = '';
    if (typeof bpp !== 'number') {
      try {
        const [, a, b] = await probeInChild(g.path, model.provider, g.spec.inputs, m.channels, sizes);
        bpp = Math.max(0, (b - a) / (sizes[1] ** 2 - sizes[0] ** 2));
        writeFileCache(fileKey, bpp);
      } catch (e) {
        bpp = FALLBACK_BYTES_PER_PIXEL[g.name as 'forward' | 'vjp'];
        note = ` (assumed: ${(e as Error).message})`;
      }
    }
    perPixel += bpp;
    parts.push(`${g.name} ${bpp.toFixed(0)} B/px${note}`);
  }
  const cost = { bytesPerPixel: perPixel, how: `measured in a fresh process on ${model.provider} between ${sizes[0]}x${sizes[0]} and ${sizes[1]}x${sizes[1]}: ${parts.join(', ')}` };
  byModel.set(key, cost);
  return cost;
}

export interface MemoryBudget {
  /** What the process may hold in all (bytes). */
  budget: number;
  /** Its resident set now. */
  rss: number;
  /** What the system reports available (bytes). */
  available: number;
}

/** Default: the resident set plus 75% of what the system has available; a given budget caps it. */
export function memoryBudget(limit?: number): MemoryBudget {
  const now = rss();
  const available = typeof process.availableMemory === 'function' ? process.availableMemory() : freemem();
  const budget = Math.min(limit ?? Infinity, now + 0.75 * available);
  return { budget, rss: now, available };
}

export const mb = (bytes: number): string => `${Math.round(bytes / 2 ** 20)} MB`;
