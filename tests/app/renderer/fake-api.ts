/** A RendererApi whose methods are spies, and a way to push app events at the page. */
import { vi } from 'vitest';
import { type AppEvent, type BatchState, DEFAULT_SETTINGS, type ModelInfo, type OpenedImage, type RendererApi, type RestoredSession, type SessionState } from '../../../common/api';

export type FakeApi = { [K in keyof RendererApi]: ReturnType<typeof vi.fn> & RendererApi[K] } & { emit(e: AppEvent): void };

/** The batch queue as main starts it: empty, not running. */
export const EMPTY_BATCH: BatchState = { seq: 0, files: [], output: null, phase: 'idle', paused: false, cancelling: false };

export const IMAGE: OpenedImage = { id: 'img0000000000001', name: 'photo.png', url: 'data:,', width: 40, height: 30, hasAlpha: false, bitDepth: 8 };
/** What useResult answers: the result opened as the photo being restored. */
export const RESULT_IMAGE: OpenedImage = { ...IMAGE, id: 'img0000000000002', name: 'photo-restored.png' };

/** The model that ships with the app, as main describes it. */
export const BUNDLED_MODEL: ModelInfo = { dir: '/app/resources/models/default', name: 'default', description: '', hasVjp: true, sizeMultiple: 8, fixedSize: null, bundled: true };

export function installFakeApi(): FakeApi {
  const listeners = new Set<(e: AppEvent) => void>();
  const api = {
    getState: vi.fn(async () => ({ settings: structuredClone(DEFAULT_SETTINGS), recent: [], model: null, service: { state: 'ready' as const }, platform: 'linux', version: '0.1.0' })),
    setSettings: vi.fn(async () => structuredClone(DEFAULT_SETTINGS)),
    openDialog: vi.fn(async () => IMAGE),
    openBytes: vi.fn(async () => IMAGE),
    openRecent: vi.fn(async () => IMAGE),
    openFile: vi.fn(async () => IMAGE),
    run: vi.fn(async () => undefined),
    cancel: vi.fn(async () => undefined),
    exportResult: vi.fn(async () => ({ path: '/out/photo-restored.png' })),
    importMask: vi.fn(async () => null),
    exportMask: vi.fn(async () => ({ path: '/out/photo-mask.png' })),
    detectDamage: vi.fn(async () => ({ mask: new Uint8Array(IMAGE.width * IMAGE.height), fraction: 0 })),
    estimate: vi.fn(async () => ({ sigmaY: 0.02, blurStd: 1.2, greyscale: false, damaged: 0, notes: [] })),
    useResult: vi.fn(async () => RESULT_IMAGE),
    probeDevices: vi.fn(async () => ({ devices: [], recommended: 'cpu' })),
    chooseModel: vi.fn(async () => null),
    useBundledModel: vi.fn(async () => BUNDLED_MODEL),
    runImage: vi.fn(async () => {
      throw new Error('no such run');
    }),
    discardRun: vi.fn(async () => undefined),
    saveSession: vi.fn(async () => undefined),
    clearSession: vi.fn(async () => undefined),
    getSession: vi.fn(async (): Promise<SessionState> => ({ crashed: false, session: null })),
    restoreSession: vi.fn(async (): Promise<RestoredSession> => {
      throw new Error('no session');
    }),
    answerClose: vi.fn(async () => undefined),
    batchState: vi.fn(async () => structuredClone(EMPTY_BATCH)),
    batchAddFiles: vi.fn(async () => structuredClone(EMPTY_BATCH)),
    batchAddFolder: vi.fn(async () => structuredClone(EMPTY_BATCH)),
    batchChooseOutput: vi.fn(async () => structuredClone(EMPTY_BATCH)),
    batchRemove: vi.fn(async () => structuredClone(EMPTY_BATCH)),
    batchClear: vi.fn(async () => structuredClone(EMPTY_BATCH)),
    batchStart: vi.fn(async () => structuredClone(EMPTY_BATCH)),
    batchPause: vi.fn(async () => structuredClone(EMPTY_BATCH)),
    batchCancel: vi.fn(async () => structuredClone(EMPTY_BATCH)),
    onEvent: vi.fn((l: (e: AppEvent) => void) => {
      listeners.add(l);
      return () => listeners.delete(l);
    }),
    emit: (e: AppEvent) => listeners.forEach((l) => l(e)),
  };
  window.api = api as unknown as RendererApi;
  return api as unknown as FakeApi;
}
