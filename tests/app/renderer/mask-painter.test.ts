// @vitest-environment happy-dom
/**
 * The mask painter as a person uses it: pointer strokes on the stage (through the zoom/pan
 * transform), the eraser, undo and redo, invert, clear, import, and the exported mask, which must
 * be exactly what the strokes painted.
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

/** Exact reference: pixels whose centre is within r of the segment a-b. */
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
      m[y * W + x] = d <= r ? 1 : 0;
    }
  }
  return m;
}

const diff = (a: Uint8Array, b: Uint8Array): number => a.reduce((n, v, i) => n + (v !== b[i] ? 1 : 0), 0);

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
    expect(mask.painted).toBe(want.reduce((n, v) => n + v, 0));
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
    expect(mask.plane()[0]).toBe(1);
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

  it('imports a mask as one undoable step', async () => {
    const mask = useMaskStore();
    const imported = capsule(c, d, 4);
    api.importMask.mockResolvedValueOnce(Uint8Array.from(imported, (v) => v * 255));
    const tools = mount(MaskTools);
    await tools.find('[data-testid="mask-import"]').trigger('click');
    await flushPromises();
    expect(api.importMask).toHaveBeenCalledWith({ width: W, height: H });
    expect(diff(mask.plane(), imported)).toBe(0);
    mask.undo();
    expect(mask.isEmpty).toBe(true);
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
