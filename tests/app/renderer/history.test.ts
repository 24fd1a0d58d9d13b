// @vitest-environment happy-dom
/**
 * The history of a photo's runs: each finished run is added with its task, settings, seed, time and
 * a thumbnail; a run is shown as the result (read back from main when the page no longer keeps its
 * display copy); deleted (asking when it was never exported); two runs compared as A and B in the
 * compare view; exported and used as input; and the history cleared when another photo is opened.
 */
import { flushPromises, mount } from '@vue/test-utils';
import { createPinia, setActivePinia } from 'pinia';
import { beforeEach, describe, expect, it } from 'vitest';
import type { RgbaImage } from '../../../common/api';
import { useRunAsInput } from '../../../renderer/src/commands';
import CompareView from '../../../renderer/src/components/CompareView.vue';
import HistoryPanel from '../../../renderer/src/components/HistoryPanel.vue';
import { useDocumentStore } from '../../../renderer/src/stores/document';
import { KEEP_IMAGES, useHistoryStore } from '../../../renderer/src/stores/history';
import { useJobStore } from '../../../renderer/src/stores/job';
import { useSessionStore } from '../../../renderer/src/stores/session';
import { useTaskStore } from '../../../renderer/src/stores/task';
import { useViewStore } from '../../../renderer/src/stores/view';
import { thumbnail } from '../../../renderer/src/thumbnail';
import { type FakeApi, IMAGE, installFakeApi, RESULT_IMAGE } from './fake-api';

let api: FakeApi;
beforeEach(() => {
  setActivePinia(createPinia());
  api = installFakeApi();
});

/** A display copy filled with one grey level, so that each run's pixels can be told apart. */
const grey = (level: number, width = IMAGE.width, height = IMAGE.height): RgbaImage => ({ width, height, data: new Uint8ClampedArray(4 * width * height).fill(level) });

/** Runs the denoising task with this seed to its end; returns the job's id. */
async function runWithSeed(seed: number, level: number, wallMs = 1500): Promise<string> {
  const task = useTaskStore();
  task.task = 'denoise';
  task.seed = seed;
  const job = useJobStore();
  await job.run();
  const jobId = job.jobId!;
  job.handle({
    type: 'done',
    jobId,
    image: grey(level),
    width: IMAGE.width,
    height: IMAGE.height,
    stats: { nfe: 10, vjps: 0, wallMs, onnxMs: wallMs / 2, approximateVjp: false },
    operator: 'identity',
    provider: 'cpu',
    precision: 'fp32',
  });
  return jobId;
}

function open(): ReturnType<typeof useHistoryStore> {
  const history = useHistoryStore();
  useDocumentStore().show(IMAGE);
  return history;
}

describe('thumbnail', () => {
  it('averages each box of the source, keeping the aspect ratio', () => {
    // 4x2 source, two columns per thumbnail pixel at side 2: [0,10 | 20,30] over two rows.
    const src: RgbaImage = { width: 4, height: 2, data: new Uint8ClampedArray(4 * 8) };
    const row = [0, 10, 20, 30];
    for (let i = 0; i < 8; i++) src.data.fill(row[i % 4]! + (i >= 4 ? 100 : 0), 4 * i, 4 * i + 4);
    const t = thumbnail(src, 2);
    expect([t.width, t.height]).toEqual([2, 1]);
    // Box (0..1, 0..1): (0 + 10 + 100 + 110) / 4 = 55; box (2..3): (20 + 30 + 120 + 130) / 4 = 75.
    expect(Array.from(t.data)).toEqual([55, 55, 55, 55, 75, 75, 75, 75]);
    // Never enlarged.
    expect(thumbnail(src, 96).width).toBe(4);
    expect(thumbnail(grey(0, 960, 480)).width).toBe(96);
    expect(thumbnail(grey(0, 960, 480)).height).toBe(48);
  });
});

