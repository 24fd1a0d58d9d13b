/**
 * The one typed API between the renderer and the main process. The preload (Electron) and the
 * loopback transport (end-to-end tests) both implement RendererApi on top of these channels; the
 * main process validates every request against the schemas here before acting on it.
 */
import { type ExecutionProvider, GRAPH_PRECISIONS, type GraphPrecision, type ProviderChoice, PROVIDER_CHOICES } from '../engine/model/choices.js';
import { DEFAULT_SOLVER, PRESETS, SOLVERS, SR_KERNELS, SR_SCALES, TASKS, type SolverSpec, type TaskSpec } from '../engine/tasks.js';
import type { SolveStats } from '../engine/types.js';
import * as s from './schema.js';

// The engine's own lists and types: engine/model/choices.ts imports nothing, so the renderer's
// bundle can load it (engine/model/providers.ts loads onnxruntime).
export type { ExecutionProvider, GraphPrecision, ProviderChoice } from '../engine/model/choices.js';

export const THEMES = ['system', 'light', 'dark'] as const;
export type Theme = (typeof THEMES)[number];

export const COMPARE_MODES = ['swipe', 'side', 'hold'] as const;
export type CompareMode = (typeof COMPARE_MODES)[number];

export const EXPORT_FORMATS = ['png', 'jpeg', 'webp'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

/** Same limit as the engine's reader: a larger photo is refused before it is decoded. */
export const MAX_PIXELS = 100e6;
/** Pasted or dropped bytes without a path (a browser drag, a screenshot). */
export const MAX_IMAGE_BYTES = 256 * 1024 * 1024;
export const MAX_RECENT = 10;

const kernelSchema = s.tagged('type', {
  gaussian: s.object({ type: s.literal('gaussian'), std: s.number({ min: 0.1, max: 25 }) }),
  motion: s.object({ type: s.literal('motion'), length: s.number({ min: 1, max: 101 }), angle: s.number({ min: -360, max: 360 }) }),
  matrix: s.object({
    type: s.literal('matrix'),
    rows: s.array(s.array(s.number({ min: -1e6, max: 1e6 }), { min: 1, max: 63 }), { min: 1, max: 63 }),
  }),
});

export const taskSpecSchema: s.Schema<TaskSpec> = s.object({
  task: s.oneOf(TASKS),
  scale: s.optional(s.oneOf(SR_SCALES)),
  srKernel: s.optional(s.oneOf(SR_KERNELS)),
  kernel: s.optional(kernelSchema),
  /** old-photo only: restore the colours of a photo that lost them. */
  colorize: s.optional(s.boolean()),
  sigmaY: s.number({ min: 0, max: 0.5 }),
});

export const solverSpecSchema: s.Schema<SolverSpec> = s.object({
  solver: s.oneOf(SOLVERS),
  preset: s.oneOf(PRESETS),
  steps: s.optional(s.int(1, 2000)),
  detail: s.optional(s.number({ min: 0, max: 1 })),
  seed: s.int(0, 0xffffffff),
});

/** The old-photo task's own fields, remembered apart from deblurring's kernel. */
export interface OldPhotoForm {
  /** Std (px) of its Gaussian blur; 0 = no blur. */
  blurStd: number;
  colorize: boolean;
}

export interface TaskForm {
  spec: TaskSpec;
  solver: SolverSpec;
  oldPhoto?: OldPhotoForm;
}

export const taskFormSchema: s.Schema<TaskForm> = s.object({
  spec: taskSpecSchema,
  solver: solverSpecSchema,
  oldPhoto: s.optional(s.object({ blurStd: s.number({ min: 0, max: 25 }), colorize: s.boolean() })),
});

export interface Settings {
  theme: Theme;
  provider: ProviderChoice;
  compareMode: CompareMode;
  overlayOpacity: number;
  brushSize: number;
  exportFormat: ExportFormat;
  exportQuality: number;
  task: TaskForm;
}

export const settingsShape = {
  theme: s.oneOf(THEMES),
  provider: s.oneOf(PROVIDER_CHOICES),
  compareMode: s.oneOf(COMPARE_MODES),
  overlayOpacity: s.number({ min: 0, max: 1 }),
  brushSize: s.int(1, 2000),
  exportFormat: s.oneOf(EXPORT_FORMATS),
  exportQuality: s.int(1, 100),
  task: taskFormSchema,
};

export const settingsSchema: s.Schema<Settings> = s.object(settingsShape);
export type SettingsPatch = Partial<Settings>;
export const settingsPatchSchema: s.Schema<SettingsPatch> = s.object({
  theme: s.optional(settingsShape.theme),
  provider: s.optional(settingsShape.provider),
  compareMode: s.optional(settingsShape.compareMode),
  overlayOpacity: s.optional(settingsShape.overlayOpacity),
  brushSize: s.optional(settingsShape.brushSize),
  exportFormat: s.optional(settingsShape.exportFormat),
  exportQuality: s.optional(settingsShape.exportQuality),
  task: s.optional(settingsShape.task),
});

export const DEFAULT_SETTINGS: Settings = {
  theme: 'system',
  provider: 'auto',
  compareMode: 'swipe',
  overlayOpacity: 0.5,
  // Thin: every painted pixel is lost information. On 6 development photos with thin scratches
  // covered by a round brush, each doubling of the width cost 3 to 4 dB over the photo
  // (4 px 33.4 dB, 8 px 29.8, 16 px 25.8, 32 px 21.4: docs/INPAINTING.md).
  brushSize: 8,
  exportFormat: 'png',
  exportQuality: 95,
  task: {
    spec: { task: 'inpaint', sigmaY: 0.01, scale: 2, srKernel: 'bicubic', kernel: { type: 'gaussian', std: 2 } },
    // The engine's default rule (vml-fp); the gradient rule's fast and balanced presets run the same
    // schedule, so with it the preset choice hardly changed anything.
    solver: { solver: DEFAULT_SOLVER, preset: 'balanced', seed: 0 },
    oldPhoto: { blurStd: 0, colorize: false },
  },
};

export interface OpenedImage {
  /** An unguessable token; the only handle the renderer has on the file. */
  id: string;
  name: string;
  /** Where the renderer loads the original from (app-image:// in Electron). */
  url: string;
  width: number;
  height: number;
  hasAlpha: boolean;
  bitDepth: 8 | 16;
}

export interface ModelInfo {
  dir: string;
  name: string;
  description: string;
  /** False for forward-only models: results are labelled approximate. */
  hasVjp: boolean;
  sizeMultiple: number;
  fixedSize: [number, number] | null;
  /** The model that ships with the app (not a folder the person chose). */
  bundled: boolean;
  /** Why the model cannot be used, when it cannot. */
  problem?: string;
}

export interface RecentFile {
  name: string;
  path: string;
}

export interface AppState {
  settings: Settings;
  recent: RecentFile[];
  model: ModelInfo | null;
  /** The service may be ready before the page has loaded, so its state is part of the snapshot. */
  service: { state: ServiceState; message?: string };
  platform: string;
  version: string;
}

export interface DeviceReport {
  provider: ExecutionProvider;
  label: string;
  ok: boolean;
  /** One forward pass on a small input, when the provider works. */
  ms?: number;
  /** The model's precision that ran (the one a restoration would use there), when it works. */
  precision?: GraphPrecision;
  /** Why that is not the precision a restoration would ask for, when it is not. */
  note?: string;
  reason?: string;
}

export interface ProbeResult {
  devices: DeviceReport[];
  /** The fastest provider that works. */
  recommended: ProviderChoice;
}

/** Damage found on the photo (Detect damage), as the page paints masks. */
export interface DamageFound {
  /** h*w levels, 255 = damaged (to restore), 0 = intact. */
  mask: Uint8Array;
  /** Share of the pixels marked. */
  fraction: number;
}

/**
 * What the photo itself says about its degradations (Estimate from photo). A value the photo is
 * too small or too flat to give is absent, with the reason in `notes`.
 */
export interface PhotoEstimate {
  /** Std of the grain in image units [0, 1] (the app shows it times 255). */
  sigmaY?: number;
  /** Std (px) of a Gaussian blur; 0 when the photo reads sharp. Read with the damage filled in. */
  blurStd?: number;
  /** The photo has no colour of its own (grey, or one tint such as sepia). */
  greyscale?: boolean;
  /** Share of the pixels taken as damage when the blur was read (the painted mask, else detected). */
  damaged: number;
  /** Why a value is missing, one line each. */
  notes: string[];
}

/** 8-bit RGBA for display only; results are exported from the full-precision copy in the service. */
export interface RgbaImage {
  width: number;
  height: number;
  data: Uint8ClampedArray;
}

/** A job's statistics as the page shows them: the engine's own (network calls, time, stationarity). */
export type SolveStatsView = SolveStats;

export type JobEvent =
  | { type: 'queued'; jobId: string; position: number }
  /** precision: the model's weights in use (fp16 on GPU providers when the model has that variant);
   *  precisionFallback: why it is not the one asked for, when it is not. */
  | { type: 'started'; jobId: string; provider: string; fallbacks: { provider: string; reason: string }[]; precision: GraphPrecision; precisionFallback?: string }
  | { type: 'progress'; jobId: string; step: number; total: number; elapsedMs: number; etaMs: number; preview?: RgbaImage }
  | { type: 'done'; jobId: string; image: RgbaImage; width: number; height: number; stats: SolveStatsView; operator: string; provider: string; precision: GraphPrecision }
  | { type: 'failed'; jobId: string; message: string }
  | { type: 'cancelled'; jobId: string };

export const COMMANDS = [
  'open',
  'export',
  'run',
  'cancel',
  'undo',
  'redo',
  'zoom-in',
  'zoom-out',
  'zoom-fit',
  'zoom-actual',
  'compare-swipe',
  'compare-side',
  'compare-hold',
  'theme-toggle',
  'devices',
  'mask-import',
  'mask-export',
  'mask-clear',
  'mask-invert',
  'shortcuts',
] as const;
export type Command = (typeof COMMANDS)[number];

export type ServiceState = 'starting' | 'ready' | 'restarting' | 'down';

/** A batch's output format: each photo's own (same), or one for all (as `vmlmap batch --format`). */
export const BATCH_FORMATS = ['same', 'png', 'jpeg', 'webp', 'tiff'] as const;
export type BatchFormat = (typeof BATCH_FORMATS)[number];

/** pending: not reached yet; cancelled: not done because the batch was cancelled. */
export type BatchFileStatus = 'pending' | 'running' | 'done' | 'skipped' | 'failed' | 'cancelled';

export interface BatchFile {
  /** The photo's file name (the page sees names, never paths). */
  name: string;
  status: BatchFileStatus;
  /** Time it took (done), or was spent on it (failed). */
  seconds?: number;
  /** Why it failed, or why it was skipped, one line. */
  reason?: string;
}

/** The batch queue in main, as the page shows it (event 'batch' at each change). */
export interface BatchState {
  /**
   * Counts the changes: a reply and an event travel on different channels, so the page keeps the
   * state with the highest number (a request's reply may arrive after a later event).
   */
  seq: number;
  files: BatchFile[];
  /** The output folder's name, once chosen. */
  output: string | null;
  /** idle: not started (or files added since it ended); finished / cancelled: its summary is shown. */
  phase: 'idle' | 'running' | 'finished' | 'cancelled';
  /** Pause asked: the photo being restored finishes, then the batch waits for Resume. */
  paused: boolean;
  cancelling: boolean;
  /** The photo being restored and its progress (step of total, measured time left). */
  current?: { index: number; step: number; total: number; elapsedMs: number; etaMs: number };
  /** The task the batch runs (its settings were the task panel's when it started). */
  task?: TaskSpec['task'];
}

export type AppEvent =
  | { kind: 'job'; event: JobEvent }
  /** The batch queue changed (a file added, a photo's progress or end, pause, the end). */
  | { kind: 'batch'; batch: BatchState }
  | { kind: 'command'; command: Command }
  | { kind: 'opened'; image: OpenedImage }
  | { kind: 'recent'; recent: RecentFile[] }
  | { kind: 'service'; state: ServiceState; message?: string }
  | { kind: 'error'; message: string }
  /** The window is being closed (or the app quit): the page answers with answerClose. */
  | { kind: 'close-requested' };

/** A finished result as the session keeps it: what the page shows about it besides its pixels. */
export interface SessionResult {
  jobId: string;
  width: number;
  height: number;
  spec: TaskSpec;
  stats: SolveStatsView;
  operator: string;
  provider: string;
  precision: GraphPrecision;
}

/** The autosaved session, as offered back when the page starts. */
export interface SessionOffer {
  /** The photo's name. */
  name: string;
  /** When it was saved (ms since the epoch). */
  savedAt: number;
  /** What it holds besides the photo and the task's settings. */
  mask: boolean;
  /** A result that had not been exported. */
  result: boolean;
  /** A restoration was running when it was saved. */
  running: boolean;
  /** Why it cannot be restored (the photo is gone or changed), one line; nothing is restored then. */
  problem?: string;
}

export interface SessionState {
  /** The window's page crashed and was reloaded: its session is restored without asking. */
  crashed: boolean;
  session: SessionOffer | null;
}

export interface RestoredSession {
  image: OpenedImage;
  task: TaskForm;
  /** The painted mask's levels (255 = restore), when one was painted. */
  mask?: Uint8Array;
  result?: SessionResult & { image: RgbaImage; saved: boolean };
  running: boolean;
  /** What could not be restored, one line each. */
  notes: string[];
}

const none: s.Schema<void> = {
  parse(v, path = '') {
    if (v !== undefined && v !== null) throw new s.SchemaError(path, 'this request takes no arguments');
  },
};

const id = s.string({ min: 8, max: 64, pattern: /^[A-Za-z0-9_-]+$/ });
const dim = s.int(1, 100_000);

export const runRequestSchema = s.object({
  /** Chosen by the renderer, so events that arrive before the reply can already be matched. */
  jobId: id,
  imageId: id,
  spec: taskSpecSchema,
  solver: solverSpecSchema,
  /**
   * h*w levels, 0 = keep, 255 = restore, soft in between (a feathered edge); required for
   * inpainting. The service turns them into the engine's observed weights (engine/photo/user-mask.ts).
   */
  mask: s.optional(s.bytes({ max: MAX_PIXELS })),
});
export type RunRequest = s.Infer<typeof runRequestSchema>;

/** A solve's statistics as the service reports them (engine/types.ts SolveStats). */
export const solveStatsSchema: s.Schema<SolveStats> = s.object({
  nfe: s.number({ min: 0 }),
  vjps: s.number({ min: 0 }),
  wallMs: s.number({ min: 0 }),
  onnxMs: s.number({ min: 0 }),
  approximateVjp: s.boolean(),
  stationarity: s.optional(s.number({ min: 0 })),
  shortenedSteps: s.optional(s.number({ min: 0, int: true })),
});

export const sessionResultSchema: s.Schema<SessionResult> = s.object({
  jobId: id,
  width: dim,
  height: dim,
  spec: taskSpecSchema,
  stats: solveStatsSchema,
  operator: s.string({ max: 1024 }),
  provider: s.string({ max: 32 }),
  precision: s.oneOf(GRAPH_PRECISIONS),
});

/**
 * What the page autosaves: the photo (by its token; main knows the path), the task's settings, the
 * painted mask (levels, sent only when something is painted) and the latest result, which main has
 * the service write into the session folder unless it was exported.
 */
export const saveSessionSchema = s.object({
  imageId: id,
  task: taskFormSchema,
  mask: s.optional(s.bytes({ min: 1, max: MAX_PIXELS })),
  result: s.optional(sessionResultSchema),
  running: s.boolean(),
});

/** Damage detection's sensitivity: higher finds fainter damage and more false alarms. */
export const sensitivitySchema = s.number({ min: 0, max: 1 });
export const DEFAULT_SENSITIVITY = 0.5;

/**
 * Every invokable request: its IPC channel and the schema its payload must pass. Method names are
 * the RendererApi's; channels are namespaced so a stray listener never matches.
 */
export const REQUESTS = {
  getState: { channel: 'app:get-state', request: none },
  setSettings: { channel: 'settings:set', request: settingsPatchSchema },
  openDialog: { channel: 'image:open-dialog', request: none },
  openPath: { channel: 'image:open-path', request: s.object({ path: s.string({ min: 1, max: 4096 }) }) },
  openBytes: {
    channel: 'image:open-bytes',
    request: s.object({ name: s.string({ min: 0, max: 255 }), bytes: s.bytes({ min: 1, max: MAX_IMAGE_BYTES }) }),
  },
  openRecent: { channel: 'image:open-recent', request: s.object({ index: s.int(0, MAX_RECENT - 1) }) },
  run: { channel: 'job:run', request: runRequestSchema },
  cancel: { channel: 'job:cancel', request: s.object({ jobId: id }) },
  exportResult: {
    channel: 'result:export',
    request: s.object({ jobId: id, format: s.oneOf(EXPORT_FORMATS), quality: s.int(1, 100) }),
  },
  importMask: { channel: 'mask:import', request: s.object({ width: dim, height: dim }) },
  exportMask: {
    channel: 'mask:export',
    request: s.object({ imageId: id, width: dim, height: dim, mask: s.bytes({ min: 1, max: MAX_PIXELS }) }),
  },
  /** Finds damage (scratches, dust, blotches) on the opened photo, for the painter to review. */
  detectDamage: { channel: 'mask:detect-damage', request: s.object({ imageId: id, sensitivity: sensitivitySchema }) },
  /**
   * Reads the noise level, the blur and whether the photo is greyscale from the opened photo; the
   * painted mask (levels, 255 = restore), when sent, is the damage filled in before the blur is read.
   */
  estimate: {
    channel: 'image:estimate',
    request: s.object({ imageId: id, sensitivity: sensitivitySchema, mask: s.optional(s.bytes({ min: 1, max: MAX_PIXELS })) }),
  },
  /** Makes a finished result the photo being restored (a new image; the original file is untouched). */
  useResult: { channel: 'result:use-as-input', request: s.object({ jobId: id }) },
  /**
   * History: the display copy of an earlier run of the photo, read back from the file the service
   * wrote when it finished (the page keeps only thumbnails and a few display copies).
   */
  runImage: { channel: 'result:run-image', request: s.object({ jobId: id }) },
  /** History: a run deleted (or its photo's history cleared): its file in the temporary folder goes. */
  discardRun: { channel: 'result:discard-run', request: s.object({ jobId: id }) },
  probeDevices: { channel: 'devices:probe', request: none },
  chooseModel: { channel: 'model:choose', request: none },
  /** Back to the model that ships with the app, after another folder was chosen. */
  useBundledModel: { channel: 'model:use-bundled', request: none },
  /** Autosave (a few seconds after a change); clearSession: nothing is at stake any more. */
  saveSession: { channel: 'session:save', request: saveSessionSchema },
  clearSession: { channel: 'session:clear', request: none },
  /** Whether a session was autosaved (and whether the page was reloaded after a crash). */
  getSession: { channel: 'session:get', request: none },
  restoreSession: { channel: 'session:restore', request: none },
  /**
   * The page's answer to close-requested: 'asking' while the person decides, then 'close' (nothing
   * at stake, or they chose to quit without saving) or 'stay'.
   */
  answerClose: { channel: 'window:answer-close', request: s.object({ answer: s.oneOf(['asking', 'close', 'stay'] as const) }) },
  /** The batch queue (main/batch.ts): its state, for a page that (re)loads. */
  batchState: { channel: 'batch:state', request: none },
  /** Photos added to the batch: a dialog choosing several files, or a folder (its photos, not subfolders'). */
  batchAddFiles: { channel: 'batch:add-files', request: none },
  batchAddFolder: { channel: 'batch:add-folder', request: none },
  /** The output folder, chosen in a dialog. */
  batchChooseOutput: { channel: 'batch:choose-output', request: none },
  batchRemove: { channel: 'batch:remove', request: s.object({ index: s.int(0, 99_999) }) },
  batchClear: { channel: 'batch:clear', request: none },
  /**
   * Starts the batch with the task panel's settings (not inpainting: it needs a mask per photo).
   * Each photo goes to OUTPUT/NAME<suffix>.EXT with the CLI's rules (cli/batch.ts).
   */
  batchStart: {
    channel: 'batch:start',
    request: s.object({
      spec: taskSpecSchema,
      solver: solverSpecSchema,
      suffix: s.string({ max: 64, pattern: /^[^/\\\0]*$/ }),
      format: s.oneOf(BATCH_FORMATS),
      stripGps: s.boolean(),
    }),
  },
  /** Pause (the photo being restored finishes, then it waits) or resume. */
  batchPause: { channel: 'batch:pause', request: s.object({ paused: s.boolean() }) },
  /** Stops the batch: the running photo is cancelled between steps; the photos written stay. */
  batchCancel: { channel: 'batch:cancel', request: none },
} as const;

export type Method = keyof typeof REQUESTS;
export type RequestOf<M extends Method> = s.Infer<(typeof REQUESTS)[M]['request']>;

export interface Responses {
  getState: AppState;
  setSettings: Settings;
  openDialog: OpenedImage | null;
  openPath: OpenedImage;
  openBytes: OpenedImage;
  openRecent: OpenedImage;
  run: void;
  cancel: void;
  exportResult: { path: string } | null;
  importMask: Uint8Array | null;
  exportMask: { path: string } | null;
  detectDamage: DamageFound;
  estimate: PhotoEstimate;
  useResult: OpenedImage;
  runImage: RgbaImage;
  discardRun: void;
  probeDevices: ProbeResult;
  chooseModel: ModelInfo | null;
  useBundledModel: ModelInfo;
  saveSession: void;
  clearSession: void;
  getSession: SessionState;
  restoreSession: RestoredSession;
  answerClose: void;
  batchState: BatchState;
  batchAddFiles: BatchState;
  batchAddFolder: BatchState;
  batchChooseOutput: BatchState;
  batchRemove: BatchState;
  batchClear: BatchState;
  batchStart: BatchState;
  batchPause: BatchState;
  batchCancel: BatchState;
}

/** What main does with each request (implemented by main/backend.ts). */
export type Handlers = { [M in Method]: (req: RequestOf<M>) => Promise<Responses[M]> };

/** IPC replies are envelopes: a thrown error would reach the renderer wrapped in Electron's text. */
export type Envelope<T> = { ok: true; value: T } | { ok: false; error: string };

export const EVENT_CHANNEL = 'app:event';

/** window.api in the renderer. `openPath` is not offered: a dropped File becomes a path inside the preload only. */
export type RendererApi = { [M in Exclude<Method, 'openPath'>]: (req: RequestOf<M>) => Promise<Responses[M]> } & {
  /** A dropped file: opened by path when it has one, else by its bytes. */
  openFile(file: File): Promise<OpenedImage>;
  onEvent(listener: (e: AppEvent) => void): () => void;
};

/** Sends one request and returns its reply's value (the preload over IPC, the e2e page over its loopback). */
export type Invoke = <M extends Method>(method: M, req: RequestOf<M>) => Promise<Responses[M]>;

/** The request methods of window.api, every one a plain call of `invoke` on its own method. */
export function requestMethods(invoke: Invoke): Omit<RendererApi, 'openFile' | 'onEvent'> {
  const methods = (Object.keys(REQUESTS) as Method[]).filter((m): m is Exclude<Method, 'openPath'> => m !== 'openPath');
  return Object.fromEntries(methods.map((m) => [m, (req: unknown) => invoke(m, req as never)])) as Omit<RendererApi, 'openFile' | 'onEvent'>;
}
