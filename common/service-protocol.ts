/**
 * Messages between the main process and the inference service process, as plain data. The same
 * messages travel over Electron's utility-process port (structured clone) and over a Node
 * child_process channel with `serialization: 'advanced'` (tests, the loopback host), so typed
 * arrays cross as binary on both. Each side validates what it receives.
 */
import { GRAPH_PRECISIONS, PROVIDER_CHOICES } from '../engine/model/choices.js';
import { MAX_PIXELS, sensitivitySchema, solverSpecSchema, solveStatsSchema, taskSpecSchema } from './api.js';
import * as s from './schema.js';

const id = s.string({ min: 1, max: 64 });
const path = s.string({ min: 1, max: 4096 });
const rgba = s.object({
  width: s.int(1, 100_000),
  height: s.int(1, 100_000),
  data: s.typed(Uint8ClampedArray, { max: 4 * 400e6 }),
});

export const modelRefSchema = s.object({ dir: path, provider: s.oneOf(PROVIDER_CHOICES) });

const inputName = s.string({ min: 1, max: 256 });
/** A device or inode number in decimal (common/file-identity.ts); stat's bigints do not fit a double. */
const statNumber = s.string({ min: 1, max: 20, pattern: /^\d+$/ });
const dim = s.int(1, 100_000);
/**
 * A painted mask, one level per pixel (0 = keep, 255 = restore, soft in between: a feathered edge),
 * at most the pixel limit every opened image passed.
 */
const maskBytes = s.typed(Uint8Array, { max: MAX_PIXELS });

/**
 * One run of the engine's memory probe (engine/model/memory.ts, MemoryProbeRequest). The service
 * asks main for it, since under Electron only main can start the fresh process it needs. Only the
 * CPU is ever probed (device memory is not measured), so nothing else is accepted.
 */
export const memoryProbeRequestSchema = s.object({
  graph: path,
  provider: s.oneOf(['cpu'] as const),
  options: s.object({
    graphOptimizationLevel: s.oneOf(['disabled', 'basic', 'extended', 'all'] as const),
    intraOpNumThreads: s.int(1, 1024),
    interOpNumThreads: s.int(1, 1024),
    enableMemPattern: s.boolean(),
  }),
  inputs: s.object({ x: inputName, t: inputName, v: s.optional(inputName) }),
  channels: s.int(1, 4),
  sizes: s.array(s.int(8, 2048), { min: 1, max: 4 }),
});
export type MemoryProbeRequestMessage = s.Infer<typeof memoryProbeRequestSchema>;

/** Peak resident sets in bytes, as the probe measured them. */
const peaks = s.array(s.number({ min: 0, max: 2 ** 53 }), { min: 2, max: 5 });

