/**
 * The history of the photo being restored: every finished run, with a thumbnail, its task, the
 * solver's settings and seed, the time it took and when it ran. Any run can be shown as the result,
 * two of them compared (A and B, in the compare view instead of before and after), deleted, exported
 * or used as input (commands.ts).
 *
 * Memory stays bounded: a run keeps its thumbnail only. Full-size results live in files the service
 * wrote into the temporary folder when each run finished (main/backend.ts); the page keeps the
 * display copies of a few runs and asks main for another when it is shown (runImage). A run is added
 * when it becomes the document's result, so a result brought back by an autosave is in it as well.
 * Opening another photo (or using a result as input) clears the history and discards its files.
 */
import { defineStore } from 'pinia';
import { computed, ref, shallowRef, watch } from 'vue';
import type { RgbaImage } from '../../../common/api';
import { api } from '../api';
import { thumbnail } from '../thumbnail';
import { type Result, useDocumentStore } from './document';
import { messageOf, useSessionStore } from './session';
import { useViewStore } from './view';

export interface Run extends Omit<Result, 'image'> {
  /** Its number among this photo's runs, from 1 (not reused when a run is deleted). */
  n: number;
  /** When it finished (ms since the epoch). */
  at: number;
  thumb: RgbaImage;
}

/** Display copies kept in the page (A, B, the one shown and one more); the others are read back on demand. */
export const KEEP_IMAGES = 4;

export type Slot = 'a' | 'b';

