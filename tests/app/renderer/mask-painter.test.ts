// @vitest-environment happy-dom
/**
 * The mask painter as a person uses it: pointer strokes on the stage (through the zoom/pan
 * transform), the eraser, undo and redo, invert, clear, import, and the exported mask, which must
 * be exactly what the strokes painted; then the other tools: the shift-click line, lasso and
 * polygon fills that add or erase, grow, shrink and feather, each one step that Undo takes back.
 * The plane holds levels: 255 = restore, 0 = keep, soft in between (renderer/src/mask/raster.ts).
 */
import { flushPromises, mount, type VueWrapper } from '@vue/test-utils';
import { createPinia, setActivePinia } from 'pinia';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import MaskPainter from '../../../renderer/src/components/MaskPainter.vue';
import MaskTools from '../../../renderer/src/components/MaskTools.vue';
import { installKeyboard } from '../../../renderer/src/keyboard';
import { useDocumentStore } from '../../../renderer/src/stores/document';
import { useMaskStore } from '../../../renderer/src/stores/mask';
import { TASK_LABELS, useTaskStore } from '../../../renderer/src/stores/task';
import { useViewStore } from '../../../renderer/src/stores/view';
import { type FakeApi, IMAGE, installFakeApi } from './fake-api';

const W = IMAGE.width;
const H = IMAGE.height;
// Screen = pan + scale * image; chosen so image coordinates are easy to reason about.
const PAN = { x: 10, y: 20 };
const SCALE = 2;

type Pt = { x: number; y: number };

/** Exact reference: pixels whose centre is within r of the segment a-b, at 255. */
function capsule(a: Pt, b: Pt, r: number): Uint8Array {
  const m = new Uint8Array(W * H);
  const dx = b.x - a.x;
  const dy = b.y - a.y;
  const len2 = dx * dx + dy * dy;
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const px = x + 0.5;
      const py = y + 0.5;
      const t = len2 ? Math.max(0, Math.min(1, ((px - a.x) * dx + (py - a.y) * dy) / len2)) : 0;
      const d = Math.hypot(px - (a.x + t * dx), py - (a.y + t * dy));
      m[y * W + x] = d <= r ? 255 : 0;
    }
  }
  return m;
}

const diff = (a: Uint8Array, b: Uint8Array): number => a.reduce((n, v, i) => n + (v !== b[i] ? 1 : 0), 0);
const count = (m: Uint8Array): number => m.reduce((n, v) => n + (v ? 1 : 0), 0);
/** Pixels x0 <= x < x1, y0 <= y < y1 at 255. */
function box(x0: number, y0: number, x1: number, y1: number): Uint8Array {
  const m = new Uint8Array(W * H);
  for (let y = y0; y < y1; y++) m.fill(255, y * W + x0, y * W + x1);
  return m;
}

let api: FakeApi;
let wrapper: VueWrapper;

function pointer(type: string, p: Pt, extra: PointerEventInit = {}): void {
  const stage = wrapper.find('[data-testid="stage"]').element;
  stage.dispatchEvent(new PointerEvent(type, { bubbles: true, cancelable: true, pointerId: 1, button: 0, clientX: PAN.x + SCALE * p.x, clientY: PAN.y + SCALE * p.y, ...extra }));
}

function stroke(points: Pt[]): void {
  pointer('pointerdown', points[0]!);
  for (const p of points.slice(1)) pointer('pointermove', p);
  pointer('pointerup', points.at(-1)!);
}

beforeEach(() => {
  setActivePinia(createPinia());
  api = installFakeApi();
  useDocumentStore().show(IMAGE);
  wrapper = mount(MaskPainter);
  const view = useViewStore();
  view.scale = SCALE;
  view.x = PAN.x;
  view.y = PAN.y;
  const mask = useMaskStore();
  mask.setBrushSize(5);
  mask.tool = 'brush';
});

afterEach(() => wrapper.unmount());

