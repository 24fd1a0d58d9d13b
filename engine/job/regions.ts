/**
 * Inpainting by region (docs/TILING.md): the masked pixels are grouped into connected regions
 * (8-connectivity), and only windows around them are solved; every other pixel is copied from the
 * input bit for bit.
 *
 * - A compact region (a blemish, a blot) is solved in ONE window: its bounding box plus `context`
 *   pixels on each side. Overlapping windows are merged when that costs no more than solving both.
 * - A long thin region (a scratch) would have a bounding box as large as the photo, so it is covered
 *   instead by the cells of a global grid (side `cell`): each cell that has such pixels within its
 *   kept area (the cell plus `overlap`/2 on each side) is solved in a window around those pixels'
 *   bounding box, grown by `context` plus the largest distance from them to an observed pixel (so a
 *   cell inside a wide hole still sees the hole's edge), and the cells' results are cross-faded
 *   with the same partition of unity as the tiles (plan.ts).
 * Per region the cheaper of the two is taken (counted in solved pixels). The cost is then in
 * proportion to the length and width of the scratches, not to the photo.
 */
import type { AxisTile, Interval } from './tiles.js';

export interface Rect {
  y0: number;
  y1: number;
  x0: number;
  x1: number;
}

export const rectArea = (r: Rect): number => (r.y1 - r.y0) * (r.x1 - r.x0);

function grow(r: Rect, by: number, h: number, w: number): Rect {
  return { y0: Math.max(0, r.y0 - by), y1: Math.min(h, r.y1 + by), x0: Math.max(0, r.x0 - by), x1: Math.min(w, r.x1 + by) };
}

const union = (a: Rect, b: Rect): Rect => ({ y0: Math.min(a.y0, b.y0), y1: Math.max(a.y1, b.y1), x0: Math.min(a.x0, b.x0), x1: Math.max(a.x1, b.x1) });
const intersects = (a: Rect, b: Rect): boolean => a.y0 < b.y1 && b.y0 < a.y1 && a.x0 < b.x1 && b.x0 < a.x1;

/** Horizontal runs of masked pixels, by row, with their connected component. */
export interface Runs {
  count: number;
  y: Int32Array;
  x0: Int32Array;
  /** Exclusive end. */
  x1: Int32Array;
  comp: Int32Array;
  /** Runs of row y are rowStart[y] .. rowStart[y + 1] - 1. */
  rowStart: Int32Array;
  components: number;
}

/** Runs of `masked(p)` pixels and their 8-connected components (union-find over runs). */
export function maskRuns(h: number, w: number, masked: (p: number) => boolean): Runs {
  let cap = 1024;
  let y: Int32Array<ArrayBuffer> = new Int32Array(cap);
  let x0: Int32Array<ArrayBuffer> = new Int32Array(cap);
  let x1: Int32Array<ArrayBuffer> = new Int32Array(cap);
  let n = 0;
  const rowStart = new Int32Array(h + 1);
  for (let i = 0; i < h; i++) {
    rowStart[i] = n;
    const base = i * w;
    let j = 0;
    while (j < w) {
      if (!masked(base + j)) {
        j++;
        continue;
      }
      const s = j;
      while (j < w && masked(base + j)) j++;
      if (n === cap) {
        cap *= 2;
        const grown = (a: Int32Array<ArrayBuffer>): Int32Array<ArrayBuffer> => {
          const b = new Int32Array(cap);
          b.set(a);
          return b;
        };
        y = grown(y);
        x0 = grown(x0);
        x1 = grown(x1);
      }
      y[n] = i;
      x0[n] = s;
      x1[n] = j;
      n++;
    }
  }
  rowStart[h] = n;
  const parent = new Int32Array(n);
  for (let r = 0; r < n; r++) parent[r] = r;
  const find = (a: number): number => {
    while (parent[a] !== a) {
      parent[a] = parent[parent[a]];
      a = parent[a];
    }
    return a;
  };
  for (let i = 1; i < h; i++) {
    let q = rowStart[i - 1];
    const qEnd = rowStart[i];
    for (let r = rowStart[i]; r < rowStart[i + 1]; r++) {
      // 8-connectivity: the runs' column ranges overlap or touch diagonally.
      while (q < qEnd && x1[q] < x0[r]) q++;
      for (let k = q; k < qEnd && x0[k] <= x1[r]; k++) {
        const a = find(r);
        const b = find(k);
        if (a !== b) parent[Math.max(a, b)] = Math.min(a, b);
      }
    }
  }
  const comp = new Int32Array(n);
  const ids = new Int32Array(n).fill(-1);
  let components = 0;
  for (let r = 0; r < n; r++) {
    const root = find(r);
    if (ids[root] < 0) ids[root] = components++;
    comp[r] = ids[root];
  }
  return { count: n, y: y.subarray(0, n), x0: x0.subarray(0, n), x1: x1.subarray(0, n), comp, rowStart, components };
}

