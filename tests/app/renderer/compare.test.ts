// @vitest-environment happy-dom
/**
 * The swipe comparison: the divider is a place on the photo. Zoomed out (the photo smaller than the
 * pane), panned or refitted, it splits the photo where it was put, on screen and in the clip of
 * the result layer; dragging it reads the pointer against the photo.
 */
import { flushPromises, mount } from '@vue/test-utils';
import { createPinia, setActivePinia } from 'pinia';
import { beforeEach, describe, expect, it } from 'vitest';
import CompareView from '../../../renderer/src/components/CompareView.vue';
import { useDocumentStore } from '../../../renderer/src/stores/document';
import { useViewStore } from '../../../renderer/src/stores/view';
import { IMAGE, installFakeApi } from './fake-api';

beforeEach(() => {
  setActivePinia(createPinia());
  installFakeApi();
});

const px = (transform: string | undefined): number => Number(/translateX\(([-\d.]+)px\)/.exec(transform ?? '')![1]);
const clip = (style: string | undefined): number => Number(/inset\(0(?:px)? 0(?:px)? 0(?:px)? ([-\d.]+)px\)/.exec(style ?? '')![1]);

describe('swipe divider', () => {
  it('stays on the same place of the photo when zoomed out, and is dragged against the photo', async () => {
    const doc = useDocumentStore();
    doc.show(IMAGE);
    doc.setResult({
      jobId: 'job00000001',
      image: { width: IMAGE.width, height: IMAGE.height, data: new Uint8ClampedArray(4 * IMAGE.width * IMAGE.height) },
      width: IMAGE.width,
      height: IMAGE.height,
      spec: { task: 'denoise', sigmaY: 0.01 },
      stats: { nfe: 1, vjps: 0, wallMs: 1, onnxMs: 1, approximateVjp: false },
      operator: 'identity',
      provider: 'cpu',
      precision: 'fp32',
    });
    const view = useViewStore();
    view.setViewport(800, 600);
    view.setImage(IMAGE.width, IMAGE.height);
    const wrapper = mount(CompareView);
    await flushPromises();
    const handle = () => wrapper.find('[data-testid="swipe-handle"]');
    const layer = () => wrapper.find('.layer[style*="clip-path"]');
    // Fitted: half the photo, in the middle of the photo (and of the pane).
    expect(view.swipe).toBe(0.5);
    expect(clip(layer().attributes('style'))).toBe(IMAGE.width / 2);
    expect(px(handle().attributes('style'))).toBeCloseTo(view.x + (IMAGE.width / 2) * view.scale, 6);

    // Put it at a quarter of the photo, then zoom far out about the pane's left part.
    view.swipe = 0.25;
    view.zoomAt(1 / 8, 100, 300);
    await flushPromises();
    const photoLeft = view.x;
    const photoWidth = IMAGE.width * view.scale;
    expect(photoWidth).toBeLessThan(800 / 4);
    // The divider still splits the photo at its quarter: part Before, part After.
    expect(px(handle().attributes('style'))).toBeCloseTo(photoLeft + 0.25 * photoWidth, 6);
    expect(clip(layer().attributes('style'))).toBe(IMAGE.width / 4);

    // Dragging reads the pointer against the photo: at its three quarters.
    const root = wrapper.find('.compare-pane').element;
    root.getBoundingClientRect = () => ({ left: 0, top: 0, right: 800, bottom: 600, width: 800, height: 600, x: 0, y: 0, toJSON: () => ({}) });
    await handle().trigger('pointerdown', { pointerId: 3, clientX: 0 });
    await handle().trigger('pointermove', { pointerId: 3, clientX: photoLeft + 0.75 * photoWidth });
    await handle().trigger('pointerup', { pointerId: 3 });
    expect(view.swipe).toBeCloseTo(0.75, 6);
    expect(handle().attributes('aria-valuenow')).toBe('75');
    // Far past the photo: its edge.
    await handle().trigger('pointerdown', { pointerId: 4 });
    await handle().trigger('pointermove', { pointerId: 4, clientX: 790 });
    expect(view.swipe).toBe(1);
    wrapper.unmount();
  });
});
