// @vitest-environment happy-dom
/**
 * The batch as the page shows it (renderer/src/stores/batch.ts, components/BatchPanel.vue): the
 * overall time left and share done, Start with the task panel's settings (inpainting refused with
 * its line, nothing sent), and the dialog following main's 'batch' events: each photo's progress,
 * the overall progress, Pause and Resume, Cancel, and the summary of what failed and why.
 */
import { flushPromises, mount } from '@vue/test-utils';
import { createPinia, setActivePinia } from 'pinia';
import { beforeEach, describe, expect, it } from 'vitest';
import type { BatchState } from '../../../common/api';
import App from '../../../renderer/src/App.vue';
import { batchEtaMs, batchFraction, INPAINT_REFUSED, useBatchStore } from '../../../renderer/src/stores/batch';
import { useTaskStore } from '../../../renderer/src/stores/task';
import { EMPTY_BATCH, type FakeApi, installFakeApi } from './fake-api';

let api: FakeApi;
beforeEach(() => {
  setActivePinia(createPinia());
  api = installFakeApi();
});

const files = (...statuses: BatchState['files'][number]['status'][]): BatchState['files'] => statuses.map((status, i) => ({ name: `p${i + 1}.jpg`, status }));
const running = (over: Partial<BatchState> = {}): BatchState => ({ ...EMPTY_BATCH, output: 'restored', phase: 'running', task: 'denoise', ...over });

describe('the batch store', () => {
  it('measures the time left from the photos restored, else from the running one', () => {
    const two = files('done', 'done', 'running', 'pending', 'pending');
    two[0]!.seconds = 2;
    two[1]!.seconds = 4;
    expect(batchEtaMs(running({ files: two, current: { index: 2, step: 5, total: 10, elapsedMs: 1000, etaMs: 1000 } }))).toBe(1000 + 2 * 3000);
    expect(batchFraction(running({ files: two, current: { index: 2, step: 5, total: 10, elapsedMs: 1000, etaMs: 1000 } }))).toBeCloseTo(2.5 / 5);
    const first = files('running', 'pending');
    expect(batchEtaMs(running({ files: first, current: { index: 0, step: 2, total: 8, elapsedMs: 2000, etaMs: 6000 } }))).toBe(6000 + 8000);
    // Not measured yet (the model loading, no step done): unknown, not zero.
    expect(batchEtaMs(running({ files: first, current: { index: 0, step: 0, total: 0, elapsedMs: 0, etaMs: 0 } }))).toBe(-1);
    expect(batchEtaMs({ ...running({ files: first }), phase: 'finished' })).toBe(-1);
  });

  it('starts with the task panel settings as they are then; inpainting is refused with its line', async () => {
    const batch = useBatchStore();
    const task = useTaskStore();
    task.task = 'inpaint';
    await batch.start();
    expect(api.batchStart).not.toHaveBeenCalled();
    expect(batch.message).toBe(INPAINT_REFUSED);
    task.task = 'denoise';
    batch.suffix = '-clean';
    batch.format = 'webp';
    api.batchStart.mockResolvedValueOnce(running({ files: files('running') }));
    await batch.start();
    expect(api.batchStart).toHaveBeenCalledWith({ spec: task.spec, solver: task.solverSpec, suffix: '-clean', format: 'webp', stripGps: false });
    expect(api.batchStart.mock.calls[0]![0].spec.task).toBe('denoise');
    expect(batch.running).toBe(true);
    expect(batch.message).toBe('');
    // A refusal from main is shown as its line.
    api.batchStart.mockRejectedValueOnce(new Error('the output folder photos is the folder of p1.jpg: give a suffix'));
    batch.state = { ...EMPTY_BATCH };
    await batch.start();
    expect(batch.message).toMatch(/give a suffix/);
  });
});

describe('the batch state from main', () => {
  it('keeps the newest state: a reply that arrives after a later event does not bring the batch back to running', async () => {
    const batch = useBatchStore();
    useTaskStore().task = 'denoise';
    let reply!: (s: BatchState) => void;
    api.batchStart.mockReturnValueOnce(new Promise<BatchState>((r) => (reply = r)));
    const started = batch.start();
    // The photos were all skipped: the batch ended before the reply to Start came back.
    batch.handle({ ...EMPTY_BATCH, seq: 9, output: 'restored', phase: 'finished', files: files('skipped', 'skipped') });
    reply(running({ seq: 2, files: files('pending', 'pending') }));
    await started;
    expect(batch.state.phase).toBe('finished');
    expect(batch.running).toBe(false);
  });
});