/**
 * Chessboard distance from each masked pixel to the nearest observed one (0 on observed pixels;
 * the outside of the image counts as unobserved), capped at 65535.
 */
export function holeDistance(h: number, w: number, runs: Runs): Uint16Array {
  const d = new Uint16Array(h * w);
  const INF = 65535;
  for (let r = 0; r < runs.count; r++) d.fill(INF, runs.y[r] * w + runs.x0[r], runs.y[r] * w + runs.x1[r]);
  const at = (i: number, j: number): number => (i < 0 || i >= h || j < 0 || j >= w ? INF : d[i * w + j]);
  for (let r = 0; r < runs.count; r++) {
    const i = runs.y[r];
    for (let j = runs.x0[r]; j < runs.x1[r]; j++) {
      const v = Math.min(at(i, j - 1), at(i - 1, j - 1), at(i - 1, j), at(i - 1, j + 1)) + 1;
      if (v < d[i * w + j]) d[i * w + j] = Math.min(v, INF);
    }
  }
  for (let r = runs.count - 1; r >= 0; r--) {
    const i = runs.y[r];
    for (let j = runs.x1[r] - 1; j >= runs.x0[r]; j--) {
      const v = Math.min(at(i, j + 1), at(i + 1, j + 1), at(i + 1, j), at(i + 1, j - 1)) + 1;
      if (v < d[i * w + j]) d[i * w + j] = Math.min(v, INF);
    }
  }
  return d;
}

export interface RegionOptions {
  /** Observed pixels around a region that its window includes. */
  context: number;
  /** Side of the grid cells that cover long regions. */
  cell: number;
  /** Cross-fade width between cells (even). */
  overlap: number;
  /** Largest window, in pixels (from the memory preflight). */
  maxPixels: number;
}

/** A window solved on its own; its result is pasted on the masked pixels of `components`. */
export interface SingleWindow {
  kind: 'single';
  window: Rect;
  components: number[];
}

/** A grid cell: its result is cross-faded over the cell-mode masked pixels of its kept area. */
export interface CellWindow {
  kind: 'cell';
  window: Rect;
  rows: AxisTile;
  cols: AxisTile;
}

export type RegionWindow = SingleWindow | CellWindow;

export interface RegionPlan {
  windows: RegionWindow[];
  runs: Runs;
  /** Per component: solved in a single window (true) or by cells (false). */
  single: Uint8Array;
  /** Masked pixels, and the pixels of all windows together (counting overlaps twice). */
  maskedPixels: number;
  solvedPixels: number;
}

/** Cuts [0, L) into cores [i K, (i + 1) K) (the last one absorbing a remainder shorter than O). */
export function uniformAxis(L: number, K: number, overlap: number): AxisTile[] {
  const cuts: number[] = [];
  for (let b = 0; b < L; b += K) cuts.push(b);
  if (cuts.length > 1 && L - cuts[cuts.length - 1] < Math.max(overlap, 1)) cuts.pop();
  cuts.push(L);
  const n = cuts.length - 1;
  const half = overlap / 2;
  const tiles: AxisTile[] = [];
  for (let i = 0; i < n; i++) {
    const core: Interval = { start: cuts[i], end: cuts[i + 1] };
    const kept: Interval = { start: i > 0 ? core.start - half : 0, end: i < n - 1 ? core.end + half : L };
    const weights = new Float64Array(kept.end - kept.start);
    for (let p = kept.start; p < kept.end; p++) {
      let wgt = 1;
      if (i > 0 && p < core.start + half) wgt = ramp(p, core.start, overlap);
      else if (i < n - 1 && p >= core.end - half) wgt = 1 - ramp(p, core.end, overlap);
      weights[p - kept.start] = wgt;
    }
    tiles.push({ core, kept, window: kept, weights });
  }
  return tiles;
}

