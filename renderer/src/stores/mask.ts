/**
 * The mask being painted (inpainting, an old photo's damage): a byte plane the size of the photo
 * (levels, 255 = restore, 0 = keep, soft in between: mask/raster.ts), the tools, and the history.
 * The plane itself is not reactive (it can be 100 MB); `version` changes after every edit and the
 * canvas redraws only the region that changed. Every operation is one step that Undo takes back:
 * a brush or eraser stroke (a shift-click line included), a lasso or polygon fill, grow, shrink,
 * feather, invert, clear, an import, and detected damage, which is added to what is painted.
 */
import { defineStore } from 'pinia';
import { computed, ref, shallowRef, triggerRef } from 'vue';
import { feather as featherLevels } from '../mask/feather';
import { MaskHistory } from '../mask/history';
import { grow as growLevels, shrink as shrinkLevels } from '../mask/morphology';
import { fillPolygon, polygonBounds } from '../mask/polygon';
import { stampLine } from '../mask/line';
import { changedRect, copyRect, countLevels, EMPTY_RECT, FULL, invertInPlace, pasteRect, type Rect, union } from '../mask/raster';
import { DEFAULT_SENSITIVITY, DEFAULT_SETTINGS } from '../../../common/api';

/** Brush and eraser paint; lasso (free-hand) and polygon (corner by corner) fill a closed outline. */
export type Tool = 'brush' | 'eraser' | 'lasso' | 'polygon';
/** What the lasso and the polygon do to the pixels they enclose, as the brush adds and the eraser erases. */
export type FillMode = 'add' | 'erase';
export type Point = { x: number; y: number };
export const MIN_BRUSH = 1;
export const MAX_BRUSH = 2000;
/** Grow, shrink and feather: by how many pixels (the field's range). */
export const MIN_EDGE = 1;
export const MAX_EDGE = 200;

