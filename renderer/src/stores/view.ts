/**
 * Zoom, pan and comparison state, shared by every pane that shows the photo: the side-by-side
 * panes and the swipe view read the same transform, which is how they stay in sync.
 * Coordinates: screen = pan + scale * image pixel.
 */
import { defineStore } from 'pinia';
import { computed, ref } from 'vue';
import type { CompareMode } from '../../../common/api';

export const MIN_SCALE = 1 / 64;
export const MAX_SCALE = 32;

export const useViewStore = defineStore('view', () => {
  const scale = ref(1);
  const x = ref(0);
  const y = ref(0);
  /** Size of one pane in CSS pixels (half the stage side by side). */
  const viewport = ref({ w: 800, h: 600 });
  const image = ref({ w: 0, h: 0 });
  /** Refit on resize until the user zooms or pans. */
  const fitted = ref(true);
  const mode = ref<'edit' | 'compare'>('edit');
  const compareMode = ref<CompareMode>('swipe');
  /** Swipe divider, as a fraction of the photo's width (a place on the photo, wherever it is shown). */
  const swipe = ref(0.5);
  const holding = ref(false);
  /** Space is held: left-drag pans instead of painting. */
  const panKey = ref(false);

  const zoomPercent = computed(() => Math.round(scale.value * 100));

  /** Fits the photo to the pane, enlarging a small one as well as shrinking a large one. */
  function fit(): void {
    const { w, h } = image.value;
    if (!w || !h) return;
    const margin = 24;
    const s = Math.min((viewport.value.w - margin) / w, (viewport.value.h - margin) / h, MAX_SCALE);
    scale.value = Math.max(MIN_SCALE, s);
    x.value = Math.round((viewport.value.w - w * scale.value) / 2);
    y.value = Math.round((viewport.value.h - h * scale.value) / 2);
    fitted.value = true;
  }

  function setImage(w: number, h: number): void {
    image.value = { w, h };
    fit();
  }

  function setViewport(w: number, h: number): void {
    if (w <= 0 || h <= 0) return;
    const old = viewport.value;
    viewport.value = { w, h };
    if (fitted.value) fit();
    else {
      // Keep the centre of the view on the same image point.
      x.value += (w - old.w) / 2;
      y.value += (h - old.h) / 2;
    }
  }

  /** Zooms keeping the image point under (cx, cy) (pane coordinates) still. */
  function zoomAt(factor: number, cx = viewport.value.w / 2, cy = viewport.value.h / 2): void {
    const next = Math.min(MAX_SCALE, Math.max(MIN_SCALE, scale.value * factor));
    const k = next / scale.value;
    x.value = cx - (cx - x.value) * k;
    y.value = cy - (cy - y.value) * k;
    scale.value = next;
    fitted.value = false;
  }

  function zoomTo(s: number): void {
    zoomAt(s / scale.value);
  }

  function panBy(dx: number, dy: number): void {
    x.value += dx;
    y.value += dy;
    fitted.value = false;
  }

  function toImage(px: number, py: number): { x: number; y: number } {
    return { x: (px - x.value) / scale.value, y: (py - y.value) / scale.value };
  }

  return {
    scale,
    x,
    y,
    viewport,
    image,
    fitted,
    mode,
    compareMode,
    swipe,
    holding,
    panKey,
    zoomPercent,
    fit,
    setImage,
    setViewport,
    zoomAt,
    zoomTo,
    panBy,
    toImage,
  };
});
