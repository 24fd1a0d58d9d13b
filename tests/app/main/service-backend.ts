/**
 * What main's handler tests share: a Backend on the real inference service (forked under Node with
 * the tiny test model, CPU), its events recorded, its dialogs mocked, and each job's events.
 */
import { join } from 'node:path';
import { vi } from 'vitest';
import type { AppEvent, JobEvent } from '../../../common/api.js';
import { Backend, type BackendOptions, type Dialogs } from '../../../main/backend.js';
import { forkService } from '../../../main/service-fork.js';
import { SettingsStore } from '../../../main/settings.js';
import { SERVICE_ENTRY, TINY_MODEL } from '../helpers.js';

export function mockDialogs() {
  return {
    openImage: vi.fn<Dialogs['openImage']>(),
    saveImage: vi.fn<Dialogs['saveImage']>(),
    confirmReplaceOriginal: vi.fn<Dialogs['confirmReplaceOriginal']>(),
    openMask: vi.fn<Dialogs['openMask']>(),
    saveMask: vi.fn<Dialogs['saveMask']>(),
    chooseModelDir: vi.fn<Dialogs['chooseModelDir']>(),
    openImages: vi.fn<NonNullable<Dialogs['openImages']>>(),
    chooseFolder: vi.fn<NonNullable<Dialogs['chooseFolder']>>(),
  };
}

/** Settings in `dir` with the CPU provider (the tests' machine may have no GPU). */
export function cpuSettings(dir: string): SettingsStore {
  const settings = new SettingsStore(join(dir, 'settings.json'));
  settings.update({ provider: 'cpu' });
  return settings;
}

export interface ServiceBackendOptions extends Partial<Omit<BackendOptions, 'spawn' | 'emit'>> {
  dialogs: Dialogs;
  settings: SettingsStore;
  tempDir: string;
  events: AppEvent[];
  /** Each service process's pid, for tests that kill one. */
  pids?: number[];
}

export function serviceBackend({ events, pids, ...options }: ServiceBackendOptions): Backend {
  return new Backend({
    imageUrl: (id) => `app-image://image/${id}`,
    defaultModelDir: TINY_MODEL,
    restartDelayMs: 10,
    ...options,
    spawn: () => {
      const p = forkService(SERVICE_ENTRY) as ReturnType<typeof forkService> & { pid?: number };
      if (p.pid) pids?.push(p.pid);
      return p;
    },
    emit: (e) => events.push(e),
  });
}

/** A job's events as the page receives them, the last one, and whether it has ended. */
export function jobEventsIn(events: AppEvent[]) {
  const jobEvents = (jobId: string): JobEvent[] => events.flatMap((e) => (e.kind === 'job' && e.event.jobId === jobId ? [e.event] : []));
  const last = (jobId: string): JobEvent | undefined => jobEvents(jobId).at(-1);
  const finished = (jobId: string) => () => ['done', 'failed', 'cancelled'].includes(last(jobId)?.type ?? '');
  return { jobEvents, last, finished };
}
