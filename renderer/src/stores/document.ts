/**
 * The photo being worked on and its latest result. Opening a photo (dialog, drop, paste, recent,
 * menu) always goes through open(), which resets the mask, the view and the result together.
 */
import { defineStore } from 'pinia';
import { ref, shallowRef } from 'vue';
import type { GraphPrecision as Precision, OpenedImage, RgbaImage, SolveStatsView } from '../../../common/api';
import type { TaskSpec } from '../../../engine/tasks';
import { api } from '../api';
import { useMaskStore } from './mask';
import { messageOf, useSessionStore } from './session';
import { useViewStore } from './view';

export interface Result {
  jobId: string;
  image: RgbaImage;
  /** Full output size (the display copy can be smaller). */
  width: number;
  height: number;
  spec: TaskSpec;
  stats: SolveStatsView;
  operator: string;
  provider: string;
  precision: Precision;
}

export const useDocumentStore = defineStore('document', () => {
  const image = ref<OpenedImage | null>(null);
  /** Display copies are large and immutable: shallow refs, no deep reactivity. */
  const result = shallowRef<Result | null>(null);
  const preview = shallowRef<RgbaImage | null>(null);
  const opening = ref(false);

  function show(img: OpenedImage): void {
    image.value = img;
    result.value = null;
    preview.value = null;
    useMaskStore().reset(img.width, img.height);
    const view = useViewStore();
    view.mode = 'edit';
    view.setImage(img.width, img.height);
  }

  async function open(how: () => Promise<OpenedImage | null>): Promise<void> {
    if (opening.value) return;
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

  function setResult(r: Result): void {
    result.value = r;
    preview.value = null;
  }

  return { image, result, preview, opening, show, openDialog, openFile, openRecent, openBytes, setResult };
});
