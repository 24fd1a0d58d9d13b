/**
 * Reads and checks a model folder's manifest.json (docs/MODEL_CONTRACT.md). Everything that can
 * be wrong with a model is reported here, as one UserError line, before a session is created.
 */
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../types.js';
import type { ScheduleSpec } from './schedule.js';

/** A file a graph reads besides itself: ONNX external data (the weights), checksummed like the graph. */
export interface DataFileSpec {
  file: string;
  sha256: string;
}

export interface GraphSpec {
  file: string;
  sha256: string;
  inputs: Record<string, string>;
  output: string;
  /** External data files the graph refers to (relative to the model folder); [] when self-contained. */
  externalData: DataFileSpec[];
}

/** Numeric precision of a set of graphs. Inputs and outputs are float32 in every variant. */
export type Precision = 'fp32' | 'fp16';

export interface GraphSet {
  forward: GraphSpec;
  vjp?: GraphSpec;
}

export interface Manifest {
  format: 'vmlmap-model';
  formatVersion: 1;
  name: string;
  description: string;
  prediction: 'epsilon';
  channels: 1 | 3;
  valueRange: [number, number];
  sizeMultiple: number;
  fixedSize: [number, number] | null;
  schedule: ScheduleSpec;
  /** The float32 graphs (always present). */
  graphs: GraphSet;
  /** Optional reduced-precision copies of the graphs, for GPU execution providers. */
  variants?: { fp16?: GraphSet };
  parameters?: number;
  provenance?: Record<string, unknown>;
}

/** Absolute paths of one precision's graphs. */
export interface GraphPaths {
  forwardPath: string;
  vjpPath?: string;
}

export interface ModelFolder extends GraphPaths {
  dir: string;
  manifest: Manifest;
  /** Paths of the fp16 variant's graphs, when the manifest has one. */
  fp16?: GraphPaths;
}

function fail(dir: string, why: string): never {
  throw new UserError(`model ${dir}: ${why}`);
}

const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const isSha = (v: unknown): v is string => typeof v === 'string' && /^[0-9a-f]{64}$/i.test(v);
const inside = (f: string): boolean => !f.split(/[\\/]/).includes('..') && !f.startsWith('/') && !f.startsWith('\\') && !/^[a-z]:/i.test(f);

function checkGraph(dir: string, g: unknown, which: string, defaults: GraphSpec['inputs'], output: string): GraphSpec {
  if (typeof g !== 'object' || g === null) fail(dir, `${which} is missing`);
  const o = g as Record<string, unknown>;
  if (typeof o.file !== 'string' || !o.file) fail(dir, `${which}.file is missing`);
  if (!isSha(o.sha256)) fail(dir, `${which}.sha256 is missing or not 64 hex digits`);
  if (!inside(o.file)) fail(dir, `${which}.file must be a file inside the model folder`);
  const inputs = { ...defaults, ...((o.inputs as Record<string, string>) ?? {}) };
  const externalData: DataFileSpec[] = [];
  if (o.externalData !== undefined && o.externalData !== null) {
    if (!Array.isArray(o.externalData)) fail(dir, `${which}.externalData must be a list of {file, sha256}`);
    o.externalData.forEach((d: unknown, k: number) => {
      const e = d as Record<string, unknown> | null;
      if (typeof e !== 'object' || e === null || typeof e.file !== 'string' || !e.file) fail(dir, `${which}.externalData[${k}].file is missing`);
      if (!isSha(e.sha256)) fail(dir, `${which}.externalData[${k}].sha256 is missing or not 64 hex digits`);
      if (!inside(e.file)) fail(dir, `${which}.externalData[${k}].file must be a file inside the model folder`);
      externalData.push({ file: e.file, sha256: e.sha256.toLowerCase() });
    });
  }
  return { file: o.file, sha256: o.sha256.toLowerCase(), inputs, output: typeof o.output === 'string' ? o.output : output, externalData };
}

function checkGraphSet(dir: string, g: Record<string, unknown>, where: string, like?: GraphSet): GraphSet {
  const fwdDefaults = like?.forward.inputs ?? { x: 'x', t: 't' };
  const vjpDefaults = like?.vjp?.inputs ?? { x: 'x', t: 't', v: 'v' };
  const forward = checkGraph(dir, g.forward, `${where}.forward`, fwdDefaults, like?.forward.output ?? 'eps');
  const vjp = g.vjp === undefined || g.vjp === null ? undefined : checkGraph(dir, g.vjp, `${where}.vjp`, vjpDefaults, like?.vjp?.output ?? 'vjp');
  return { forward, vjp };
}

/** Every file of the model folder the manifest names, once, with its sha256 (manifest.json excluded). */
export function modelFiles(manifest: Manifest): DataFileSpec[] {
  const sets = [manifest.graphs, manifest.variants?.fp16].filter((s): s is GraphSet => s !== undefined);
  const out: DataFileSpec[] = [];
  for (const set of sets)
    for (const g of [set.forward, set.vjp]) {
      if (!g) continue;
      for (const f of [{ file: g.file, sha256: g.sha256 }, ...g.externalData]) if (!out.some((o) => o.file === f.file)) out.push(f);
    }
  return out;
}

/** The graphs of one precision: the manifest's graphs for fp32, its variant for fp16 (if any). */
export function graphSet(model: ModelFolder, precision: Precision): { specs: GraphSet; paths: GraphPaths } | undefined {
  if (precision === 'fp32') return { specs: model.manifest.graphs, paths: model };
  const specs = model.manifest.variants?.fp16;
  return specs && model.fp16 ? { specs, paths: model.fp16 } : undefined;
}

