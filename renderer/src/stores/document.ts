/**
 * The photo being worked on and its latest result. Opening a photo (dialog, drop, paste, recent,
 * menu) always goes through open(), which resets the mask, the view, the result and the estimates
 * together; so does a result made the photo being restored (commands.ts, useResultAsInput).
 */
import { defineStore } from 'pinia';
import { computed, ref, shallowRef } from 'vue';
import type { GraphPrecision as Precision, OpenedImage, RgbaImage, SolveStatsView } from '../../../common/api';
import type { SolverSpec, TaskSpec } from '../../../engine/tasks';
import { api } from '../api';
import { useMaskStore } from './mask';
import { messageOf, useSessionStore } from './session';
import { useTaskStore } from './task';
import { useViewStore } from './view';

export interface Result {
  jobId: string;
  image: RgbaImage;
  /** Full output size (the display copy can be smaller). */
  width: number;
  height: number;
  spec: TaskSpec;
  /** The solver's settings and seed it ran with (absent for a result restored from an autosave). */
  solver?: SolverSpec;
  /** When it finished (ms since the epoch). */
  at?: number;
  stats: SolveStatsView;
  operator: string;
  provider: string;
  precision: Precision;
  /** Exported at least once (nothing is lost when it is replaced). */
  saved?: boolean;
}

export const useDocumentStore = defineStore('document', () => {
  const image = ref<OpenedImage | null>(null);
  /** Display copies are large and immutable: shallow refs, no deep reactivity. */
  const result = shallowRef<Result | null>(null);
  const preview = shallowRef<RgbaImage | null>(null);
  const opening = ref(false);
  /** Counts the photos shown: changes with each, even when the same one is opened again. */
  const generation = ref(0);
  /** A restoration of this photo is on its way (kept by the job store): opening another ends it. */
  const running = ref(false);
  /** Finished runs of this photo never exported, the result shown among them (the history store counts them). */
  const unexportedRuns = ref(0);

  function show(img: OpenedImage): void {
    image.value = img;
    generation.value++;
    result.value = null;
    preview.value = null;
    useMaskStore().reset(img.width, img.height);
    useTaskStore().clearEstimate();
    const view = useViewStore();
    view.mode = 'edit';
    view.setImage(img.width, img.height);
  }

  /**
   * The work a person would miss if this photo went now (another opened, the window closed): a run
   * under way, a result never exported, a painted mask. Empty: nothing is at stake.
   */
  const atStake = computed<string[]>(() => {
    const lose: string[] = [];
    if (running.value) lose.push('the restoration in progress');
    if (unexportedRuns.value > 1) lose.push(`${unexportedRuns.value} results, which have not been exported`);
    else if (unexportedRuns.value === 1 || (result.value && !result.value.saved)) lose.push('the result, which has not been exported');
    if (image.value && !useMaskStore().isEmpty) lose.push('the painted mask');
    return lose;
  });

  /**
   * Opening another photo replaces the result and the mask, and cancels a running restoration: when
   * any holds work a person would miss, ask first.
   */
  async function mayReplace(): Promise<boolean> {
    const lose = atStake.value;
    if (!lose.length) return true;
    const choice = await useSessionStore().ask({
      title: 'Open another photo?',
      text: `Opening another photo discards ${lose.join(' and ')}. Cancel to export it first.`,
      choices: [{ id: 'open', label: 'Discard and open' }],
    });
    return choice === 'open';
  }

  async function open(how: () => Promise<OpenedImage | null>, ask = true): Promise<void> {
    if (opening.value) return;
    if (ask && !(await mayReplace())) return;
    opening.value = true;
    try {
      const img = await how();
      if (img) show(img);
    } catch (e) {
      useSessionStore().notify(messageOf(e), 'error');
    } finally {
      opening.value = false;
    }
  }

  const openDialog = () => open(() => api().openDialog());
  const openFile = (file: File) => open(() => api().openFile(file));
  const openRecent = (index: number) => open(() => api().openRecent({ index }));
  const openBytes = (name: string, bytes: Uint8Array) => open(() => api().openBytes({ name, bytes }));
  /** A finished result as the photo being restored (commands.ts asks its own question first). */
  const openResult = (jobId: string) => open(() => api().useResult({ jobId }), false);

  function setResult(r: Result): void {
    result.value = r;
    preview.value = null;
  }

  /** The result was exported. */
  function markSaved(jobId: string): void {
    if (result.value?.jobId === jobId) result.value = { ...result.value, saved: true };
  }

  return { image, result, preview, opening, generation, running, unexportedRuns, atStake, show, openDialog, openFile, openRecent, openBytes, openResult, setResult, markSaved };
});