function ramp(p: number, cut: number, overlap: number): number {
  const s = Math.sin((Math.PI / 2) * ((p - (cut - overlap / 2) + 0.5) / overlap));
  return s * s;
}

/** Which cells' kept intervals contain position p (at most two: overlap <= cell). */
function cellsAt(p: number, axis: AxisTile[], K: number): number[] {
  const i = Math.min(axis.length - 1, Math.floor(p / K));
  const out: number[] = [];
  for (const k of [i - 1, i, i + 1]) if (k >= 0 && k < axis.length && p >= axis[k].kept.start && p < axis[k].kept.end) out.push(k);
  return out;
}

interface CellAcc {
  r: number;
  c: number;
  box: Rect;
  depth: number;
}

/** Visits every (cell, masked-run piece) pair of the runs for which `use(run)` holds. */
function forCells(runs: Runs, rowsAxis: AxisTile[], colsAxis: AxisTile[], K: number, use: (r: number) => boolean, visit: (ci: number, cj: number, run: number, a: number, b: number) => void): void {
  for (let r = 0; r < runs.count; r++) {
    if (!use(r)) continue;
    const y = runs.y[r];
    for (const ci of cellsAt(y, rowsAxis, K)) {
      // The column cells whose kept intervals meet [x0, x1).
      const first = Math.max(0, Math.floor(runs.x0[r] / K) - 1);
      const last = Math.min(colsAxis.length - 1, Math.floor((runs.x1[r] - 1) / K) + 1);
      for (let cj = first; cj <= last; cj++) {
        const a = Math.max(runs.x0[r], colsAxis[cj].kept.start);
        const b = Math.min(runs.x1[r], colsAxis[cj].kept.end);
        if (a < b) visit(ci, cj, r, a, b);
      }
    }
  }
}

function maxDepth(dist: Uint16Array, w: number, y: number, a: number, b: number): number {
  let m = 0;
  for (let j = a; j < b; j++) if (dist[y * w + j] > m) m = dist[y * w + j];
  return m;
}

/**
 * Plans the windows for a restore-form mask test `masked(p)` on an h x w image.
 */