describe('mask painter', () => {
  const a = { x: 5.5, y: 5.5 };
  const b = { x: 25.5, y: 5.5 };
  const c = { x: 15.5, y: 2.5 };
  const d = { x: 15.5, y: 12.5 };

  it('paints exactly the brush stroke, in image pixels', () => {
    const mask = useMaskStore();
    expect(mask.isEmpty).toBe(true);
    stroke([a, { x: 15.5, y: 5.5 }, b]);
    const want = capsule(a, b, 2.5);
    expect(diff(mask.plane(), want)).toBe(0);
    expect(mask.painted).toBe(count(want));
    expect(mask.canUndo).toBe(true);
  });

  it('fills the gap between pointer events however fast the stroke', () => {
    stroke([a, b]);
    expect(diff(useMaskStore().plane(), capsule(a, b, 2.5))).toBe(0);
  });

  it('erases with the eraser, and undoes and redoes whole strokes', () => {
    const mask = useMaskStore();
    stroke([a, b]);
    const painted = capsule(a, b, 2.5);
    mask.tool = 'eraser';
    stroke([c, d]);
    const erased = Uint8Array.from(painted, (v, i) => (capsule(c, d, 2.5)[i] ? 0 : v));
    expect(diff(mask.plane(), erased)).toBe(0);
    expect(diff(erased, painted)).toBeGreaterThan(0);

    mask.undo();
    expect(diff(mask.plane(), painted)).toBe(0);
    mask.undo();
    expect(mask.isEmpty).toBe(true);
    expect(mask.canUndo).toBe(false);
    mask.undo(); // nothing left: no change, no error
    expect(mask.isEmpty).toBe(true);
    mask.redo();
    expect(diff(mask.plane(), painted)).toBe(0);
    mask.redo();
    expect(diff(mask.plane(), erased)).toBe(0);
    expect(mask.canRedo).toBe(false);
  });

  it('drops the redo history when a new stroke is painted', () => {
    const mask = useMaskStore();
    stroke([a, b]);
    mask.undo();
    expect(mask.canRedo).toBe(true);
    stroke([c, d]);
    expect(mask.canRedo).toBe(false);
    expect(diff(mask.plane(), capsule(c, d, 2.5))).toBe(0);
  });

  it('inverts, clears, and undoes both', () => {
    const mask = useMaskStore();
    stroke([a, b]);
    const painted = capsule(a, b, 2.5);
    mask.invert();
    expect(diff(mask.plane(), painted)).toBe(W * H);
    mask.clear();
    expect(mask.isEmpty).toBe(true);
    mask.undo();
    expect(diff(mask.plane(), painted)).toBe(W * H);
    mask.undo();
    expect(diff(mask.plane(), painted)).toBe(0);
  });

  it('clips strokes at the image border', () => {
    const mask = useMaskStore();
    mask.setBrushSize(9);
    stroke([
      { x: -3, y: -3 },
      { x: 2, y: 2 },
    ]);
    expect(mask.plane()[0]).toBe(255);
    expect(mask.painted).toBeGreaterThan(0);
    stroke([
      { x: W + 50, y: 5 },
      { x: W + 60, y: 5 },
    ]); // entirely outside: nothing, no error
    expect(mask.canUndo).toBe(true);
  });

  it('pans instead of painting while space is held, and zooms at the pointer', () => {
    const mask = useMaskStore();
    const view = useViewStore();
    view.panKey = true;
    pointer('pointerdown', { x: 5, y: 5 });
    pointer('pointermove', { x: 10, y: 8 });
    pointer('pointerup', { x: 10, y: 8 });
    view.panKey = false;
    expect(mask.isEmpty).toBe(true);
    expect([view.x, view.y]).toEqual([PAN.x + 10, PAN.y + 6]);

    const under = view.toImage(200, 150);
    const stage = wrapper.find('[data-testid="stage"]').element;
    const wheel = new WheelEvent('wheel', { deltaY: -300, clientX: 200, clientY: 150, bubbles: true, cancelable: true });
    // happy-dom's WheelEvent drops the mouse position; a browser's has it.
    Object.defineProperties(wheel, { clientX: { value: 200 }, clientY: { value: 150 } });
    stage.dispatchEvent(wheel);
    expect(view.scale).toBeGreaterThan(SCALE);
    const after = view.toImage(200, 150);
    expect(after.x).toBeCloseTo(under.x, 9);
    expect(after.y).toBeCloseTo(under.y, 9);
  });

  it('changes the brush size with [ and ]', () => {
    const mask = useMaskStore();
    const remove = installKeyboard(window);
    mask.setBrushSize(20);
    window.dispatchEvent(new KeyboardEvent('keydown', { key: ']' }));
    expect(mask.brushSize).toBe(25);
    window.dispatchEvent(new KeyboardEvent('keydown', { key: '[' }));
    window.dispatchEvent(new KeyboardEvent('keydown', { key: '[' }));
    expect(mask.brushSize).toBe(16);
    for (let i = 0; i < 50; i++) window.dispatchEvent(new KeyboardEvent('keydown', { key: '[' }));
    expect(mask.brushSize).toBe(1);
    window.dispatchEvent(new KeyboardEvent('keydown', { key: 'e' }));
    expect(mask.tool).toBe('eraser');
    window.dispatchEvent(new KeyboardEvent('keydown', { key: 'z', ctrlKey: true }));
    remove();
  });

  it('exports exactly the painted mask', async () => {
    stroke([a, b]);
    useMaskStore().tool = 'eraser';
    stroke([c, d]);
    const want = Uint8Array.from(capsule(a, b, 2.5), (v, i) => (capsule(c, d, 2.5)[i] ? 0 : v));
    const tools = mount(MaskTools);
    await tools.find('[data-testid="mask-export"]').trigger('click');
    await flushPromises();
    expect(api.exportMask).toHaveBeenCalledTimes(1);
    const req = api.exportMask.mock.calls[0]![0] as { imageId: string; width: number; height: number; mask: Uint8Array };
    expect([req.imageId, req.width, req.height]).toEqual([IMAGE.id, W, H]);
    expect(req.mask).toBeInstanceOf(Uint8Array);
    expect(diff(req.mask, want)).toBe(0);
    // A copy: painting afterwards does not change what was exported.
    useMaskStore().tool = 'brush';
    stroke([c, d]);
    expect(diff(req.mask, want)).toBe(0);
    tools.unmount();
  });

  it('imports a mask as one undoable step, its grey levels kept', async () => {
    const mask = useMaskStore();
    // A soft edge (a feathered mask exported before) comes back as it was.
    const imported = Uint8Array.from(capsule(c, d, 4), (v, i) => (v ? v : capsule(c, d, 6)[i] ? 100 : 0));
    api.importMask.mockResolvedValueOnce(imported.slice());
    const tools = mount(MaskTools);
    await tools.find('[data-testid="mask-import"]').trigger('click');
    await flushPromises();
    expect(api.importMask).toHaveBeenCalledWith({ width: W, height: H });
    expect(diff(mask.plane(), imported)).toBe(0);
    expect(mask.marked).toBe(count(capsule(c, d, 6)));
    expect(mask.painted).toBe(count(capsule(c, d, 4))); // the soft 100s are not counted as restored
    mask.undo();
    expect(mask.isEmpty).toBe(true);
    tools.unmount();
  });

  it('draws a straight line from the last stroke on shift-click, as one step that Undo takes back', () => {
    const mask = useMaskStore();
    // With no stroke yet, a shift-click is a plain dot.
    const e = { x: 30.5, y: 22.5 };
    pointer('pointerdown', e, { shiftKey: true });
    pointer('pointerup', e, { shiftKey: true });
    expect(diff(mask.plane(), capsule(e, e, 2.5))).toBe(0);
    mask.undo();
    stroke([c, a]); // ends at a
    const before = mask.snapshot();
    pointer('pointerdown', e, { shiftKey: true });
    pointer('pointerup', e, { shiftKey: true });
    const line = capsule(a, e, 2.5);
    expect(
      diff(
        mask.plane(),
        Uint8Array.from(before, (v, i) => v || line[i]!),
      ),
    ).toBe(0);
    expect(count(mask.plane())).toBeGreaterThan(count(before) + 60);
    // The next shift-click goes on from the end of this line, with the eraser too.
    mask.tool = 'eraser';
    pointer('pointerdown', b, { shiftKey: true });
    pointer('pointerup', b, { shiftKey: true });
    const erased = capsule(e, b, 2.5);
    expect(
      diff(
        mask.plane(),
        Uint8Array.from(before, (v, i) => (erased[i] ? 0 : v || line[i]!)),
      ),
    ).toBe(0);
    mask.undo();
    mask.undo();
    expect(diff(mask.plane(), before)).toBe(0);
    // Without shift a press starts a new stroke where it is.
    mask.tool = 'brush';
    stroke([e]);
    expect(
      diff(
        mask.plane(),
        Uint8Array.from(before, (v, i) => v || capsule(e, e, 2.5)[i]!),
      ),
    ).toBe(0);
  });

  it('fills a lasso, adding or erasing, each fill one step that Undo takes back', () => {
    const mask = useMaskStore();
    mask.tool = 'lasso';
    const square = [
      { x: 4, y: 4 },
      { x: 12, y: 4 },
      { x: 20, y: 4 },
      { x: 20, y: 14 },
      { x: 4, y: 14 },
    ];
    stroke(square);
    expect(mask.outline).toEqual([]);
    expect(diff(mask.plane(), box(4, 4, 20, 14))).toBe(0);
    expect(mask.canUndo).toBe(true);
    mask.fillMode = 'erase';
    stroke([
      { x: 8, y: 6 },
      { x: 16, y: 6 },
      { x: 16, y: 10 },
      { x: 8, y: 10 },
    ]);
    const holed = Uint8Array.from(box(4, 4, 20, 14), (v, i) => (box(8, 6, 16, 10)[i] ? 0 : v));
    expect(diff(mask.plane(), holed)).toBe(0);
    mask.undo();
    expect(diff(mask.plane(), box(4, 4, 20, 14))).toBe(0);
    mask.undo();
    expect(mask.isEmpty).toBe(true);
    mask.redo();
    mask.redo();
    expect(diff(mask.plane(), holed)).toBe(0);
  });

  it('fills a polygon closed by a double-click, by Enter or on its first corner, and Escape drops it', () => {
    const mask = useMaskStore();
    const remove = installKeyboard(window);
    const stage = wrapper.find('[data-testid="stage"]').element;
    const click = (p: Pt): void => {
      pointer('pointerdown', p);
      pointer('pointerup', p);
    };
    mask.tool = 'polygon';
    // A double-click on the last corner: two presses there (the second adds nothing), then dblclick.
    for (const p of [
      { x: 2, y: 3 },
      { x: 12, y: 3 },
      { x: 12, y: 9 },
      { x: 2, y: 9 },
    ])
      click(p);
    click({ x: 2, y: 9 });
    expect(mask.outline).toHaveLength(4);
    expect(mask.isEmpty).toBe(true); // nothing filled before it is closed
    stage.dispatchEvent(new MouseEvent('dblclick', { bubbles: true }));
    expect(mask.outline).toEqual([]);
    expect(diff(mask.plane(), box(2, 3, 12, 9))).toBe(0);

    // Enter closes; erasing.
    mask.fillMode = 'erase';
    for (const p of [
      { x: 4, y: 0 },
      { x: 14, y: 0 },
      { x: 14, y: 30 },
    ])
      click(p);
    window.dispatchEvent(new KeyboardEvent('keydown', { key: 'Enter' }));
    const cut = (i: number): boolean => {
      const x = i % W;
      const y = Math.floor(i / W);
      // The triangle (4, 0), (14, 0), (14, 30): a pixel centre is inside where 4 + 10 (yc / 30) <= xc < 14.
      return x + 0.5 >= 4 + (10 * (y + 0.5)) / 30 && x + 0.5 < 14;
    };
    const afterCut = Uint8Array.from(box(2, 3, 12, 9), (v, i) => (cut(i) ? 0 : v));
    expect(diff(mask.plane(), afterCut)).toBe(0);

    // Escape drops the corners without a change or a step, and does not cancel anything else.
    mask.fillMode = 'add';
    click({ x: 20, y: 20 });
    click({ x: 30, y: 20 });
    click({ x: 30, y: 28 });
    window.dispatchEvent(new KeyboardEvent('keydown', { key: 'Escape' }));
    expect(mask.outline).toEqual([]);
    expect(diff(mask.plane(), afterCut)).toBe(0);

    // A click on the first corner (within a few screen pixels) closes it.
    click({ x: 20, y: 20 });
    click({ x: 30, y: 20 });
    click({ x: 30, y: 28 });
    click({ x: 20, y: 28 });
    click({ x: 20.5, y: 20.5 });
    expect(mask.outline).toEqual([]);
    expect(
      diff(
        mask.plane(),
        Uint8Array.from(afterCut, (v, i) => v || box(20, 20, 30, 28)[i]!),
      ),
    ).toBe(0);

    mask.undo();
    expect(diff(mask.plane(), afterCut)).toBe(0);
    mask.undo();
    expect(diff(mask.plane(), box(2, 3, 12, 9))).toBe(0);
    mask.undo();
    expect(mask.isEmpty).toBe(true);
    remove();
  });

  it('grows, shrinks and feathers by the pixels in the field, each one step that Undo takes back', async () => {
    const mask = useMaskStore();
    const tools = mount(MaskTools);
    const button = (id: string) => tools.find(`[data-testid="mask-${id}"]`);
    expect(button('grow').attributes('disabled')).toBeDefined(); // nothing to grow yet
    stroke([a, b]);
    const painted = capsule(a, b, 2.5);
    const field = tools.find<HTMLInputElement>('[data-testid="edge-size"]');
    field.element.value = '2';
    await field.trigger('change');
    expect(mask.edgeSize).toBe(2);

    await button('grow').trigger('click');
    // Every pixel with a painted one within 2 px (the disc dx^2 + dy^2 <= 4).
    const grown = mask.snapshot();
    const near = (i: number): boolean => {
      const x = i % W;
      const y = Math.floor(i / W);
      for (let dy = -2; dy <= 2; dy++) for (let dx = -2; dx <= 2; dx++) if (dx * dx + dy * dy <= 4 && painted[(y + dy) * W + x + dx] && x + dx >= 0 && x + dx < W) return true;
      return false;
    };
    expect(
      diff(
        grown,
        Uint8Array.from(grown, (_, i) => (near(i) ? 255 : 0)),
      ),
    ).toBe(0);
    expect(count(grown)).toBeGreaterThan(count(painted));
    await button('shrink').trigger('click');
    expect(diff(mask.plane(), painted)).toBe(0); // shrink undoes grow on this convex stroke
    await button('shrink').trigger('click');
    const shrunk = mask.snapshot();
    expect(count(shrunk)).toBeLessThan(count(painted));
    for (let i = 0; i < shrunk.length; i++) if (shrunk[i]) expect(painted[i]).toBe(255);

    await flushPromises();
    const share = ((100 * count(shrunk)) / (W * H)).toFixed(1);
    expect(tools.find('[data-testid="mask-summary"]').text()).toBe(`${share}% of the photo will be restored. Detected damage is added to what is painted; Undo removes it.`);
    await button('feather').trigger('click');
    const feathered = mask.snapshot();
    const soft = feathered.filter((v) => v > 0 && v < 255).length;
    expect(soft).toBeGreaterThan(0);
    for (let i = 0; i < shrunk.length; i++) if (shrunk[i]) expect(feathered[i]).toBe(255);
    // The panel counts as restored what the engine will (128 and above), and tells of the soft rest.
    expect(mask.painted).toBe(feathered.filter((v) => v >= 128).length);
    await flushPromises();
    const rest = ((100 * feathered.filter((v) => v > 0 && v < 128).length) / (W * H)).toFixed(1);
    expect(tools.find('[data-testid="mask-summary"]').text()).toContain(`A feathered edge covers ${rest}% more, restored in part.`);
    // What is exported (and sent to a run) carries the soft levels.
    await button('export').trigger('click');
    await flushPromises();
    expect(api.exportMask.mock.calls[0]![0].mask).toEqual(feathered);

    mask.undo();
    expect(diff(mask.plane(), shrunk)).toBe(0);
    mask.undo();
    expect(diff(mask.plane(), painted)).toBe(0);
    mask.undo();
    expect(diff(mask.plane(), grown)).toBe(0);
    mask.undo();
    expect(diff(mask.plane(), painted)).toBe(0);
    mask.undo();
    expect(mask.isEmpty).toBe(true);
    tools.unmount();
  });

  it('shows the lasso and polygon tools, and the fill choice only for them', async () => {
    const mask = useMaskStore();
    const tools = mount(MaskTools);
    expect(tools.find('[data-testid="fill-add"]').exists()).toBe(false);
    await tools.find('[data-testid="tool-polygon"]').trigger('click');
    expect(mask.tool).toBe('polygon');
    await tools.find('[data-testid="fill-erase"]').trigger('click');
    expect(mask.fillMode).toBe('erase');
    await flushPromises();
    expect(wrapper.find('.stage-label').text()).toBe('Polygon: click the corners of the area to erase; double-click or Enter closes, Esc cancels');
    // Switching tools drops a polygon half drawn.
    pointer('pointerdown', a);
    pointer('pointerup', a);
    expect(mask.outline).toHaveLength(1);
    await flushPromises();
    expect(wrapper.find('[data-testid="mask-outline"]').exists()).toBe(true);
    await tools.find('[data-testid="tool-lasso"]').trigger('click');
    expect(mask.outline).toEqual([]);
    expect(wrapper.find('.stage-label').text()).toBe('Lasso: draw round the area to erase, release to fill');
    tools.unmount();
  });

  it('starts over when another photo is opened', () => {
    stroke([a, b]);
    useDocumentStore().show({ ...IMAGE, id: 'img0000000000002', width: 8, height: 6 });
    const mask = useMaskStore();
    expect([mask.width, mask.height, mask.painted, mask.canUndo]).toEqual([8, 6, 0, false]);
  });
});

