/**
 * The settings file: what an older version saved is brought up to date once (the solver default),
 * without losing a choice saved by this version.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_SETTINGS } from '../../../common/api.js';
import { SettingsStore } from '../../../main/settings.js';
import { DEFAULT_SOLVER } from '../../../engine/tasks.js';
import { tempDir } from '../helpers.js';

describe('settings file', () => {
  it("moves an older file's solver (the old default, saved whether chosen or not) to the engine default once", async () => {
    const dir = tempDir('settings');
    const file = join(dir, 'settings.json');
    const old = { ...DEFAULT_SETTINGS, task: { ...DEFAULT_SETTINGS.task, solver: { solver: 'vml-map', preset: 'fast', seed: 3 } } };
    writeFileSync(file, JSON.stringify({ settings: old, recent: [] }));
    const store = new SettingsStore(file);
    expect(store.settings.task.solver).toEqual({ solver: DEFAULT_SOLVER, preset: 'fast', seed: 3 });

    // Chosen again in this version: kept.
    store.update({ task: { ...store.settings.task, solver: { solver: 'vml-map', preset: 'fast', seed: 3 } } });
    await store.flush();
    expect(JSON.parse(readFileSync(file, 'utf8')).version).toBe(2);
    expect(new SettingsStore(file).settings.task.solver.solver).toBe('vml-map');
  });

  it('starts on the engine default solver', () => {
    const store = new SettingsStore(join(tempDir('settings'), 'none.json'));
    expect(store.settings.task.solver.solver).toBe(DEFAULT_SOLVER);
  });
});