export function planRegions(h: number, w: number, masked: (p: number) => boolean, o: RegionOptions): RegionPlan {
  const runs = maskRuns(h, w, masked);
  const dist = holeDistance(h, w, runs);
  const K = o.cell;
  const rowsAxis = uniformAxis(h, K, o.overlap);
  const colsAxis = uniformAxis(w, K, o.overlap);
  const nc = runs.components;
  const bbox: Rect[] = Array.from({ length: nc }, () => ({ y0: h, y1: 0, x0: w, x1: 0 }));
  const depth = new Int32Array(nc);
  let maskedPixels = 0;
  for (let r = 0; r < runs.count; r++) {
    const b = bbox[runs.comp[r]];
    const y = runs.y[r];
    b.y0 = Math.min(b.y0, y);
    b.y1 = Math.max(b.y1, y + 1);
    b.x0 = Math.min(b.x0, runs.x0[r]);
    b.x1 = Math.max(b.x1, runs.x1[r]);
    depth[runs.comp[r]] = Math.max(depth[runs.comp[r]], maxDepth(dist, w, y, runs.x0[r], runs.x1[r]));
    maskedPixels += runs.x1[r] - runs.x0[r];
  }
  // Cost of covering each component by cells on its own: sum over its cells of the window area.
  const cellCost = new Float64Array(nc);
  {
    const perComp = new Map<number, CellAcc>();
    forCells(
      runs,
      rowsAxis,
      colsAxis,
      K,
      () => true,
      (ci, cj, r, a, b) => {
        const comp = runs.comp[r];
        const key = (comp * rowsAxis.length + ci) * colsAxis.length + cj;
        const y = runs.y[r];
        const acc = perComp.get(key);
        const d = maxDepth(dist, w, y, a, b);
        if (!acc) perComp.set(key, { r: ci, c: cj, box: { y0: y, y1: y + 1, x0: a, x1: b }, depth: d });
        else {
          acc.box = union(acc.box, { y0: y, y1: y + 1, x0: a, x1: b });
          acc.depth = Math.max(acc.depth, d);
        }
      },
    );
    for (const [key, acc] of perComp) {
      const comp = Math.floor(key / (rowsAxis.length * colsAxis.length));
      cellCost[comp] += rectArea(grow(acc.box, o.context + acc.depth, h, w));
    }
  }
  const single = new Uint8Array(nc);
  const singles: SingleWindow[] = [];
  for (let k = 0; k < nc; k++) {
    const win = grow(bbox[k], o.context, h, w);
    const area = rectArea(win);
    if (area <= o.maxPixels && area <= cellCost[k]) {
      single[k] = 1;
      singles.push({ kind: 'single', window: win, components: [k] });
    }
  }
  const merged = mergeWindows(singles, o.maxPixels);
  // The cells that hold cell-mode pixels in their kept areas, with those pixels' box and depth.
  const cells = new Map<number, CellAcc>();
  forCells(
    runs,
    rowsAxis,
    colsAxis,
    K,
    (r) => single[runs.comp[r]] === 0,
    (ci, cj, r, a, b) => {
      const key = ci * colsAxis.length + cj;
      const y = runs.y[r];
      const d = maxDepth(dist, w, y, a, b);
      const acc = cells.get(key);
      if (!acc) cells.set(key, { r: ci, c: cj, box: { y0: y, y1: y + 1, x0: a, x1: b }, depth: d });
      else {
        acc.box = union(acc.box, { y0: y, y1: y + 1, x0: a, x1: b });
        acc.depth = Math.max(acc.depth, d);
      }
    },
  );
  const cellWindows: CellWindow[] = [];
  for (const key of [...cells.keys()].sort((a, b) => a - b)) {
    const acc = cells.get(key)!;
    let margin = o.context + acc.depth;
    let win = grow(acc.box, margin, h, w);
    // Wide holes: shrink the context until the window fits the memory budget.
    while (rectArea(win) > o.maxPixels && margin > 0) {
      margin = Math.max(0, Math.floor(margin * 0.8));
      win = grow(acc.box, margin, h, w);
    }
    cellWindows.push({ kind: 'cell', window: win, rows: rowsAxis[acc.r], cols: colsAxis[acc.c] });
  }
  const windows: RegionWindow[] = [...merged, ...cellWindows];
  const solvedPixels = windows.reduce((s, win) => s + rectArea(win.window), 0);
  return { windows, runs, single, maskedPixels, solvedPixels };
}

/** Merges intersecting windows while the merged window costs no more than the two apart. */
function mergeWindows(list: SingleWindow[], maxPixels: number): SingleWindow[] {
  let items = list.map((s) => ({ ...s, components: [...s.components] }));
  // Sweep by top edge; quadratic only among windows whose rows overlap.
  for (let changed = true; changed;) {
    changed = false;
    items.sort((a, b) => a.window.y0 - b.window.y0);
    const alive = new Array<boolean>(items.length).fill(true);
    for (let i = 0; i < items.length; i++) {
      if (!alive[i]) continue;
      for (let j = i + 1; j < items.length && items[j].window.y0 < items[i].window.y1; j++) {
        if (!alive[j] || !intersects(items[i].window, items[j].window)) continue;
        const u = union(items[i].window, items[j].window);
        const area = rectArea(u);
        if (area <= maxPixels && area <= rectArea(items[i].window) + rectArea(items[j].window)) {
          items[i] = { kind: 'single', window: u, components: [...items[i].components, ...items[j].components] };
          alive[j] = false;
          changed = true;
        }
      }
    }
    items = items.filter((_, k) => alive[k]);
  }
  return items;
}
