/**
 * Memory preflight (docs/TILING.md): how many pixels one solve may hold, from the memory this
 * process may still use and the model's measured cost per pixel; and the refusal, with numbers,
 * when not even the smallest tile fits.
 *
 * The model's cost is measured, not assumed: a fresh process loads each graph the solver will call
 * with the job's provider and session options, runs it at 64x64 and then 192x192, and reports its
 * peak resident set (VmHWM) after each; the growth per pixel is the graph's marginal cost. A fresh
 * process matters: in this one, memory freed earlier (a decoded image, an earlier session) is
 * reused without showing in the resident set, which hides the cost. Under plain Node (the CLI, the
 * tests) that process is this Node run on the probe's source; the app, whose Electron binary has
 * the RunAsNode fuse off, injects a runner that starts a utility process (configureMemoryProbe).
 * The figure is cached per graph (sha256), provider and thread count, in memory and in a small
 * file in the user's cache folder, validated when read. Measured against runs at 512x512 and
 * 768x768 it errs high (docs/TILING.md). It measures host memory: on a GPU provider the
 * activations live on the device, where the tile cap (maxTilePixels) is the only bound.
 */
import { execFile } from 'node:child_process';
import { lstatSync, mkdirSync, readFileSync } from 'node:fs';
import { freemem, homedir } from 'node:os';
import { dirname, join, posix, win32 } from 'node:path';
import type * as Ort from 'onnxruntime-node';
import { writeFileAtomic } from '../photo/atomic.js';
import type { Denoiser } from './denoiser.js';
import { OnnxDenoiser } from './denoiser.js';
import { roundUp } from './pad.js';
import { sessionOptions } from './providers.js';

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

/** What one probe run measures: one graph on one provider, at each of `sizes` (square). */
export interface MemoryProbeRequest {
  graph: string;
  provider: string;
  /** Session options as the job uses them (sessionOptions without the provider list). */
  options: { graphOptimizationLevel: 'disabled' | 'basic' | 'extended' | 'all'; intraOpNumThreads: number; interOpNumThreads: number; enableMemPattern: boolean };
  /** The graph's input names: image, timestep, and the VJP's cotangent when it has one. */
  inputs: { x: string; t: string; v?: string };
  channels: number;
  sizes: number[];
}

/** Runs measurePeaks in a fresh process and returns what it returned (peak before, then after each size). */
export type ProbeRunner = (request: MemoryProbeRequest) => Promise<number[]>;

/**
 * The probe itself, run in a fresh process: the peak resident set after loading, then after a run
 * at each size. It uses nothing but its parameters and globals, because plain Node runs it from
 * its source text (nodeProbeRunner) while the app's probe process imports and calls it.
 */
export async function measurePeaks(ort: typeof Ort, readText: (path: string, encoding: 'utf8') => string, req: MemoryProbeRequest): Promise<number[]> {
  const session = await ort.InferenceSession.create(req.graph, { ...req.options, executionProviders: [req.provider] });
  // The peak resident set of THIS process image. Not getrusage's maxRSS: on Linux a child spawned
  // by a large process starts with its parent's maxRSS. VmHWM belongs to the exec'd image;
  // elsewhere the arena keeps its high-water mark, so the resident set after a run is close to it.
  const peak = (): number => {
    try {
      const m = /VmHWM:\s*(\d+) kB/.exec(readText('/proc/self/status', 'utf8'));
      if (m) return Number(m[1]) * 1024;
    } catch {
      // Not Linux.
    }
    return process.memoryUsage.rss();
  };
  const out = [peak()];
  for (const n of req.sizes) {
    const dims = [1, req.channels, n, n];
    const data = new Float32Array(req.channels * n * n);
    for (let i = 0; i < data.length; i++) data[i] = 0.9 * Math.sin(i * 0.618);
    const feeds: Record<string, Ort.Tensor> = {
      [req.inputs.x]: new ort.Tensor('float32', data, dims),
      [req.inputs.t]: new ort.Tensor('float32', Float32Array.of(500), [1]),
    };
    if (req.inputs.v !== undefined) feeds[req.inputs.v] = new ort.Tensor('float32', data.slice(), dims);
    await session.run(feeds);
    out.push(peak());
  }
  await session.release();
  return out;
}

/** The default runner: this Node on measurePeaks' source, for the CLI and the tests (plain Node only). */
export const nodeProbeRunner: ProbeRunner = (request) => {
  if (process.versions.electron) {
    // process.execPath would start the app itself, not Node (the RunAsNode fuse is off).
    return Promise.reject(new Error('under Electron the memory probe needs a runner (configureMemoryProbe)'));
  }
  const program = [
    'const ort = await import(process.argv[1]);',
    "const { readFileSync } = await import('node:fs');",
    `const measurePeaks = ${measurePeaks.toString()};`,
    'process.stdout.write(JSON.stringify(await measurePeaks(ort, readFileSync, JSON.parse(process.argv[2]))));',
  ].join('\n');
  const args = ['--input-type=module', '-e', program, import.meta.resolve('onnxruntime-node'), JSON.stringify(request)];
  return new Promise((resolve, reject) => {
    execFile(process.execPath, args, { timeout: 300_000, maxBuffer: 1 << 20 }, (err, stdout, stderr) => {
      if (err) return reject(new Error(`memory probe failed: ${String(stderr || err.message).split('\n')[0]}`));
      try {
        resolve(JSON.parse(String(stdout).trim().split('\n').pop() ?? ''));
      } catch {
        reject(new Error(`memory probe printed ${JSON.stringify(String(stdout).slice(0, 200))}`));
      }
    });
  });
};