export const toServiceSchema = s.tagged('type', {
  run: s.object({
    type: s.literal('run'),
    jobId: id,
    imagePath: path,
    /** h*w levels, 255 = restore, soft in between (the service converts them to observed weights). */
    mask: s.optional(s.typed(Uint8Array, { max: 400e6 })),
    spec: taskSpecSchema,
    solver: solverSpecSchema,
    model: modelRefSchema,
    maxPixels: s.number({ min: 1 }),
    previewEvery: s.int(0, 10_000),
    /** Longest side of live previews; the final result is sent whole up to displayMaxPixels. */
    previewMaxSide: s.int(16, 8192),
    displayMaxPixels: s.int(1, 400e6),
  }),
  /**
   * A batch's photo: the service reads `input`, restores it and writes `output` with the photo's
   * metadata (as the CLI's restore writes it), or skips it when `output` is already there as a
   * readable image (a batch run again after an interruption). A job: queued by main like 'run',
   * cancelled by 'cancel' between steps; answered by 'started', 'progress' (no previews), then
   * 'file-done', 'failed' or 'cancelled'. No mask: an old photo's damage is detected.
   */
  'restore-file': s.object({
    type: s.literal('restore-file'),
    jobId: id,
    input: path,
    output: path,
    spec: taskSpecSchema,
    solver: solverSpecSchema,
    model: modelRefSchema,
    maxPixels: s.number({ min: 1 }),
    /** Damage detection's sensitivity, for an old photo. */
    sensitivity: sensitivitySchema,
    /** False: the photo's GPS position is not written. */
    keepGps: s.boolean(),
    /** Paths the output must never replace (the photo itself, at least). */
    protect: s.array(path, { min: 1, max: 8 }),
  }),
  cancel: s.object({ type: s.literal('cancel'), jobId: id }),
  probe: s.object({ type: s.literal('probe'), requestId: id, dir: path }),
  /** Loads a model folder as a job would (checksums, graph names, one probe run) and releases it. */
  validate: s.object({ type: s.literal('validate'), requestId: id, dir: path }),
  export: s.object({
    type: s.literal('export'),
    requestId: id,
    jobId: id,
    path,
    quality: s.int(1, 100),
    bitDepth: s.oneOf([8, 16] as const),
    /** Paths writeImage must refuse to overwrite (the original, unless the user confirmed). */
    protect: s.array(path, { max: 8 }),
    /** The result's file (a run of the history), read when the result is no longer kept in memory. */
    from: s.optional(path),
  }),
  /**
   * A PNG copy, for the page to show, of a registered photo Chromium cannot show (TIFF): the
   * service opens `path`, checks on the open handle that it is still the file `identity` names,
   * and decodes those bytes. Answered by 'display-copy'.
   */
  display: s.object({
    type: s.literal('display'),
    requestId: id,
    path,
    identity: s.object({ dev: statNumber, ino: statNumber }),
    /** The name the person knows the photo by, for messages. */
    name: s.string({ min: 1, max: 1024 }),
    maxPixels: s.int(1, 400e6),
  }),
  /** The mask file the person chose, decoded to width x height (white = restore). Answered by 'mask'. */
  'read-mask': s.object({ type: s.literal('read-mask'), requestId: id, path, width: dim, height: dim }),
  /** Writes a painted mask (levels, 255 = restore) as a grey PNG; answered by 'reply' with the path. */
  'write-mask': s.object({
    type: s.literal('write-mask'),
    requestId: id,
    path,
    width: dim,
    height: dim,
    mask: maskBytes,
    protect: s.array(path, { max: 8 }),
  }),
  /**
   * Damage found on the photo at `path` (engine/estimate/damage.ts), as the page paints masks
   * (255 = restore). Answered by 'mask'.
   */
  'detect-damage': s.object({
    type: s.literal('detect-damage'),
    requestId: id,
    path,
    maxPixels: s.int(1, 400e6),
    sensitivity: sensitivitySchema,
  }),
  /**
   * The photo's noise level, blur and whether it is greyscale (engine/estimate/), the painted mask
   * (levels, 255 = restore) taking the place of detected damage. Answered by 'reply' (a PhotoEstimate).
   */
  estimate: s.object({
    type: s.literal('estimate'),
    requestId: id,
    path,
    maxPixels: s.int(1, 400e6),
    sensitivity: sensitivitySchema,
    mask: s.optional(maskBytes),
  }),
  /**
   * A result written before (the autosaved session's PNG, or the file it was exported to) kept again
   * under `jobId`, as if that job had just finished, so it can be exported or used as input.
   * Answered by 'reply' with its full size and a display copy ({ width, height, image }).
   */
  'load-result': s.object({
    type: s.literal('load-result'),
    requestId: id,
    jobId: id,
    path,
    maxPixels: s.int(1, 400e6),
    displayMaxPixels: s.int(1, 400e6),
  }),
  /** Sent by main first, each time the service starts. */
  configure: s.object({
    type: s.literal('configure'),
    /** The folder for the memory-cost cache (the user's app data); absent: the engine's default. */
    cacheDir: s.optional(path),
    /** 'main': ask main to run memory probes (Electron: the RunAsNode fuse is off); 'node': run Node. */
    memoryProbe: s.oneOf(['main', 'node'] as const),
  }),
  'memory-probe-result': s.object({
    type: s.literal('memory-probe-result'),
    requestId: id,
    ok: s.boolean(),
    peaks: s.optional(peaks),
    error: s.optional(s.string({ max: 8192 })),
  }),
});
export type ToService = s.Infer<typeof toServiceSchema>;
export type RunMessage = Extract<ToService, { type: 'run' }>;
export type RestoreFileMessage = Extract<ToService, { type: 'restore-file' }>;
export type ConfigureMessage = Extract<ToService, { type: 'configure' }>;
export type DisplayMessage = Extract<ToService, { type: 'display' }>;
export type ReadMaskMessage = Extract<ToService, { type: 'read-mask' }>;
export type DetectDamageMessage = Extract<ToService, { type: 'detect-damage' }>;
export type EstimateMessage = Extract<ToService, { type: 'estimate' }>;

