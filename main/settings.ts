/**
 * Settings and recent files, persisted as one JSON file in the user's data folder. The file is
 * read field by field against the same schemas as IPC: a damaged or hand-edited file loses only
 * its bad fields, never the app's ability to start.
 */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { DEFAULT_SETTINGS, MAX_RECENT, type RecentFile, type Settings, type SettingsPatch, settingsShape } from '../common/api.js';
import * as s from '../common/schema.js';
import { writeFileAtomic } from '../engine/photo/atomic.js';
import { DEFAULT_SOLVER } from '../engine/tasks.js';

/**
 * 2: the task's solver default became the engine's (vml-fp). Version 1 files saved 'vml-map', the
 * old default, whether or not the person ever chose it; they are moved to the default once.
 */
const VERSION = 2;

interface Stored {
  version: number;
  settings: Settings;
  recent: string[];
  modelDir?: string;
}

const recentSchema = s.array(s.string({ min: 1, max: 4096 }), { max: 100 });

export class SettingsStore {
  private data: Stored;
  private saving: Promise<void> = Promise.resolve();

  constructor(private readonly file: string) {
    this.data = SettingsStore.read(file);
  }

  static read(file: string): Stored {
    let raw: Record<string, unknown> = {};
    try {
      const parsed: unknown = JSON.parse(readFileSync(file, 'utf8'));
      if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) raw = parsed as Record<string, unknown>;
    } catch {
      // First start, or an unreadable file: defaults.
    }
    const stored = (raw.settings ?? {}) as Record<string, unknown>;
    const settings = { ...DEFAULT_SETTINGS } as Record<string, unknown>;
    for (const [key, schema] of Object.entries(settingsShape)) {
      const r = s.safeParse(schema as s.Schema<unknown>, stored[key]);
      if (r.ok) settings[key] = r.value;
    }
    const task = settings.task as Settings['task'];
    if (!(typeof raw.version === 'number' && raw.version >= VERSION) && task.solver.solver === 'vml-map') {
      settings.task = { ...task, solver: { ...task.solver, solver: DEFAULT_SOLVER } };
    }
    const recent = s.safeParse(recentSchema, raw.recent);
    const modelDir = s.safeParse(s.string({ min: 1, max: 4096 }), raw.modelDir);
    return {
      version: VERSION,
      settings: settings as unknown as Settings,
      recent: recent.ok ? recent.value.slice(0, MAX_RECENT) : [],
      modelDir: modelDir.ok ? modelDir.value : undefined,
    };
  }

  get settings(): Settings {
    return this.data.settings;
  }

  get recentPaths(): string[] {
    return [...this.data.recent];
  }

  get recent(): RecentFile[] {
    return this.data.recent.map((path) => ({ path, name: basename(path) }));
  }

  get modelDir(): string | undefined {
    return this.data.modelDir;
  }

  update(patch: SettingsPatch): Settings {
    this.data.settings = { ...this.data.settings, ...patch };
    this.save();
    return this.data.settings;
  }

  /** A model folder the person chose; undefined: the bundled one again. */
  setModelDir(dir: string | undefined): void {
    this.data.modelDir = dir;
    this.save();
  }

  addRecent(path: string): void {
    this.data.recent = [path, ...this.data.recent.filter((p) => p !== path)].slice(0, MAX_RECENT);
    this.save();
  }

  removeRecent(path: string): void {
    this.data.recent = this.data.recent.filter((p) => p !== path);
    this.save();
  }

  /** Resolves when every change so far is on disk. */
  flush(): Promise<void> {
    return this.saving;
  }

  private save(): void {
    const text = JSON.stringify(this.data, null, 2);
    // Chained, so writes land in order; a failed write is logged and the next one tries again.
    this.saving = this.saving.then(() => writeFileAtomic(this.file, text)).catch((e) => console.error(`[main] cannot save settings: ${(e as Error).message}`));
  }
}