describe('the Batch dialog', () => {
  it('follows the batch: per-photo and overall progress, Pause and Resume, Cancel, and the summary', async () => {
    api.batchState.mockResolvedValue({ ...EMPTY_BATCH, files: files('pending', 'pending', 'pending'), output: 'restored' });
    const wrapper = mount(App, { attachTo: document.body });
    await flushPromises();
    useTaskStore().task = 'denoise';
    await wrapper.get('[data-testid="batch"]').trigger('click');
    await flushPromises();
    const dialog = () => wrapper.get('[data-testid="batch-dialog"]');
    expect(dialog().get('[data-testid="batch-files"]').text()).toContain('p3.jpg');
    expect(dialog().get('[data-testid="batch-output"]').text()).toBe('restored');
    expect(dialog().get('[data-testid="batch-start"]').attributes('disabled')).toBeUndefined();

    const progress = files('done', 'running', 'pending');
    progress[0]!.seconds = 3;
    api.emit({ kind: 'batch', batch: running({ files: progress, current: { index: 1, step: 2, total: 4, elapsedMs: 1000, etaMs: 1000 } }) });
    await flushPromises();
    expect(dialog().get('[data-testid="batch-files"]').text()).toContain('restored in 3.0 s');
    expect(dialog().get('[data-testid="batch-files"]').text()).toContain('step 2 of 4');
    expect(dialog().get('[data-testid="batch-status"]').text()).toMatch(/^1 of 3 done · about \d+ s left$/);
    expect(dialog().get('[data-testid="batch-progress"]').attributes('aria-valuenow')).toBe('50');
    expect(dialog().find('[data-testid="batch-start"]').exists()).toBe(false);

    // main answers each request with the batch as it is now.
    api.batchPause.mockImplementation(async ({ paused }) => running({ files: progress, paused, current: { index: 1, step: 2, total: 4, elapsedMs: 1000, etaMs: 1000 } }));
    await dialog().get('[data-testid="batch-pause"]').trigger('click');
    expect(api.batchPause).toHaveBeenCalledWith({ paused: true });
    api.emit({ kind: 'batch', batch: running({ files: progress, paused: true, current: { index: 1, step: 3, total: 4, elapsedMs: 1500, etaMs: 500 } }) });
    await flushPromises();
    expect(dialog().get('[data-testid="batch-status"]').text()).toMatch(/Pausing after this photo/);
    await dialog().get('[data-testid="batch-resume"]').trigger('click');
    expect(api.batchPause).toHaveBeenLastCalledWith({ paused: false });
    await flushPromises();
    await dialog().get('[data-testid="batch-cancel"]').trigger('click');
    expect(api.batchCancel).toHaveBeenCalled();

    const end = files('done', 'done', 'failed');
    end[2]!.reason = 'cannot read image p3.jpg: not an image in a known format';
    api.emit({ kind: 'batch', batch: { ...EMPTY_BATCH, output: 'restored', phase: 'finished', files: end } });
    await flushPromises();
    const summary = dialog().get('[data-testid="batch-summary"]').text();
    expect(summary).toContain('2 restored, 0 skipped (already done), 1 failed, of 3 in restored');
    expect(summary).toContain('p3.jpg: cannot read image p3.jpg: not an image in a known format');
    wrapper.unmount();
  });

  it('says why inpainting cannot run as a batch, and Start stays off', async () => {
    api.batchState.mockResolvedValue({ ...EMPTY_BATCH, files: files('pending'), output: 'restored' });
    const wrapper = mount(App, { attachTo: document.body });
    await flushPromises();
    useTaskStore().task = 'inpaint';
    await wrapper.get('[data-testid="batch"]').trigger('click');
    await flushPromises();
    expect(wrapper.get('[data-testid="batch-refusal"]').text()).toBe(INPAINT_REFUSED);
    expect(wrapper.get('[data-testid="batch-start"]').attributes('disabled')).toBeDefined();
    wrapper.unmount();
  });
});