export const useHistoryStore = defineStore('history', () => {
  const doc = useDocumentStore();
  /** Oldest first. Thumbnails are immutable: a shallow ref, replaced on each change. */
  const runs = shallowRef<Run[]>([]);
  const a = ref<string | null>(null);
  const b = ref<string | null>(null);
  /** The compare view shows run A against run B instead of before and after. */
  const comparing = ref(false);
  const aImage = shallowRef<RgbaImage | null>(null);
  const bImage = shallowRef<RgbaImage | null>(null);
  /** The run whose display copy is being read back. */
  const loading = ref<string | null>(null);
  /** Least recently used first. */
  const images = new Map<string, RgbaImage>();
  let counter = 0;

  const selected = computed(() => doc.result?.jobId ?? null);
  const runA = computed(() => runs.value.find((r) => r.jobId === a.value) ?? null);
  const runB = computed(() => runs.value.find((r) => r.jobId === b.value) ?? null);
  const canCompare = computed(() => !!runA.value && !!runB.value && a.value !== b.value);
  const unexported = computed(() => runs.value.filter((r) => !r.saved).length);

  const find = (jobId: string): Run | undefined => runs.value.find((r) => r.jobId === jobId);

  function cache(jobId: string, image: RgbaImage): void {
    images.delete(jobId);
    images.set(jobId, image);
    while (images.size > KEEP_IMAGES) images.delete(images.keys().next().value!);
  }

  /** A run's display copy: kept here, or read back by main from the run's file. */
  async function imageOf(jobId: string): Promise<RgbaImage> {
    const kept = images.get(jobId);
    if (kept) {
      cache(jobId, kept);
      return kept;
    }
    loading.value = jobId;
    try {
      const image = await api().runImage({ jobId });
      cache(jobId, image);
      return image;
    } finally {
      if (loading.value === jobId) loading.value = null;
    }
  }

  /** A result shown for the first time is a new run; one shown again (or exported) updates its entry. */
  function noteResult(r: Result | null): void {
    if (!r) return;
    cache(r.jobId, r.image);
    const known = find(r.jobId);
    if (known) {
      if (r.saved && !known.saved) runs.value = runs.value.map((x) => (x === known ? { ...x, saved: true } : x));
      return;
    }
    const { image, ...rest } = r;
    runs.value = [...runs.value, { ...rest, n: ++counter, at: r.at ?? Date.now(), thumb: thumbnail(image) }];
    comparing.value = false;
  }

  /** Another photo is being restored: its runs, their display copies and their files go. */
  function clear(): void {
    for (const r of runs.value)
      void api()
        .discardRun({ jobId: r.jobId })
        .catch(() => undefined);
    runs.value = [];
    images.clear();
    a.value = b.value = null;
    aImage.value = bImage.value = null;
    comparing.value = false;
    loading.value = null;
    counter = 0;
  }

  /** Shows a run as the result (leaving an A/B comparison). */
  async function show(jobId: string): Promise<boolean> {
    const run = find(jobId);
    if (!run) return false;
    comparing.value = false;
    if (doc.result?.jobId !== jobId) {
      const generation = doc.generation;
      let image: RgbaImage;
      try {
        image = await imageOf(jobId);
      } catch (e) {
        useSessionStore().notify(messageOf(e), 'error');
        return false;
      }
      const now = find(jobId);
      if (!now || generation !== doc.generation) return false;
      const { n: _n, thumb: _thumb, ...result } = now;
      doc.setResult({ ...result, image });
    }
    useViewStore().mode = 'compare';
    return true;
  }

  /** Makes a run A or B of the comparison; choosing it again for the same slot takes it out. */
  async function pick(slot: Slot, jobId: string): Promise<void> {
    const target = slot === 'a' ? a : b;
    const other = slot === 'a' ? b : a;
    target.value = target.value === jobId ? null : jobId;
    if (target.value && other.value === jobId) other.value = null;
    if (comparing.value) {
      if (canCompare.value) await compare();
      else comparing.value = false;
    }
  }

  /** Run A against run B in the compare view (swipe, side by side or hold), sharing zoom and pan. */
  async function compare(): Promise<boolean> {
    const ja = a.value;
    const jb = b.value;
    if (!ja || !jb || ja === jb || !find(ja) || !find(jb)) return false;
    const generation = doc.generation;
    let images: [RgbaImage, RgbaImage];
    try {
      images = [await imageOf(ja), await imageOf(jb)];
    } catch (e) {
      useSessionStore().notify(messageOf(e), 'error');
      return false;
    }
    if (generation !== doc.generation || a.value !== ja || b.value !== jb) return false;
    [aImage.value, bImage.value] = images;
    comparing.value = true;
    useViewStore().mode = 'compare';
    return true;
  }

  /** Back to before and after. */
  function stopComparing(): void {
    comparing.value = false;
  }

  /** Deletes a run; one never exported is not given up without asking. */
  async function remove(jobId: string): Promise<boolean> {
    const run = find(jobId);
    if (!run) return false;
    if (!run.saved) {
      const choice = await useSessionStore().ask({
        title: 'Delete this run?',
        text: `Run ${run.n} has not been exported. Deleting it from the history cannot be undone.`,
        choices: [{ id: 'delete', label: 'Delete' }],
      });
      if (choice !== 'delete' || !find(jobId)) return false;
    }
    runs.value = runs.value.filter((r) => r.jobId !== jobId);
    images.delete(jobId);
    if (a.value === jobId) a.value = null;
    if (b.value === jobId) b.value = null;
    if (!canCompare.value) comparing.value = false;
    if (doc.result?.jobId === jobId) {
      const last = runs.value.at(-1);
      if (!last || !(await show(last.jobId))) {
        doc.result = null;
        useViewStore().mode = 'edit';
      }
    }
    void api()
      .discardRun({ jobId })
      .catch(() => undefined);
    return true;
  }

  /** A run was exported (commands.ts). */
  function markSaved(jobId: string): void {
    const run = find(jobId);
    if (run && !run.saved) runs.value = runs.value.map((x) => (x === run ? { ...x, saved: true } : x));
    doc.markSaved(jobId);
  }

  watch(() => doc.result, noteResult, { flush: 'sync', immediate: true });
  watch(() => doc.generation, clear, { flush: 'sync' });
  watch(unexported, (n) => (doc.unexportedRuns = n), { flush: 'sync', immediate: true });

  return { runs, a, b, comparing, aImage, bImage, loading, selected, runA, runB, canCompare, unexported, imageOf, show, pick, compare, stopComparing, remove, markSaved, clear };
});