const fallbacks = s.array(s.object({ provider: s.string({ max: 32 }), reason: s.string({ max: 4096 }) }), { max: 8 });
const message = s.string({ max: 8192 });

export const fromServiceSchema = s.tagged('type', {
  ready: s.object({ type: s.literal('ready'), pid: s.int(0, 2 ** 31) }),
  started: s.object({
    type: s.literal('started'),
    jobId: id,
    provider: s.string({ max: 32 }),
    fallbacks,
    precision: s.oneOf(GRAPH_PRECISIONS),
    precisionFallback: s.optional(message),
  }),
  progress: s.object({
    type: s.literal('progress'),
    jobId: id,
    step: s.int(0, 1e9),
    total: s.int(0, 1e9),
    elapsedMs: s.number({ min: 0 }),
    etaMs: s.number({ min: 0 }),
    preview: s.optional(rgba),
  }),
  done: s.object({
    type: s.literal('done'),
    jobId: id,
    /** Full output size; `image` may be smaller (display copy of a huge result). */
    width: s.int(1, 1e6),
    height: s.int(1, 1e6),
    image: rgba,
    stats: solveStatsSchema,
    operator: s.string({ max: 1024 }),
    provider: s.string({ max: 32 }),
    precision: s.oneOf(GRAPH_PRECISIONS),
  }),
  /** Answers 'restore-file': the output written, or skipped (already there as a readable image). */
  'file-done': s.object({
    type: s.literal('file-done'),
    jobId: id,
    status: s.oneOf(['written', 'skipped'] as const),
    /** Time spent on the photo, reading and writing included. */
    wallMs: s.number({ min: 0 }),
  }),
  failed: s.object({ type: s.literal('failed'), jobId: id, message }),
  cancelled: s.object({ type: s.literal('cancelled'), jobId: id }),
  reply: s.object({
    type: s.literal('reply'),
    requestId: id,
    ok: s.boolean(),
    error: s.optional(message),
    /** probe: DeviceReport[]; export: the path written. Checked by the caller that knows which. */
    value: s.optional({ parse: (v: unknown) => v }),
  }),
  'memory-probe': s.object({ type: s.literal('memory-probe'), requestId: id, request: memoryProbeRequestSchema }),
  /** Answers 'display': the PNG, or why not (`changed`: the path now leads to another file). */
  'display-copy': s.object({
    type: s.literal('display-copy'),
    requestId: id,
    png: s.optional(s.typed(Uint8Array, { max: 2 ** 31 - 1 })),
    changed: s.optional(s.boolean()),
    error: s.optional(message),
  }),
  /** Answers 'read-mask' and 'detect-damage': one level per pixel, 255 = restore, or why not. */
  mask: s.object({ type: s.literal('mask'), requestId: id, mask: s.optional(maskBytes), error: s.optional(message) }),
});
export type FromService = s.Infer<typeof fromServiceSchema>;
export type DisplayCopyMessage = Extract<FromService, { type: 'display-copy' }>;
export type MaskMessage = Extract<FromService, { type: 'mask' }>;
export type FileDoneMessage = Extract<FromService, { type: 'file-done' }>;

/** Between main and a memory-probe process (service/memory-probe.ts): one request, one answer. */
export const toProbeSchema = s.object({ type: s.literal('measure'), request: memoryProbeRequestSchema });
export type ToProbe = s.Infer<typeof toProbeSchema>;
export const fromProbeSchema = s.tagged('type', {
  ready: s.object({ type: s.literal('ready') }),
  peaks: s.object({ type: s.literal('peaks'), peaks }),
  failed: s.object({ type: s.literal('failed'), message }),
});
export type FromProbe = s.Infer<typeof fromProbeSchema>;