describe('history store', () => {
  it('adds each finished run with its task, settings, seed, time and a thumbnail', async () => {
    const history = open();
    const before = Date.now();
    const first = await runWithSeed(7, 10, 2500);
    expect(history.runs).toHaveLength(1);
    const run = history.runs[0]!;
    expect(run.jobId).toBe(first);
    expect(run.n).toBe(1);
    expect(run.spec.task).toBe('denoise');
    expect(run.solver).toEqual(useTaskStore().solverSpec);
    expect(run.solver?.seed).toBe(7);
    expect(run.stats.wallMs).toBe(2500);
    expect(run.at).toBeGreaterThanOrEqual(before);
    expect([run.thumb.width, run.thumb.height]).toEqual([IMAGE.width, IMAGE.height]);
    expect(run.thumb.data[0]).toBe(10);
    expect(history.selected).toBe(first);

    const second = await runWithSeed(8, 20);
    expect(history.runs.map((r) => [r.n, r.solver?.seed])).toEqual([
      [1, 7],
      [2, 8],
    ]);
    expect(history.selected).toBe(second);
    // Two results never exported are at stake when another photo is opened.
    expect(useDocumentStore().atStake).toContain('2 results, which have not been exported');
  });

  it('shows a run as the result, reading its display copy back when the page no longer keeps it', async () => {
    const history = open();
    const doc = useDocumentStore();
    const first = await runWithSeed(1, 10);
    await runWithSeed(2, 20);
    expect(await history.show(first)).toBe(true);
    expect(doc.result?.jobId).toBe(first);
    expect(doc.result?.image.data[0]).toBe(10);
    expect(doc.result?.solver?.seed).toBe(1);
    expect(useViewStore().mode).toBe('compare');
    expect(api.runImage).not.toHaveBeenCalled();

    // More runs than display copies kept: the first one is read back from main.
    for (let i = 0; i < KEEP_IMAGES; i++) await runWithSeed(10 + i, 100 + i);
    api.runImage.mockResolvedValueOnce(grey(11));
    expect(await history.show(first)).toBe(true);
    expect(api.runImage).toHaveBeenCalledWith({ jobId: first });
    expect(doc.result?.jobId).toBe(first);
    expect(doc.result?.image.data[0]).toBe(11);
    // Shown again: no new entry.
    expect(history.runs).toHaveLength(2 + KEEP_IMAGES);
  });

  it('deletes a run, asking first when it was never exported', async () => {
    const history = open();
    const doc = useDocumentStore();
    const session = useSessionStore();
    const first = await runWithSeed(1, 10);
    const second = await runWithSeed(2, 20);

    // Cancelled: kept.
    let asked = history.remove(second);
    expect(session.question?.text).toContain('Run 2 has not been exported');
    session.reply('cancel');
    expect(await asked).toBe(false);
    expect(history.runs).toHaveLength(2);

    // Confirmed: gone, its file discarded, and the run before it shown instead.
    asked = history.remove(second);
    session.reply('delete');
    expect(await asked).toBe(true);
    expect(history.runs.map((r) => r.jobId)).toEqual([first]);
    expect(api.discardRun).toHaveBeenCalledWith({ jobId: second });
    expect(doc.result?.jobId).toBe(first);

    // Exported: deleted without a question; nothing left to show.
    history.markSaved(first);
    expect(doc.result?.saved).toBe(true);
    expect(await history.remove(first)).toBe(true);
    expect(session.question).toBeNull();
    expect(history.runs).toEqual([]);
    expect(doc.result).toBeNull();
    expect(useViewStore().mode).toBe('edit');
  });

  it('picks two runs as A and B and compares them', async () => {
    const history = open();
    const first = await runWithSeed(1, 10);
    const second = await runWithSeed(2, 20);
    const third = await runWithSeed(3, 30);
    expect(history.canCompare).toBe(false);
    expect(await history.compare()).toBe(false);
    await history.pick('a', first);
    await history.pick('b', third);
    expect([history.a, history.b, history.canCompare]).toEqual([first, third, true]);
    expect(await history.compare()).toBe(true);
    expect(history.comparing).toBe(true);
    expect([history.aImage?.data[0], history.bImage?.data[0]]).toEqual([10, 30]);
    // Another B while comparing: compared at once.
    await history.pick('b', second);
    expect([history.comparing, history.bImage?.data[0]]).toEqual([true, 20]);
    // The same run as A and B is no comparison: it moves to the new slot.
    await history.pick('a', second);
    expect([history.a, history.b, history.canCompare, history.comparing]).toEqual([second, null, false, false]);
    // Showing a run goes back to before and after.
    await history.pick('b', first);
    await history.compare();
    await history.show(third);
    expect(history.comparing).toBe(false);
  });

  it('is cleared, its files discarded, when another photo is opened', async () => {
    const history = open();
    const first = await runWithSeed(1, 10);
    const second = await runWithSeed(2, 20);
    await history.pick('a', first);
    useDocumentStore().show({ ...IMAGE, id: 'img0000000000009' });
    expect([history.runs, history.a, history.selected]).toEqual([[], null, null]);
    expect(api.discardRun).toHaveBeenCalledWith({ jobId: first });
    expect(api.discardRun).toHaveBeenCalledWith({ jobId: second });
    // Numbering starts again for the new photo.
    await runWithSeed(5, 50);
    expect(history.runs.map((r) => r.n)).toEqual([1]);
  });

  it('uses any run as input, asking about the runs that were not exported', async () => {
    const history = open();
    const doc = useDocumentStore();
    const first = await runWithSeed(1, 10);
    await runWithSeed(2, 20);
    history.markSaved(first);
    const using = useRunAsInput(first);
    await flushPromises();
    const session = useSessionStore();
    // The run used was exported, the other was not: the question says the history goes with it.
    expect(session.question?.text).toContain('another run was not exported');
    session.reply('use');
    await using;
    expect(api.useResult).toHaveBeenCalledWith({ jobId: first });
    expect(doc.image?.id).toBe(RESULT_IMAGE.id);
    expect(history.runs).toEqual([]);
  });

  it('exports any run of the history, which is then marked as exported', async () => {
    const history = open();
    const first = await runWithSeed(1, 10);
    const second = await runWithSeed(2, 20);
    const wrapper = mount(HistoryPanel);
    await flushPromises();
    // Newest first; the first run is the last entry.
    const entry = wrapper.findAll('[data-testid="history-run"]')[1]!;
    expect(entry.attributes('data-job')).toBe(first);
    await entry.find('[data-testid="history-export"]').trigger('click');
    await flushPromises();
    expect(api.exportResult).toHaveBeenCalledWith({ jobId: first, format: 'png', quality: 95 });
    expect(history.runs.map((r) => r.saved ?? false)).toEqual([true, false]);
    // The result shown is still the second run, not exported.
    expect(useDocumentStore().result).toMatchObject({ jobId: second });
    expect(useDocumentStore().result?.saved).toBeFalsy();
    wrapper.unmount();
  });
});