/** Parses manifest.json; checks types and that the files exist (checksums: verifyChecksums). */
export function readManifest(dir: string): ModelFolder {
  const path = join(dir, 'manifest.json');
  if (!existsSync(path)) fail(dir, 'no manifest.json');
  let m: Record<string, unknown>;
  try {
    m = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    fail(dir, `manifest.json is not valid JSON (${(e as Error).message})`);
  }
  if (m.format !== 'vmlmap-model') fail(dir, 'manifest.json: format is not "vmlmap-model"');
  if (m.formatVersion !== 1) fail(dir, `manifest.json: formatVersion ${String(m.formatVersion)} is not supported (1 is)`);
  if (m.prediction !== 'epsilon') fail(dir, 'manifest.json: prediction must be "epsilon"');
  if (m.channels !== 1 && m.channels !== 3) fail(dir, 'manifest.json: channels must be 1 or 3');
  const vr = m.valueRange;
  if (!Array.isArray(vr) || vr.length !== 2 || !isNum(vr[0]) || !isNum(vr[1]) || !(vr[1] > vr[0])) fail(dir, 'manifest.json: valueRange must be [lo, hi] with hi > lo');
  if (!Number.isInteger(m.sizeMultiple) || (m.sizeMultiple as number) < 1) fail(dir, 'manifest.json: sizeMultiple must be a positive integer');
  const fs = m.fixedSize ?? null;
  if (fs !== null && (!Array.isArray(fs) || fs.length !== 2 || !fs.every((v) => Number.isInteger(v) && v > 0))) fail(dir, 'manifest.json: fixedSize must be null or [H, W]');
  const s = m.schedule as Record<string, unknown> | undefined;
  if (!s || s.type !== 'vp-linear' || !isNum(s.betaStart) || !isNum(s.betaEnd) || !Number.isInteger(s.timesteps) || (s.timesteps as number) < 2 || s.betaStart <= 0 || s.betaEnd >= 1)
    fail(dir, 'manifest.json: schedule must be {type: "vp-linear", betaStart, betaEnd, timesteps}');
  const graphs = m.graphs as Record<string, unknown> | undefined;
  if (typeof graphs !== 'object' || graphs === null) fail(dir, 'manifest.json: graphs is missing');
  const fp32 = checkGraphSet(dir, graphs, 'graphs');
  let fp16: GraphSet | undefined;
  const variants = m.variants as Record<string, unknown> | undefined | null;
  if (variants !== undefined && variants !== null) {
    if (typeof variants !== 'object') fail(dir, 'manifest.json: variants must be an object');
    if (variants.fp16 !== undefined && variants.fp16 !== null) {
      if (typeof variants.fp16 !== 'object') fail(dir, 'manifest.json: variants.fp16 must be {forward, vjp}');
      fp16 = checkGraphSet(dir, variants.fp16 as Record<string, unknown>, 'variants.fp16', fp32);
      // A variant replaces the graphs one for one: it may not drop (or add) the exact VJP.
      if (!fp16.vjp !== !fp32.vjp) fail(dir, `manifest.json: variants.fp16 ${fp32.vjp ? 'lacks' : 'adds'} a vjp graph the float32 graphs ${fp32.vjp ? 'have' : 'lack'}`);
    }
  }
  const manifest: Manifest = {
    format: 'vmlmap-model',
    formatVersion: 1,
    name: typeof m.name === 'string' ? m.name : dir,
    description: typeof m.description === 'string' ? m.description : '',
    prediction: 'epsilon',
    channels: m.channels as 1 | 3,
    valueRange: [vr[0], vr[1]],
    sizeMultiple: m.sizeMultiple as number,
    fixedSize: fs as [number, number] | null,
    schedule: s as unknown as ScheduleSpec,
    graphs: fp32,
    variants: fp16 ? { fp16 } : undefined,
    parameters: isNum(m.parameters) ? m.parameters : undefined,
    provenance: typeof m.provenance === 'object' && m.provenance !== null ? (m.provenance as Record<string, unknown>) : undefined,
  };
  // One file, one checksum: two graphs that share a weights file must agree on its sha256.
  const seen = new Map<string, string>();
  for (const set of [fp32, fp16])
    for (const g of [set?.forward, set?.vjp])
      for (const f of g ? [{ file: g.file, sha256: g.sha256 }, ...g.externalData] : []) {
        const before = seen.get(f.file);
        if (before !== undefined && before !== f.sha256) fail(dir, `manifest.json gives ${f.file} two different sha256`);
        seen.set(f.file, f.sha256);
        if (!existsSync(join(dir, f.file))) fail(dir, `${f.file} is missing`);
      }
  const paths = (set: GraphSet): GraphPaths => ({ forwardPath: join(dir, set.forward.file), vjpPath: set.vjp ? join(dir, set.vjp.file) : undefined });
  return { dir, manifest, ...paths(fp32), fp16: fp16 ? paths(fp16) : undefined };
}

export function sha256File(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const h = createHash('sha256');
    createReadStream(path)
      .on('data', (d) => h.update(d))
      .on('error', reject)
      .on('end', () => resolve(h.digest('hex')));
  });
}

/**
 * Checks every file the manifest names (graphs of every precision and their external data) against
 * its sha256; each file is read once.
 */
export async function verifyChecksums(model: ModelFolder): Promise<void> {
  for (const f of modelFiles(model.manifest)) {
    const got = await sha256File(join(model.dir, f.file));
    if (got !== f.sha256) fail(model.dir, `${f.file} has sha256 ${got.slice(0, 12)}..., the manifest says ${f.sha256.slice(0, 12)}... (a damaged or replaced file: export the model again or restore the folder)`);
  }
}