/** Where the measured costs are kept between runs, per user: the platform's cache folder. */
export function defaultCacheDir(env: NodeJS.ProcessEnv = process.env, platform: string = process.platform, home: string = homedir()): string | undefined {
  // The target platform's path rules, not this host's (the tests ask for every platform).
  const path = platform === 'win32' ? win32 : posix;
  const absolute = (p: string | undefined): string | undefined => (p && path.isAbsolute(p) ? p : undefined);
  if (platform === 'win32') {
    const local = absolute(env.LOCALAPPDATA);
    return local ? path.join(local, 'vmlmap-restore', 'Cache') : undefined;
  }
  if (!absolute(home)) return undefined;
  if (platform === 'darwin') return path.join(home, 'Library', 'Caches', 'vmlmap-restore');
  // XDG: a relative $XDG_CACHE_HOME is invalid and to be ignored.
  return path.join(absolute(env.XDG_CACHE_HOME) ?? path.join(home, '.cache'), 'vmlmap-restore');
}

let runner: ProbeRunner = nodeProbeRunner;
let cacheDir: string | undefined | null;

/**
 * How this process measures (runner) and where it keeps the results (cacheDir: a folder, or null
 * for no file). The app's service calls it at start-up; the CLI keeps the defaults.
 */
export function configureMemoryProbe(config: { runner?: ProbeRunner; cacheDir?: string | null }): void {
  if ('runner' in config) runner = config.runner ?? nodeProbeRunner;
  if ('cacheDir' in config) cacheDir = config.cacheDir;
}

const CACHE_NAME = 'model-memory-v3.json';
/** A cached cost outside these bounds is not believed (and a measurement outside them not kept). */
export const CACHED_BYTES_PER_PIXEL = { min: 1, max: 2 ** 20 };
/** Keys as modelCost writes them: graph sha256 / provider / threads / probe sizes. */
const CACHE_KEY = /^[0-9a-f]{64}\/[a-z]{2,8}\/\d{1,4}\/\d{1,5}x\d{1,5}$/;
const CACHE_MAX_ENTRIES = 256;
const CACHE_MAX_BYTES = 64 * 1024;

function cacheFile(): string | undefined {
  const dir = cacheDir === undefined ? defaultCacheDir() : cacheDir;
  return dir ? join(dir, CACHE_NAME) : undefined;
}

const believable = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v >= CACHED_BYTES_PER_PIXEL.min && v <= CACHED_BYTES_PER_PIXEL.max;

/**
 * The cached costs that look like ours. Anything else in the file (another shape, a key this code
 * does not write, a number that is not a plausible cost) is dropped: the file is only a cache, and
 * a wrong cost would let a job plan more memory than the machine has.
 */
export function readCostCache(file = cacheFile()): Record<string, number> {
  if (!file) return {};
  try {
    // A regular file of modest size: a FIFO or a device in its place would block or never end.
    const st = lstatSync(file);
    if (!st.isFile() || st.size > CACHE_MAX_BYTES) return {};
    const v: unknown = JSON.parse(readFileSync(file, 'utf8'));
    if (!v || typeof v !== 'object' || Array.isArray(v)) return {};
    const out: Record<string, number> = {};
    for (const [k, n] of Object.entries(v)) if (CACHE_KEY.test(k) && believable(n)) out[k] = n;
    return out;
  } catch {
    return {};
  }
}

async function writeCostCache(key: string, bytesPerPixel: number): Promise<void> {
  const file = cacheFile();
  if (!file || !believable(bytesPerPixel) || !CACHE_KEY.test(key)) return;
  try {
    const entries = Object.entries({ ...readCostCache(file), [key]: bytesPerPixel }).filter(([k]) => k !== key);
    entries.push([key, bytesPerPixel]);
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    // Atomic: another process reading the cache sees the old file or the new one, never half.
    await writeFileAtomic(file, JSON.stringify(Object.fromEntries(entries.slice(-CACHE_MAX_ENTRIES))));
  } catch {
    // A cache only.
  }
}

/** One probe through the configured runner, its answer checked (whatever process ran it). */
async function probePeaks(request: MemoryProbeRequest): Promise<number[]> {
  const peaks: unknown = await runner(request);
  if (!Array.isArray(peaks) || peaks.length !== request.sizes.length + 1 || !peaks.every((p) => typeof p === 'number' && Number.isFinite(p) && p >= 0)) {
    throw new Error(`memory probe returned ${JSON.stringify(peaks)?.slice(0, 200)}`);
  }
  return peaks;
}

const memoryCache = new WeakMap<Denoiser, Map<string, ModelMemoryCost>>();

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
  const { executionProviders: _, ...options } = sessionOptions('cpu');
  const threads = options.intraOpNumThreads!;
  const fileCache = readCostCache();
  let perPixel = 0;
  const parts: string[] = [];
  for (const g of graphs) {
    const fileKey = `${g.spec.sha256}/${model.provider}/${threads}/${sizes.join('x')}`;
    let bpp = fileCache[fileKey];
    let note = bpp === undefined ? '' : ' (cached)';
    if (bpp === undefined) {
      try {
        const { x, t, v } = g.spec.inputs;
        const request: MemoryProbeRequest = {
          graph: g.path,
          provider: model.provider,
          options: options as MemoryProbeRequest['options'],
          inputs: v === undefined ? { x: x!, t: t! } : { x: x!, t: t!, v },
          channels: m.channels,
          sizes,
        };
        const [, a, b] = await probePeaks(request);
        bpp = Math.max(0, (b! - a!) / (sizes[1]! ** 2 - sizes[0]! ** 2));
        await writeCostCache(fileKey, bpp);
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