describe('tasks that work on the whole photo', () => {
  it('do not paint, hide the mask and say that the task works on the whole photo', async () => {
    const a = { x: 5.5, y: 5.5 };
    const b = { x: 25.5, y: 5.5 };
    const task = useTaskStore();
    task.task = 'inpaint';
    await flushPromises();
    stroke([a, b]);
    const mask = useMaskStore();
    const painted = mask.painted;
    expect(painted).toBeGreaterThan(0);
    for (const t of ['sr', 'deblur', 'denoise', 'colorize'] as const) {
      task.task = t;
      await flushPromises();
      stroke([
        { x: 5.5, y: 12.5 },
        { x: 25.5, y: 12.5 },
      ]);
      expect(mask.painted, t).toBe(painted);
      const label = wrapper.find('.stage-label').text();
      expect(label, t).toBe(`${TASK_LABELS[t]} works on the whole photo: no mask to paint`);
      expect(label).not.toContain('paint the area');
      expect(wrapper.find<HTMLCanvasElement>('[data-testid="mask-canvas"]').element.style.display, t).toBe('none');
      expect(wrapper.find('.brush-cursor').exists(), t).toBe(false);
    }
    // Dragging there pans the photo instead.
    const view = useViewStore();
    const x0 = view.x;
    stroke([a, b]);
    expect(view.x).toBe(x0 + SCALE * (b.x - a.x));
    // The painted mask is kept for the tasks that use it.
    task.task = 'old-photo';
    await flushPromises();
    expect(wrapper.find('.stage-label').text()).toBe('Mask: paint the damage to restore');
    expect(wrapper.find<HTMLCanvasElement>('[data-testid="mask-canvas"]').element.style.display).toBe('');
    expect(mask.painted).toBe(painted);
  });
});
