/**
 * The mask being painted (inpainting, an old photo's damage): a byte plane the size of the photo
 * (1 = restore), the brush, and its history. The plane itself is not reactive (it can be 100 MB);
 * `version` changes after every edit and the canvas redraws only the region that changed. Detected
 * damage is added to what is painted, as one step that Undo takes back.
 */
import { defineStore } from 'pinia';
import { computed, ref } from 'vue';
import { MaskHistory } from '../mask/history';
import { copyRect, countSet, EMPTY_RECT, invertInPlace, type Rect, stampDisc, strokeSegment, union } from '../mask/raster';
import { DEFAULT_SENSITIVITY, DEFAULT_SETTINGS } from '../../../common/api';

export type Tool = 'brush' | 'eraser';
export const MIN_BRUSH = 1;
export const MAX_BRUSH = 2000;

export const useMaskStore = defineStore('mask', () => {
  const width = ref(0);
  const height = ref(0);
  const tool = ref<Tool>('brush');
  const brushSize = ref(DEFAULT_SETTINGS.brushSize);
  const opacity = ref(0.5);
  const version = ref(0);
  const painted = ref(0);
  const canUndo = ref(false);
  const canRedo = ref(false);
  /** Damage detection: its sensitivity (0..1) and whether a detection is on its way. */
  const sensitivity = ref(DEFAULT_SENSITIVITY);
  const detecting = ref(false);

  let data = new Uint8Array(0);
  let history = new MaskHistory();
  let dirty: Rect | 'all' = 'all';
  let stroke: { backup: Uint8Array; last: { x: number; y: number }; rect: Rect } | undefined;

  const isEmpty = computed(() => painted.value === 0);

  function changed(rect: Rect | 'all' | undefined, recount = true): void {
    if (!rect) return;
    dirty = rect === 'all' || dirty === 'all' ? 'all' : union(dirty, rect);
    if (recount) painted.value = countSet(data);
    canUndo.value = history.canUndo;
    canRedo.value = history.canRedo;
    version.value++;
  }

  function reset(w: number, h: number): void {
    width.value = w;
    height.value = h;
    data = new Uint8Array(w * h);
    history = new MaskHistory();
    stroke = undefined;
    changed('all');
  }

  const value = (): 0 | 1 => (tool.value === 'brush' ? 1 : 0);

  function beginStroke(p: { x: number; y: number }): void {
    if (!data.length) return;
    // A copy of the plane at the stroke's start; the history keeps only the rectangle it touched.
    stroke = { backup: data.slice(), last: p, rect: EMPTY_RECT };
    const r = stampDisc(data, width.value, height.value, p.x, p.y, brushSize.value / 2, value());
    stroke.rect = r;
    changed(r, false);
  }

  function strokeTo(p: { x: number; y: number }): void {
    if (!stroke) return;
    const r = strokeSegment(data, width.value, height.value, stroke.last, p, brushSize.value / 2, value());
    stroke.last = p;
    stroke.rect = union(stroke.rect, r);
    changed(r, false);
  }

  function endStroke(): void {
    if (!stroke) return;
    const { backup, rect } = stroke;
    stroke = undefined;
    if (rect.w > 0 && rect.h > 0) {
      const before = copyRect(backup, width.value, rect);
      const after = copyRect(data, width.value, rect);
      if (before.some((v, i) => v !== after[i])) history.push({ kind: 'rect', rect, before, after });
    }
    changed(EMPTY_RECT);
  }

  /** Replaces the whole plane as one undoable step (clear, import). */
  function replaceAll(next: Uint8Array): void {
    const rect = { x: 0, y: 0, w: width.value, h: height.value };
    const before = data.slice();
    data.set(next);
    history.push({ kind: 'rect', rect, before, after: data.slice() });
    changed('all');
  }

  function clear(): void {
    if (painted.value > 0) replaceAll(new Uint8Array(data.length));
  }

  function invert(): void {
    if (!data.length) return;
    invertInPlace(data);
    history.push({ kind: 'invert' });
    changed('all');
  }

  function load(bytes: Uint8Array): void {
    if (bytes.length !== data.length) throw new Error(`the mask has ${bytes.length} pixels, the image ${data.length}`);
    replaceAll(Uint8Array.from(bytes, (v) => (v ? 1 : 0)));
  }

  /**
   * Adds marked pixels (detected damage) to the painted ones, as one undoable step; what was
   * painted stays. Returns how many pixels were added.
   */
  function merge(bytes: Uint8Array): number {
    if (bytes.length !== data.length) throw new Error(`the mask has ${bytes.length} pixels, the image ${data.length}`);
    const next = data.slice();
    let added = 0;
    for (let i = 0; i < next.length; i++) {
      if (bytes[i] && !next[i]) {
        next[i] = 1;
        added++;
      }
    }
    if (added > 0) replaceAll(next);
    return added;
  }

  function undo(): void {
    endStroke();
    changed(history.undo(data, width.value));
  }

  function redo(): void {
    endStroke();
    changed(history.redo(data, width.value));
  }

  /** The region to redraw since the last call. */
  function takeDirty(): Rect | 'all' {
    const d = dirty;
    dirty = EMPTY_RECT;
    return d;
  }

  /** The live plane (read-only by convention) and a copy for sending away. */
  const plane = (): Uint8Array => data;
  const snapshot = (): Uint8Array => data.slice();

  function setBrushSize(px: number): void {
    brushSize.value = Math.round(Math.min(MAX_BRUSH, Math.max(MIN_BRUSH, px)));
  }

  /** [ and ]: multiplicative steps, so small and large brushes both change at a useful rate. */
  function growBrush(direction: 1 | -1): void {
    const s = brushSize.value;
    setBrushSize(direction > 0 ? Math.max(s + 1, s * 1.25) : Math.min(s - 1, s / 1.25));
  }

  return {
    width,
    height,
    tool,
    brushSize,
    opacity,
    version,
    painted,
    canUndo,
    canRedo,
    sensitivity,
    detecting,
    isEmpty,
    reset,
    beginStroke,
    strokeTo,
    endStroke,
    clear,
    invert,
    load,
    merge,
    undo,
    redo,
    takeDirty,
    plane,
    snapshot,
    setBrushSize,
    growBrush,
  };
});
