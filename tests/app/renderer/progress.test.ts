// @vitest-environment happy-dom
/**
 * Progress as the run panel shows it: the loading message only while the model loads, the time
 * left from the measured time per step (not from the first step, which holds the start), and the
 * live preview on every run, a re-run included.
 */
import { flushPromises, mount } from '@vue/test-utils';
import { createPinia, setActivePinia } from 'pinia';
import { beforeEach, describe, expect, it } from 'vitest';
import type { JobEvent } from '../../../common/api';
import App from '../../../renderer/src/App.vue';
import { useDocumentStore } from '../../../renderer/src/stores/document';
import { useJobStore } from '../../../renderer/src/stores/job';
import { useTaskStore } from '../../../renderer/src/stores/task';
import { useViewStore } from '../../../renderer/src/stores/view';
import { IMAGE, installFakeApi } from './fake-api';

beforeEach(() => {
  setActivePinia(createPinia());
  installFakeApi();
});

/** A job event as the test sends it, for the running job. */
type WithoutId<E> = E extends unknown ? Omit<E, 'jobId'> : never;
type Event = WithoutId<JobEvent>;

const preview = () => ({ width: IMAGE.width, height: IMAGE.height, data: new Uint8ClampedArray(4 * IMAGE.width * IMAGE.height) });
const done = (jobId: string): JobEvent => ({
  type: 'done',
  jobId,
  width: IMAGE.width,
  height: IMAGE.height,
  image: preview(),
  stats: { nfe: 1, vjps: 0, wallMs: 4000, onnxMs: 1, approximateVjp: false },
  operator: 'identity',
  provider: 'cpu',
  precision: 'fp32',
});

async function app() {
  const wrapper = mount(App);
  await flushPromises();
  useDocumentStore().show(IMAGE);
  useTaskStore().task = 'denoise';
  await flushPromises();
  const status = () => wrapper.find('[data-testid="job-status"]').text();
  const send = async (e: Event): Promise<void> => {
    useJobStore().handle({ ...e, jobId: useJobStore().jobId! } as JobEvent);
    await flushPromises();
  };
  return { wrapper, status, send };
}

describe('progress', () => {
  it('says Loading the model only until the model is loaded', async () => {
    const { wrapper, status, send } = await app();
    await useJobStore().run();
    await send({ type: 'queued', position: 0 });
    expect(status()).toBe('Starting…');
    await send({ type: 'started', provider: 'cpu', fallbacks: [], precision: 'fp32' });
    expect(status()).toBe('Computing the first step…');
    wrapper.unmount();
  });

  it('moves per step and measures the time left from the steps after the first', async () => {
    const { wrapper, status, send } = await app();
    await useJobStore().run();
    await send({ type: 'started', provider: 'cpu', fallbacks: [], precision: 'fp32' });
    // 5 noise levels x (2 steps + the closing denoise): 15 steps. The first took 2 s (the start), the next 0.5 s each.
    await send({ type: 'progress', step: 1, total: 15, elapsedMs: 2000, etaMs: 28_000 });
    expect(status()).toBe('Step 1 of 15 · measuring the time left');
    expect(wrapper.find('[data-testid="progress"]').attributes('aria-valuenow')).toBe('7');
    await send({ type: 'progress', step: 2, total: 15, elapsedMs: 2500, etaMs: 16_250 });
    await send({ type: 'progress', step: 3, total: 15, elapsedMs: 3000, etaMs: 12_000 });
    // 12 steps left at 0.5 s: 6 s, not the 12 s that elapsed / step gives.
    expect(useJobStore().etaMs).toBe(6000);
    expect(status()).toBe('Step 3 of 15 · 6 s left');
    expect(wrapper.find('[data-testid="progress"]').attributes('aria-valuenow')).toBe('20');
    wrapper.unmount();
  });

  it('shows the live preview on every run, a re-run after a result included', async () => {
    const { wrapper, send } = await app();
    const job = useJobStore();
    const view = useViewStore();
    await job.run();
    await send({ type: 'progress', step: 2, total: 10, elapsedMs: 100, etaMs: 400, preview: preview() });
    expect(view.mode).toBe('compare');
    await send(done(job.jobId!));
    // Back to the mask to paint more, then run again: its preview is shown too.
    await wrapper.find('[data-testid="mode-edit"]').trigger('click');
    expect(view.mode).toBe('edit');
    await job.run();
    await send({ type: 'progress', step: 2, total: 10, elapsedMs: 100, etaMs: 400, preview: preview() });
    expect(view.mode).toBe('compare');
    expect(wrapper.find('[data-testid="compare"]').text()).toContain('Preview, step 2 of 10');
    // Going back to the mask during the run sticks: later previews do not pull the view away.
    await wrapper.find('[data-testid="mode-edit"]').trigger('click');
    await send({ type: 'progress', step: 4, total: 10, elapsedMs: 200, etaMs: 300, preview: preview() });
    expect(view.mode).toBe('edit');
    wrapper.unmount();
  });
});
