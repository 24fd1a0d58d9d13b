/**
 * Reads and checks a model folder's manifest.json (docs/MODEL_CONTRACT.md). Everything that can
 * be wrong with a model is reported here, as one UserError line, before a session is created.
 */
import { createHash } from 'node:crypto';
import { accessSync, closeSync, constants as fsConstants, fstatSync, lstatSync, openSync, readSync, type Stats, statSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { UserError } from '../types.js';
import type { GraphPrecision } from './choices.js';
import { type ScheduleSpec, VpSchedule } from './schedule.js';

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
export type Precision = GraphPrecision;

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

/**
 * Bounds of version 1 (docs/MODEL_CONTRACT.md, "Bounds"). Wide enough for any real model, narrow
 * enough that the engine's arithmetic and memory stay finite: a schedule of 1e9 timesteps took
 * 7.8 GB, and a value range of 1e300 made every noise level overflow.
 */
export const LIMITS = {
  manifestBytes: 1 << 20,
  valueMagnitude: 1000,
  valueWidth: 0.01,
  sizeMultiple: 128,
  fixedSide: 2048,
  betaMin: 1e-8,
  timesteps: 100_000,
  /** Largest model-space noise level sqrt((1 - abar) / abar) at the last timestep. */
  sigmaMax: 1e8,
  nameChars: 200,
  descriptionChars: 2000,
  ioNameChars: 128,
  externalData: 64,
};

const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const isSha = (v: unknown): v is string => typeof v === 'string' && /^[0-9a-f]{64}$/i.test(v);
const inside = (f: string): boolean => !f.split(/[\\/]/).includes('..') && !f.startsWith('/') && !f.startsWith('\\') && !/^[a-z]:/i.test(f);
/** A value for an error line: JSON, cut short (a hostile manifest may hold megabytes in one field). */
const shown = (v: unknown): string => {
  const j = JSON.stringify(v) ?? String(v);
  return j.length > 40 ? `${j.slice(0, 37)}...` : j;
};
/** ONNX tensor names as exporters write them ("x", "input.1", "onnx::Conv_3", "/enc/x"). */
const isIoName = (v: unknown): v is string => typeof v === 'string' && v.length >= 1 && v.length <= LIMITS.ioNameChars && /^[A-Za-z0-9_.:/-]+$/.test(v);
/** One line of printable text: a name or description shown in the app and in error lines. */
// eslint-disable-next-line no-control-regex -- control characters are exactly what is refused
const isText = (v: unknown, max: number): v is string => typeof v === 'string' && v.length <= max && !/[\u0000-\u001f\u007f]/.test(v);

const kindOf = (st: Stats): string =>
  st.isDirectory() ? 'a folder' : st.isFIFO() ? 'a named pipe (FIFO)' : st.isCharacterDevice() || st.isBlockDevice() ? 'a device' : st.isSocket() ? 'a socket' : 'not a regular file';

/**
 * Refuses anything but a readable regular file, without opening it: a FIFO would block the read
 * forever, a device (/dev/zero) never ends, a directory or a symlink loop fails deep in the hashing.
 */
export function checkRegularFile(dir: string, file: string, field?: string): number {
  const path = join(dir, file);
  const named = field ? ` (manifest.json's ${field})` : '';
  let st: Stats;
  try {
    st = statSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') fail(dir, lstatOrUndefined(path)?.isSymbolicLink() ? `${file}${named} is a symlink to a missing file` : `${file}${named} is missing`);
    if (code === 'ELOOP') fail(dir, `${file}${named} is a symlink loop`);
    fail(dir, `${file}${named} cannot be read (${code ?? (e as Error).message})`);
  }
  if (!st.isFile()) {
    fail(dir, `${file}${named} is ${kindOf(st)}, not a regular file`);
  }
  try {
    accessSync(path, fsConstants.R_OK);
  } catch (e) {
    fail(dir, `${file}${named} is not readable (${(e as NodeJS.ErrnoException).code ?? 'no permission'})`);
  }
  return st.size;
}

function checkNames(dir: string, where: string, given: unknown, defaults: Record<string, string>): Record<string, string> {
  if (given === undefined || given === null) return { ...defaults };
  if (typeof given !== 'object' || Array.isArray(given)) fail(dir, `manifest.json: ${where} must be an object {${Object.keys(defaults).join(', ')}} of input names`);
  const out = { ...defaults };
  for (const [k, v] of Object.entries(given)) {
    if (!(k in defaults)) fail(dir, `manifest.json: ${where}.${k.slice(0, 40)} is not an input of this graph (its inputs are ${Object.keys(defaults).join(', ')})`);
    if (!isIoName(v)) fail(dir, `manifest.json: ${where}.${k} must be a tensor name of 1 to ${LIMITS.ioNameChars} letters, digits or _ . : / -, got ${shown(v)}`);
    out[k] = v;
  }
  const names = Object.values(out);
  if (new Set(names).size !== names.length) fail(dir, `manifest.json: ${where} names one tensor twice (${names.join(', ')})`);
  return out;
}

function checkGraph(dir: string, g: unknown, which: string, defaults: GraphSpec['inputs'], output: string): GraphSpec {
  if (g === undefined || g === null) fail(dir, `manifest.json: ${which} is missing`);
  if (typeof g !== 'object' || Array.isArray(g)) fail(dir, `manifest.json: ${which} must be an object {file, sha256, inputs, output}, got ${shown(g)}`);
  const o = g as Record<string, unknown>;
  if (o.file === undefined || o.file === '') fail(dir, `manifest.json: ${which}.file is missing`);
  if (typeof o.file !== 'string' || o.file.length > 255) fail(dir, `manifest.json: ${which}.file must be a file name, got ${shown(o.file)}`);
  if (!isSha(o.sha256)) fail(dir, `manifest.json: ${which}.sha256 is missing or not 64 hex digits`);
  if (!inside(o.file)) fail(dir, `manifest.json: ${which}.file must be a file inside the model folder`);
  const inputs = checkNames(dir, `${which}.inputs`, o.inputs, defaults);
  if (o.output !== undefined && o.output !== null && !isIoName(o.output))
    fail(dir, `manifest.json: ${which}.output must be a tensor name of 1 to ${LIMITS.ioNameChars} letters, digits or _ . : / -, got ${shown(o.output)}`);
  const externalData: DataFileSpec[] = [];
  if (o.externalData !== undefined && o.externalData !== null) {
    if (!Array.isArray(o.externalData)) fail(dir, `manifest.json: ${which}.externalData must be a list of {file, sha256}`);
    if (o.externalData.length > LIMITS.externalData) fail(dir, `manifest.json: ${which}.externalData lists ${o.externalData.length} files, more than ${LIMITS.externalData}`);
    o.externalData.forEach((d: unknown, k: number) => {
      const e = d as Record<string, unknown> | null;
      if (typeof e !== 'object' || e === null || typeof e.file !== 'string' || !e.file) fail(dir, `manifest.json: ${which}.externalData[${k}].file is missing`);
      if (!isSha(e.sha256)) fail(dir, `manifest.json: ${which}.externalData[${k}].sha256 is missing or not 64 hex digits`);
      if (!inside(e.file)) fail(dir, `manifest.json: ${which}.externalData[${k}].file must be a file inside the model folder`);
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

/** The schedule's fields, and that its noise levels stay finite (the last abar does not underflow). */
function checkSchedule(dir: string, s: unknown): ScheduleSpec {
  const bad = (why: string): never => fail(dir, `manifest.json: schedule${why}`);
  if (typeof s !== 'object' || s === null || Array.isArray(s)) bad(' must be {type: "vp-linear", betaStart, betaEnd, timesteps}');
  const o = s as Record<string, unknown>;
  if (o.type !== 'vp-linear') bad(`.type must be "vp-linear", got ${shown(o.type)}`);
  for (const k of ['betaStart', 'betaEnd'] as const) if (!isNum(o[k]) || o[k] < LIMITS.betaMin || o[k] >= 1) bad(`.${k} must be a number in [${LIMITS.betaMin}, 1), got ${shown(o[k])}`);
  const [b0, b1] = [o.betaStart as number, o.betaEnd as number];
  if (b0 > b1) bad(`.betaStart (${b0}) must not exceed betaEnd (${b1})`);
  if (!Number.isInteger(o.timesteps) || (o.timesteps as number) < 2 || (o.timesteps as number) > LIMITS.timesteps)
    bad(`.timesteps must be an integer from 2 to ${LIMITS.timesteps}, got ${shown(o.timesteps)}`);
  const spec: ScheduleSpec = { type: 'vp-linear', betaStart: b0, betaEnd: b1, timesteps: o.timesteps as number };
  const sigmaMax = new VpSchedule(spec).sigmaMax;
  if (!(sigmaMax <= LIMITS.sigmaMax))
    bad(`: betaEnd ${b1} over ${spec.timesteps} timesteps drives abar to ${Math.exp(-2 * Math.log(sigmaMax)).toExponential(1)}, a noise level above ${LIMITS.sigmaMax.toExponential(0)}`);
  return spec;
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

/**
 * Parses manifest.json; checks every field against its bounds and that every file it names is a
 * readable regular file (checksums: verifyChecksums; the graphs themselves: OnnxDenoiser.load).
 * Synchronous and free of onnxruntime: the app's main process validates a chosen folder with it.
 */
export function readManifest(dir: string): ModelFolder {
  let dirStat: Stats;
  try {
    dirStat = statSync(dir);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    fail(dir, code === 'ENOENT' ? 'no such folder' : `cannot be read (${code ?? (e as Error).message})`);
  }
  if (!dirStat.isDirectory()) fail(dir, 'is not a folder (a model is a folder holding manifest.json)');
  if (!lstatOrUndefined(join(dir, 'manifest.json'))) fail(dir, 'no manifest.json');
  checkRegularFile(dir, 'manifest.json');
  const text = readManifestText(dir);
  let m: Record<string, unknown>;
  try {
    m = JSON.parse(text);
  } catch (e) {
    fail(dir, `manifest.json is not valid JSON (${(e as Error).message.split('\n')[0]})`);
  }
  if (typeof m !== 'object' || m === null || Array.isArray(m)) fail(dir, 'manifest.json is not a JSON object');
  if (m.format !== 'vmlmap-model') fail(dir, 'manifest.json: format is not "vmlmap-model"');
  if (m.formatVersion !== 1) fail(dir, `manifest.json: formatVersion ${shown(m.formatVersion)} is not supported (1 is)`);
  if (m.prediction !== 'epsilon') fail(dir, 'manifest.json: prediction must be "epsilon"');
  if (m.name !== undefined && !isText(m.name, LIMITS.nameChars)) fail(dir, `manifest.json: name must be one line of at most ${LIMITS.nameChars} characters`);
  if (m.description !== undefined && !isText(m.description, LIMITS.descriptionChars)) fail(dir, `manifest.json: description must be one line of at most ${LIMITS.descriptionChars} characters`);
  if (m.channels !== 1 && m.channels !== 3) fail(dir, `manifest.json: channels must be 1 or 3, got ${shown(m.channels)}`);
  const vr = m.valueRange;
  if (!Array.isArray(vr) || vr.length !== 2 || !isNum(vr[0]) || !isNum(vr[1])) fail(dir, `manifest.json: valueRange must be [lo, hi] (two finite numbers), got ${shown(vr)}`);
  const L = LIMITS.valueMagnitude;
  if (Math.abs(vr[0]) > L || Math.abs(vr[1]) > L || !(vr[1] - vr[0] >= LIMITS.valueWidth))
    fail(dir, `manifest.json: valueRange must be [lo, hi] within [-${L}, ${L}] with hi - lo >= ${LIMITS.valueWidth}, got ${shown(vr)}`);
  const k = m.sizeMultiple;
  if (!Number.isInteger(k) || (k as number) < 1 || (k as number) > LIMITS.sizeMultiple) fail(dir, `manifest.json: sizeMultiple must be an integer from 1 to ${LIMITS.sizeMultiple}, got ${shown(k)}`);
  const sizeMultiple = k as number;
  const fs = m.fixedSize ?? null;
  if (fs !== null && (!Array.isArray(fs) || fs.length !== 2 || !fs.every((v) => Number.isInteger(v) && v >= 1 && v <= LIMITS.fixedSide)))
    fail(dir, `manifest.json: fixedSize must be null or [H, W], integers from 1 to ${LIMITS.fixedSide}, got ${shown(fs)}`);
  // The engine pads to the size multiple; a fixed size off the multiple would reach the graph padded.
  if (fs !== null && fs.some((v: number) => v % sizeMultiple !== 0)) fail(dir, `manifest.json: fixedSize ${shown(fs)} must be multiples of sizeMultiple (${sizeMultiple})`);
  const schedule = checkSchedule(dir, m.schedule);
  if (m.parameters !== undefined && m.parameters !== null && !(Number.isInteger(m.parameters) && (m.parameters as number) >= 0))
    fail(dir, `manifest.json: parameters must be a non-negative integer, got ${shown(m.parameters)}`);
  const graphs = m.graphs as Record<string, unknown> | undefined;
  if (graphs === undefined || graphs === null) fail(dir, 'manifest.json: graphs is missing');
  if (typeof graphs !== 'object' || Array.isArray(graphs)) fail(dir, `manifest.json: graphs must be an object {forward, vjp}, got ${shown(graphs)}`);
  const fp32 = checkGraphSet(dir, graphs, 'graphs');
  let fp16: GraphSet | undefined;
  const variants = m.variants as Record<string, unknown> | undefined | null;
  if (variants !== undefined && variants !== null) {
    if (typeof variants !== 'object' || Array.isArray(variants)) fail(dir, 'manifest.json: variants must be an object');
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
    sizeMultiple,
    fixedSize: fs as [number, number] | null,
    schedule,
    graphs: fp32,
    variants: fp16 ? { fp16 } : undefined,
    parameters: isNum(m.parameters) ? m.parameters : undefined,
    provenance: typeof m.provenance === 'object' && m.provenance !== null ? (m.provenance as Record<string, unknown>) : undefined,
  };
  // One file, one checksum: two graphs that share a weights file must agree on its sha256.
  const seen = new Map<string, string>();
  for (const [where, set] of [
    ['graphs', fp32],
    ['variants.fp16', fp16],
  ] as const)
    for (const [name, g] of [
      ['forward', set?.forward],
      ['vjp', set?.vjp],
    ] as const)
      for (const { field, f } of g ? [{ field: `${where}.${name}.file`, f: g as DataFileSpec }, ...g.externalData.map((d, k) => ({ field: `${where}.${name}.externalData[${k}].file`, f: d }))] : []) {
        const before = seen.get(f.file);
        if (before !== undefined && before !== f.sha256) fail(dir, `manifest.json gives ${f.file} two different sha256`);
        if (before === undefined) checkRegularFile(dir, f.file, field);
        seen.set(f.file, f.sha256);
      }
  const paths = (set: GraphSet): GraphPaths => ({ forwardPath: join(dir, set.forward.file), vjpPath: set.vjp ? join(dir, set.vjp.file) : undefined });
  return { dir, manifest, ...paths(fp32), fp16: fp16 ? paths(fp16) : undefined };
}

/**
 * manifest.json's text, read from a handle opened without blocking and checked again on that
 * handle (a FIFO or device swapped in after checkRegularFile is refused, not waited on), and
 * never more than LIMITS.manifestBytes.
 */
function readManifestText(dir: string): string {
  const path = join(dir, 'manifest.json');
  let fd: number;
  try {
    fd = openSync(path, fsConstants.O_RDONLY | (fsConstants.O_NONBLOCK ?? 0));
  } catch (e) {
    fail(dir, `manifest.json cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) fail(dir, `manifest.json is ${kindOf(st)}, not a regular file`);
    if (st.size > LIMITS.manifestBytes) fail(dir, `manifest.json is ${st.size} bytes, more than a manifest's ${LIMITS.manifestBytes}`);
    const buf = Buffer.alloc(st.size);
    let got = 0;
    while (got < st.size) {
      const n = readSync(fd, buf, got, st.size - got, got);
      if (n === 0) break;
      got += n;
    }
    return buf.subarray(0, got).toString('utf8');
  } finally {
    closeSync(fd);
  }
}

function lstatOrUndefined(path: string): Stats | undefined {
  try {
    return lstatSync(path);
  } catch {
    return undefined;
  }
}

/**
 * sha256 of a regular file. Opened without blocking and checked on the handle: a FIFO put in the
 * file's place after readManifest's check is refused, not waited on (Error 'not a regular file').
 */
export async function sha256File(path: string): Promise<string> {
  const handle = await open(path, fsConstants.O_RDONLY | (fsConstants.O_NONBLOCK ?? 0));
  try {
    if (!(await handle.stat()).isFile()) throw new Error(`${path} is not a regular file`);
    const h = createHash('sha256');
    for await (const d of handle.createReadStream({ autoClose: false })) h.update(d as Buffer);
    return h.digest('hex');
  } finally {
    await handle.close();
  }
}

/**
 * Checks every file the manifest names (graphs of every precision and their external data) against
 * its sha256; each file is read once.
 */
export async function verifyChecksums(model: ModelFolder): Promise<void> {
  for (const f of modelFiles(model.manifest)) {
    // Again here: the folder may have changed since readManifest, and a FIFO would hang the hash.
    checkRegularFile(model.dir, f.file);
    const got = await sha256File(join(model.dir, f.file)).catch((e: unknown) => fail(model.dir, `${f.file} cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`));
    if (got !== f.sha256)
      fail(model.dir, `${f.file} has sha256 ${got.slice(0, 12)}..., the manifest says ${f.sha256.slice(0, 12)}... (a damaged or replaced file: export the model again or restore the folder)`);
  }
}
