/**
 * Reads and checks a model folder's manifest.json (docs/MODEL_CONTRACT.md). Everything that can
 * be wrong with a model is reported here, as one UserError line, before a session is created.
 */
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../types.js';
import type { ScheduleSpec } from './schedule.js';

export interface GraphSpec {
  file: string;
  sha256: string;
  inputs: Record<string, string>;
  output: string;
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
  graphs: { forward: GraphSpec; vjp?: GraphSpec };
  parameters?: number;
  provenance?: Record<string, unknown>;
}

export interface ModelFolder {
  dir: string;
  manifest: Manifest;
  forwardPath: string;
  vjpPath?: string;
}

function fail(dir: string, why: string): never {
  throw new UserError(`model ${dir}: ${why}`);
}

const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

function checkGraph(dir: string, g: unknown, which: string, defaults: GraphSpec['inputs'], output: string): GraphSpec {
  if (typeof g !== 'object' || g === null) fail(dir, `graphs.${which} is missing`);
  const o = g as Record<string, unknown>;
  if (typeof o.file !== 'string' || !o.file) fail(dir, `graphs.${which}.file is missing`);
  if (typeof o.sha256 !== 'string' || !/^[0-9a-f]{64}$/i.test(o.sha256)) fail(dir, `graphs.${which}.sha256 is missing or not 64 hex digits`);
  if (o.file.includes('..') || o.file.startsWith('/')) fail(dir, `graphs.${which}.file must be a file inside the model folder`);
  const inputs = { ...defaults, ...((o.inputs as Record<string, string>) ?? {}) };
  return { file: o.file, sha256: o.sha256.toLowerCase(), inputs, output: typeof o.output === 'string' ? o.output : output };
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
  if (!graphs) fail(dir, 'manifest.json: graphs is missing');
  const forward = checkGraph(dir, graphs.forward, 'forward', { x: 'x', t: 't' }, 'eps');
  const vjp = graphs.vjp === undefined || graphs.vjp === null ? undefined : checkGraph(dir, graphs.vjp, 'vjp', { x: 'x', t: 't', v: 'v' }, 'vjp');
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
    graphs: { forward, vjp },
    parameters: isNum(m.parameters) ? m.parameters : undefined,
    provenance: typeof m.provenance === 'object' && m.provenance !== null ? (m.provenance as Record<string, unknown>) : undefined,
  };
  const forwardPath = join(dir, forward.file);
  if (!existsSync(forwardPath)) fail(dir, `${forward.file} is missing`);
  const vjpPath = vjp ? join(dir, vjp.file) : undefined;
  if (vjpPath && !existsSync(vjpPath)) fail(dir, `${vjp!.file} is missing`);
  return { dir, manifest, forwardPath, vjpPath };
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

export async function verifyChecksums(model: ModelFolder): Promise<void> {
  const { graphs } = model.manifest;
  const pairs: [GraphSpec, string][] = [[graphs.forward, model.forwardPath]];
  if (graphs.vjp && model.vjpPath) pairs.push([graphs.vjp, model.vjpPath]);
  for (const [g, path] of pairs) {
    const got = await sha256File(path);
    if (got !== g.sha256) fail(model.dir, `${g.file} has sha256 ${got.slice(0, 12)}..., the manifest says ${g.sha256.slice(0, 12)}...`);
  }
}
