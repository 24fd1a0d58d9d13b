/**
 * The batch queue as the page shows it: main runs it (main/batch.ts) and sends its state at each
 * change ('batch' events); the page adds photos and a folder, chooses the output folder, suffix
 * and format, and starts it with the task panel's settings as they are then. It also gives the
 * overall progress and the time left, and the summary at the end.
 */
import { defineStore } from 'pinia';
import { computed, ref } from 'vue';
import type { BatchFileStatus, BatchFormat, BatchState } from '../../../common/api';
import { api } from '../api';
import { messageOf } from './session';
import { useTaskStore } from './task';

export const EMPTY_BATCH: BatchState = { seq: 0, files: [], output: null, phase: 'idle', paused: false, cancelling: false };

/** Why the task panel's task cannot run as a batch, or ''. */
export const INPAINT_REFUSED = 'Inpainting needs a mask painted on each photo, so it cannot run as a batch: choose another task (Old photo detects the damage on each photo).';

/**
 * The time left for the whole batch in ms, -1 while it cannot be measured: the running photo's
 * own time left plus, for each photo still to do, the mean time of those restored in this run
 * (before any is: the running photo's time, once its steps are measured).
 */
export function batchEtaMs(s: BatchState): number {
  if (s.phase !== 'running') return -1;
  const restored = s.files.filter((f) => f.status === 'done' && f.seconds !== undefined);
  const c = s.current;
  const measured = c !== undefined && c.total > 0 && c.step > 0;
  const perPhoto = restored.length ? (1000 * restored.reduce((a, f) => a + f.seconds!, 0)) / restored.length : measured ? c.elapsedMs + c.etaMs : -1;
  if (perPhoto < 0) return -1;
  const pending = s.files.filter((f) => f.status === 'pending').length;
  return (c ? (measured ? c.etaMs : perPhoto) : 0) + pending * perPhoto;
}

/** The share of the batch behind it: photos ended, and the running one's steps. */
export function batchFraction(s: BatchState): number {
  if (!s.files.length) return 0;
  const ended = s.files.filter((f) => f.status !== 'pending' && f.status !== 'running').length;
  const c = s.current;
  return Math.min(1, (ended + (c && c.total > 0 ? c.step / c.total : 0)) / s.files.length);
}

export const useBatchStore = defineStore('batch', () => {
  const state = ref<BatchState>(structuredClone(EMPTY_BATCH));
  const suffix = ref('-restored');
  const format = ref<BatchFormat>('same');
  const stripGps = ref(false);
  /** The last refusal or error, one line. */
  const message = ref('');

  const running = computed(() => state.value.phase === 'running');
  const count = (status: BatchFileStatus): number => state.value.files.filter((f) => f.status === status).length;
  const counts = computed(() => ({ done: count('done'), skipped: count('skipped'), failed: count('failed'), cancelled: count('cancelled'), pending: count('pending') }));
  const failures = computed(() => state.value.files.filter((f) => f.status === 'failed'));
  const refusal = computed(() => (useTaskStore().task === 'inpaint' ? INPAINT_REFUSED : ''));
  const etaMs = computed(() => batchEtaMs(state.value));
  const fraction = computed(() => batchFraction(state.value));
  const canStart = computed(() => !running.value && state.value.files.length > 0 && state.value.output !== null && !refusal.value);
  /** Why Start is disabled, for its hint. */
  const blocker = computed(() => {
    if (running.value) return '';
    if (refusal.value) return refusal.value;
    if (!state.value.files.length) return 'Add photos or a folder first.';
    if (state.value.output === null) return 'Choose the folder to write the restored photos into.';
    return '';
  });

  async function call(request: () => Promise<BatchState>): Promise<void> {
    try {
      handle(await request());
      message.value = '';
    } catch (e) {
      message.value = messageOf(e);
    }
  }

  const load = () => call(() => api().batchState());
  const addFiles = () => call(() => api().batchAddFiles());
  const addFolder = () => call(() => api().batchAddFolder());
  const chooseOutput = () => call(() => api().batchChooseOutput());
  const remove = (index: number) => call(() => api().batchRemove({ index }));
  const clear = () => call(() => api().batchClear());
  const pause = () => call(() => api().batchPause({ paused: true }));
  const resume = () => call(() => api().batchPause({ paused: false }));
  const cancel = () => call(() => api().batchCancel());

  /** Starts the batch with the task panel's settings as they are now. */
  async function start(): Promise<void> {
    if (refusal.value) {
      message.value = refusal.value;
      return;
    }
    const task = useTaskStore();
    await call(() => api().batchStart({ spec: task.spec, solver: task.solverSpec, suffix: suffix.value, format: format.value, stripGps: stripGps.value }));
  }

  /** A 'batch' event from main, or a request's reply: an older state than the one shown is dropped. */
  function handle(batch: BatchState): void {
    if (batch.seq >= state.value.seq) state.value = batch;
  }

  return {
    state,
    suffix,
    format,
    stripGps,
    message,
    running,
    counts,
    failures,
    refusal,
    etaMs,
    fraction,
    canStart,
    blocker,
    load,
    addFiles,
    addFolder,
    chooseOutput,
    remove,
    clear,
    start,
    pause,
    resume,
    cancel,
    handle,
  };
});