describe('history list', () => {
  it('lists each run, shows the one clicked and compares A with B in the compare view', async () => {
    const history = open();
    const first = await runWithSeed(3, 10, 4000);
    const second = await runWithSeed(4, 20);
    const view = useViewStore();
    view.setViewport(800, 600);
    const panel = mount(HistoryPanel);
    const compare = mount(CompareView);
    await flushPromises();
    const entries = () => panel.findAll('[data-testid="history-run"]');
    expect(panel.find('h2').text()).toBe('History (2)');
    expect(entries()).toHaveLength(2);
    expect(entries().map((e) => e.find('[data-testid="history-settings"]').text())).toEqual([expect.stringMatching(/^seed 4 · /), expect.stringMatching(/^seed 3 · /)]);
    expect(entries()[1]!.text()).toContain('Run 1 · Denoise');
    expect(entries()[1]!.text()).toContain('4 s');
    expect(entries()[0]!.classes()).toContain('selected');

    // Click the older run: it is the result shown.
    await entries()[1]!.find('[data-testid="history-show"]').trigger('click');
    await flushPromises();
    expect(history.selected).toBe(first);
    expect(entries()[1]!.classes()).toContain('selected');

    // A and B, then compare: the compare view labels its sides with the runs.
    expect(panel.find('[data-testid="history-compare"]').attributes('disabled')).toBeDefined();
    await entries()[1]!.find('[data-testid="history-a"]').trigger('click');
    await entries()[0]!.find('[data-testid="history-b"]').trigger('click');
    expect(panel.find('[data-testid="history-compare"]').attributes('disabled')).toBeUndefined();
    await panel.find('[data-testid="history-compare"]').trigger('click');
    await flushPromises();
    expect([history.a, history.b, history.comparing]).toEqual([first, second, true]);
    expect(compare.text()).toContain('A: run 1, seed 3');
    expect(compare.text()).toContain('B: run 2, seed 4');
    expect(compare.find('.compare-ab').exists()).toBe(true);
    // Side by side: two panes, A's run and B's run (no original photo).
    view.compareMode = 'side';
    await flushPromises();
    expect(compare.findAll('[data-testid="result-canvas"]')).toHaveLength(2);
    expect(compare.find('img.layer').exists()).toBe(false);
    await panel.find('[data-testid="history-stop-compare"]').trigger('click');
    await flushPromises();
    expect(compare.text()).toContain('Before');
    expect(compare.find('img.layer').exists()).toBe(true);

    // Delete asks for a run never exported.
    await entries()[0]!.find('[data-testid="history-delete"]').trigger('click');
    expect(useSessionStore().question?.title).toBe('Delete this run?');
    useSessionStore().reply('delete');
    await flushPromises();
    expect(entries()).toHaveLength(1);
    expect(panel.find('h2').text()).toBe('History (1)');
    panel.unmount();
    compare.unmount();
  });
});