export const useMaskStore = defineStore('mask', () => {
  const width = ref(0);
  const height = ref(0);
  const tool = ref<Tool>('brush');
  const brushSize = ref(DEFAULT_SETTINGS.brushSize);
  const opacity = ref(0.5);
  const fillMode = ref<FillMode>('add');
  const edgeSize = ref(4);
  const version = ref(0);
  /** Pixels the engine restores (level 128 and above: observed weight below one half). */
  const painted = ref(0);
  /** Pixels marked at all, soft ones included. */
  const marked = ref(0);
  /** The lasso's path or the polygon's corners while they are drawn (image pixels), for the overlay. */
  const outline = shallowRef<Point[]>([]);
  const canUndo = ref(false);
  const canRedo = ref(false);
  /** Damage detection: its sensitivity (0..1) and whether a detection is on its way. */
  const sensitivity = ref(DEFAULT_SENSITIVITY);
  const detecting = ref(false);

  let data = new Uint8Array(0);
  let history = new MaskHistory();
  let dirty: Rect | 'all' = 'all';
  let stroke: { backup: Uint8Array; last: Point; rect: Rect } | undefined;
  /** Where the last brush or eraser stroke ended: a shift-click draws a straight line from there. */
  let lastPoint: Point | undefined;
  /** The lasso being drawn (the polygon has no gesture of its own: each click adds a corner). */
  let lassoing = false;

  const isEmpty = computed(() => marked.value === 0);

  function changed(rect: Rect | 'all' | undefined, recount = true): void {
    if (!rect) return;
    dirty = rect === 'all' || dirty === 'all' ? 'all' : union(dirty, rect);
    if (recount) {
      const counts = countLevels(data);
      painted.value = counts.restored;
      marked.value = counts.marked;
    }
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
    lastPoint = undefined;
    lassoing = false;
    outline.value = [];
    changed('all');
  }

  /** The level the current tool writes: the brush and an adding fill restore, the eraser and an erasing fill keep. */
  const value = (): number => (tool.value === 'brush' || ((tool.value === 'lasso' || tool.value === 'polygon') && fillMode.value === 'add') ? FULL : 0);

  /**
   * Starts a brush or eraser stroke at `p`. With `line` (a shift-click), the stroke starts with a
   * straight line from where the last stroke ended, at the current size; the line and whatever is
   * dragged after it are one step.
   */
  function beginStroke(p: Point, opts: { line?: boolean } = {}): void {
    if (!data.length) return;
    // A copy of the plane at the stroke's start; the history keeps only the rectangle it touched.
    const from = opts.line && lastPoint ? lastPoint : p;
    stroke = { backup: data.slice(), last: p, rect: EMPTY_RECT };
    const r = stampLine(data, width.value, height.value, from, p, brushSize.value / 2, value());
    stroke.rect = r;
    changed(r, false);
  }

  function strokeTo(p: Point): void {
    if (!stroke) return;
    const r = stampLine(data, width.value, height.value, stroke.last, p, brushSize.value / 2, value());
    stroke.last = p;
    stroke.rect = union(stroke.rect, r);
    changed(r, false);
  }

  function endStroke(): void {
    if (!stroke) return;
    const { backup, rect, last } = stroke;
    stroke = undefined;
    lastPoint = last;
    if (rect.w > 0 && rect.h > 0) {
      const before = copyRect(backup, width.value, rect);
      const after = copyRect(data, width.value, rect);
      if (before.some((v, i) => v !== after[i])) history.push({ kind: 'rect', rect, before, after });
    }
    changed(EMPTY_RECT);
  }

  /**
   * Replaces the plane as one undoable step (clear, import, detected damage, grow, shrink,
   * feather); the history keeps the rectangle that changed. Nothing changed, no step.
   */
  function replaceAll(next: Uint8Array): void {
    const rect = changedRect(data, next, width.value, height.value);
    if (rect.w <= 0 || rect.h <= 0) return;
    const before = copyRect(data, width.value, rect);
    const after = copyRect(next, width.value, rect);
    pasteRect(data, width.value, rect, after);
    history.push({ kind: 'rect', rect, before, after });
    changed(rect);
  }

  /** Runs an edit confined to `rect` as one undoable step (a fill). */
  function editInside(rect: Rect, edit: () => void): void {
    if (rect.w <= 0 || rect.h <= 0) return;
    const before = copyRect(data, width.value, rect);
    edit();
    const after = copyRect(data, width.value, rect);
    if (before.some((v, i) => v !== after[i])) history.push({ kind: 'rect', rect, before, after });
    changed(rect);
  }

  /** Fills the closed outline `points` (nonzero winding, mask/polygon.ts) with the fill mode's level. */
  function fillOutline(points: readonly Point[]): void {
    if (!data.length) return;
    const w = width.value;
    const h = height.value;
    editInside(polygonBounds(points, w, h), () => fillPolygon(data, w, h, points, value()));
  }

  /** The lasso: pressed at `p`, dragged along the outline, released to fill it. */
  function beginLasso(p: Point): void {
    if (!data.length) return;
    lassoing = true;
    outline.value = [p];
  }

  function lassoTo(p: Point): void {
    if (!lassoing) return;
    const points = outline.value;
    const last = points.at(-1)!;
    if (last.x === p.x && last.y === p.y) return;
    // In place: a long lasso is thousands of points, not to be copied at every move.
    points.push(p);
    triggerRef(outline);
  }

  function endLasso(): void {
    if (!lassoing) return;
    lassoing = false;
    const points = outline.value;
    outline.value = [];
    fillOutline(points);
  }

  /**
   * The polygon: each click adds a corner. A click within `closeWithin` image pixels of the first
   * corner closes it (so does a double-click, or Enter: closeOutline); one as near the last corner
   * (the second click of a double-click) adds nothing.
   */
  function addCorner(p: Point, closeWithin = 0): void {
    if (!data.length) return;
    const points = outline.value;
    const near = (q: Point): boolean => Math.hypot(q.x - p.x, q.y - p.y) <= closeWithin;
    if (points.length >= 3 && near(points[0]!)) return closeOutline();
    if (points.length && near(points.at(-1)!)) return;
    outline.value = [...points, p];
  }

  /** Closes and fills the polygon being drawn; fewer than three corners enclose nothing. */
  function closeOutline(): void {
    const points = outline.value;
    lassoing = false;
    outline.value = [];
    if (points.length >= 3) fillOutline(points);
  }

  /** Drops the lasso or polygon being drawn (Escape). */
  function cancelOutline(): void {
    lassoing = false;
    outline.value = [];
  }

  /** Grow (n > 0) or shrink (n < 0) by |n| pixels, an exact Euclidean disc (mask/morphology.ts). */
  function growBy(n: number): void {
    if (!data.length || !n) return;
    endStroke();
    const w = width.value;
    const h = height.value;
    replaceAll(n > 0 ? growLevels(data, w, h, n) : shrinkLevels(data, w, h, -n));
  }

  /** A soft edge of n pixels outside what is fully marked (mask/feather.ts). */
  function featherBy(n: number): void {
    if (!data.length || n < 1) return;
    endStroke();
    replaceAll(featherLevels(data, width.value, height.value, n));
  }

  function setEdgeSize(px: number): void {
    if (Number.isFinite(px)) edgeSize.value = Math.round(Math.min(MAX_EDGE, Math.max(MIN_EDGE, px)));
  }

  function clear(): void {
    if (marked.value > 0) replaceAll(new Uint8Array(data.length));
  }

  function invert(): void {
    if (!data.length) return;
    invertInPlace(data);
    history.push({ kind: 'invert' });
    changed('all');
  }

  /** An imported mask, its levels as they are (a feathered edge stays soft). */
  function load(bytes: Uint8Array): void {
    if (bytes.length !== data.length) throw new Error(`the mask has ${bytes.length} pixels, the image ${data.length}`);
    replaceAll(bytes);
  }

  /**
   * Adds marked pixels (detected damage) to the painted ones, as one undoable step; what was
   * painted stays, each pixel keeping the higher of its two levels. Returns how many pixels were
   * added (marked where nothing was).
   */
  function merge(bytes: Uint8Array): number {
    if (bytes.length !== data.length) throw new Error(`the mask has ${bytes.length} pixels, the image ${data.length}`);
    const next = data.slice();
    let added = 0;
    for (let i = 0; i < next.length; i++) {
      if (bytes[i]! > next[i]!) {
        if (!next[i]) added++;
        next[i] = bytes[i]!;
      }
    }
    replaceAll(next);
    return added;
  }

  function undo(): void {
    endStroke();
    cancelOutline();
    changed(history.undo(data, width.value));
  }

  function redo(): void {
    endStroke();
    cancelOutline();
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
    fillMode,
    edgeSize,
    outline,
    brushSize,
    opacity,
    version,
    painted,
    marked,
    canUndo,
    canRedo,
    sensitivity,
    detecting,
    isEmpty,
    reset,
    beginStroke,
    strokeTo,
    endStroke,
    beginLasso,
    lassoTo,
    endLasso,
    addCorner,
    closeOutline,
    cancelOutline,
    growBy,
    featherBy,
    setEdgeSize,
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
