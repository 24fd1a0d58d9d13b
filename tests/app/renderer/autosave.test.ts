// @vitest-environment happy-dom
/**
 * No lost work, the page's side: what is autosaved and when (a few seconds after the last change,
 * one save per burst, at the latest 20 s into one), cleared once nothing is at stake; the last
 * session offered back (Restore / Discard), restored without asking after a crash, refused in one
 * line when its photo is gone or changed; and the answer to main's close-requested.
 */
import { flushPromises, mount } from '@vue/test-utils';
import { createPinia, setActivePinia } from 'pinia';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { RestoredSession, SessionOffer } from '../../../common/api';
import App from '../../../renderer/src/App.vue';
import { AUTOSAVE_DELAY_MS, AUTOSAVE_MAX_WAIT_MS, CRASH_NOTICE, useAutosaveStore } from '../../../renderer/src/stores/autosave';
import { useDocumentStore } from '../../../renderer/src/stores/document';
import { useJobStore } from '../../../renderer/src/stores/job';
import { useMaskStore } from '../../../renderer/src/stores/mask';
import { useSessionStore } from '../../../renderer/src/stores/session';
import { useTaskStore } from '../../../renderer/src/stores/task';
import { useViewStore } from '../../../renderer/src/stores/view';
import { type FakeApi, IMAGE, installFakeApi } from './fake-api';

let api: FakeApi;
beforeEach(() => {
  setActivePinia(createPinia());
  api = installFakeApi();
});
afterEach(() => vi.useRealTimers());

const STATS = { nfe: 12, vjps: 0, wallMs: 900, onnxMs: 700, approximateVjp: false };
const RESULT = { jobId: 'job0000000000001', width: 40, height: 30, spec: { task: 'inpaint' as const, sigmaY: 0.01 }, stats: STATS, operator: 'mask', provider: 'cpu', precision: 'fp32' as const };

function paint(x: number, y: number): void {
  const mask = useMaskStore();
  mask.beginStroke({ x, y });
  mask.strokeTo({ x: x + 6, y });
  mask.endStroke();
}

/** The page as it starts: a photo open, nothing saved on disk, autosave following changes. */
async function started(): Promise<ReturnType<typeof useAutosaveStore>> {
  vi.useFakeTimers();
  useDocumentStore().show(IMAGE);
  const autosave = useAutosaveStore();
  autosave.start();
  await autosave.begin();
  return autosave;
}

describe('autosave', () => {
  it('saves a few seconds after the last change, once for a burst of strokes', async () => {
    await started();
    paint(5, 5);
    await vi.advanceTimersByTimeAsync(AUTOSAVE_DELAY_MS - 1000);
    paint(5, 12);
    await vi.advanceTimersByTimeAsync(AUTOSAVE_DELAY_MS - 1000);
    expect(api.saveSession).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(1000);
    expect(api.saveSession).toHaveBeenCalledTimes(1);
    const sent = api.saveSession.mock.calls[0]![0];
    expect(sent).toEqual({ imageId: IMAGE.id, task: useTaskStore().form, mask: useMaskStore().snapshot(), running: false });
    expect(sent.mask.filter((v: number) => v === 255).length).toBeGreaterThan(20);
    // Nothing changed since: no more saves.
    await vi.advanceTimersByTimeAsync(60_000);
    expect(api.saveSession).toHaveBeenCalledTimes(1);
  });

  it('saves a burst that goes on at the latest 20 s after it began', async () => {
    await started();
    for (let t = 0; t < AUTOSAVE_MAX_WAIT_MS + 5000; t += 1000) {
      paint(2 + ((t / 1000) % 30), 4);
      await vi.advanceTimersByTimeAsync(1000);
      if (t < AUTOSAVE_MAX_WAIT_MS - 1000) expect(api.saveSession, `at ${t} ms`).not.toHaveBeenCalled();
    }
    expect(api.saveSession).toHaveBeenCalledTimes(1);
  });

  it('saves a changed setting and the result (without its pixels), and clears once nothing is at stake', async () => {
    const autosave = await started();
    const doc = useDocumentStore();
    doc.setResult({ ...RESULT, image: { width: 40, height: 30, data: new Uint8ClampedArray(4800) } });
    useTaskStore().preset = 'best';
    await vi.advanceTimersByTimeAsync(AUTOSAVE_DELAY_MS);
    expect(api.saveSession).toHaveBeenCalledTimes(1);
    expect(api.saveSession.mock.calls[0]![0]).toEqual({ imageId: IMAGE.id, task: expect.objectContaining({ solver: expect.objectContaining({ preset: 'best' }) }), result: RESULT, running: false });
    expect(autosave.savedAt).not.toBeNull();
    // Exported, and no mask: nothing would be lost, so the saved session goes.
    doc.markSaved(RESULT.jobId);
    await vi.advanceTimersByTimeAsync(AUTOSAVE_DELAY_MS);
    expect(api.clearSession).toHaveBeenCalledTimes(1);
    expect(api.saveSession).toHaveBeenCalledTimes(1);
    expect(autosave.savedAt).toBeNull();
  });

  it('saves a running restoration as at stake', async () => {
    await started();
    useTaskStore().task = 'denoise';
    await useJobStore().run();
    await vi.advanceTimersByTimeAsync(AUTOSAVE_DELAY_MS);
    expect(api.saveSession).toHaveBeenCalledTimes(1);
    expect(api.saveSession.mock.calls[0]![0]).toMatchObject({ running: true });
    expect(api.saveSession.mock.calls[0]![0].mask).toBeUndefined();
  });

  it('says once that autosaving fails, not at every save', async () => {
    await started();
    api.saveSession.mockRejectedValue(new Error('disk full'));
    paint(5, 5);
    await vi.advanceTimersByTimeAsync(AUTOSAVE_DELAY_MS);
    paint(5, 15);
    await vi.advanceTimersByTimeAsync(AUTOSAVE_DELAY_MS);
    expect(api.saveSession).toHaveBeenCalledTimes(2);
    expect(useSessionStore().toasts.filter((t) => t.text === 'Autosave failed: disk full')).toHaveLength(1);
  });

  it('does not save before the question about the last session is settled', async () => {
    vi.useFakeTimers();
    useDocumentStore().show(IMAGE);
    useAutosaveStore().start();
    paint(5, 5);
    await vi.advanceTimersByTimeAsync(AUTOSAVE_DELAY_MS * 2);
    expect(api.saveSession).not.toHaveBeenCalled();
  });
});

describe('the last session', () => {
  const OFFER: SessionOffer = { name: 'photo.png', savedAt: Date.UTC(2025, 4, 3, 14, 2), mask: true, result: true, running: false };
  function restored(): RestoredSession {
    const mask = new Uint8Array(IMAGE.width * IMAGE.height);
    mask.fill(255, 40 * 10, 40 * 12);
    mask.fill(128, 40 * 12, 40 * 13);
    return {
      image: { ...IMAGE, id: 'img0000000000009' },
      task: { spec: { task: 'old-photo', sigmaY: 0.03 }, solver: { solver: 'vml-fp', preset: 'fast', seed: 4 }, oldPhoto: { blurStd: 1.5, colorize: true } },
      mask,
      result: { ...RESULT, image: { width: 40, height: 30, data: new Uint8ClampedArray(4800).fill(200) }, saved: false },
      running: false,
      notes: [],
    };
  }

  it('is offered back; Restore reopens the photo, the mask, the settings and the result', async () => {
    api.getSession.mockResolvedValueOnce({ crashed: false, session: OFFER });
    api.restoreSession.mockResolvedValueOnce(restored());
    const autosave = useAutosaveStore();
    autosave.start();
    const begun = autosave.begin();
    await flushPromises();
    const session = useSessionStore();
    expect(session.question?.title).toBe('Restore your last session?');
    expect(session.question?.text).toMatch(/^photo\.png with the painted mask and a result that was not exported, autosaved .*2025/);
    expect(session.question?.choices.map((c) => c.label)).toEqual(['Restore', 'Discard']);
    expect(autosave.active).toBe(false);
    session.reply('restore');
    await begun;
    const doc = useDocumentStore();
    expect(doc.image?.id).toBe('img0000000000009');
    expect(useMaskStore().snapshot()).toEqual(restored().mask);
    expect(useTaskStore()).toMatchObject({ task: 'old-photo', noise: 7.7, oldBlurStd: 1.5, colorize: true, preset: 'fast', seed: 4 });
    expect(doc.result).toMatchObject({ jobId: RESULT.jobId, saved: false });
    expect(doc.result?.image.data[0]).toBe(200);
    expect(useViewStore().mode).toBe('compare');
    expect(session.toasts.map((t) => t.text)).toEqual(['Your last session was restored']);
    expect(api.clearSession).not.toHaveBeenCalled();
    expect(autosave.active).toBe(true);
  });

  it('Discard forgets it; Cancel keeps it on disk', async () => {
    api.getSession.mockResolvedValue({ crashed: false, session: OFFER });
    const autosave = useAutosaveStore();
    let begun = autosave.begin();
    await flushPromises();
    useSessionStore().reply('discard');
    await begun;
    expect(api.clearSession).toHaveBeenCalledTimes(1);
    expect(api.restoreSession).not.toHaveBeenCalled();
    expect(useDocumentStore().image).toBeNull();
    begun = autosave.begin();
    await flushPromises();
    useSessionStore().reply('cancel');
    await begun;
    expect(api.clearSession).toHaveBeenCalledTimes(1);
    expect(api.restoreSession).not.toHaveBeenCalled();
  });

  it('is restored without asking after a crash, with a notice', async () => {
    api.getSession.mockResolvedValueOnce({ crashed: true, session: OFFER });
    api.restoreSession.mockResolvedValueOnce({ ...restored(), result: undefined, running: true, notes: ['The result was not restored: its file has been changed or removed.'] });
    await useAutosaveStore().begin();
    const session = useSessionStore();
    expect(session.question).toBeNull();
    expect(useMaskStore().snapshot()).toEqual(restored().mask);
    expect(useViewStore().mode).toBe('edit');
    expect(session.toasts.map((t) => t.text)).toEqual([
      CRASH_NOTICE,
      'The result was not restored: its file has been changed or removed.',
      'The restoration that was running did not finish; run it again.',
    ]);
  });

  it('whose photo is gone or changed is said in one line, and nothing is restored', async () => {
    api.getSession.mockResolvedValueOnce({ crashed: false, session: { ...OFFER, problem: 'photo.png is no longer at /home/me/photo.png' } });
    await useAutosaveStore().begin();
    const session = useSessionStore();
    expect(session.question).toBeNull();
    expect(session.toasts).toMatchObject([{ kind: 'error', text: 'Your last session was not restored: photo.png is no longer at /home/me/photo.png.' }]);
    expect(api.restoreSession).not.toHaveBeenCalled();
    expect(api.clearSession).toHaveBeenCalledTimes(1);
    expect(useDocumentStore().image).toBeNull();
  });

  it('after a crash with nothing saved, the reload is told', async () => {
    api.getSession.mockResolvedValueOnce({ crashed: true, session: null });
    await useAutosaveStore().begin();
    expect(useSessionStore().toasts.map((t) => t.text)).toEqual(['The window crashed and was reloaded.']);
  });
});

describe('closing the window', () => {
  it('closes at once when nothing is at stake', async () => {
    await started();
    await useAutosaveStore().answerClose();
    expect(useSessionStore().question).toBeNull();
    expect(api.answerClose.mock.calls).toEqual([[{ answer: 'close' }]]);
  });

  it('asks when a mask is painted: Cancel keeps the window, Quit without saving closes it', async () => {
    const autosave = await started();
    paint(5, 5);
    let answered = autosave.answerClose();
    await flushPromises();
    const session = useSessionStore();
    expect(session.question).toMatchObject({ title: 'Quit without saving?', text: 'Quitting now discards the painted mask. Cancel to keep working.' });
    expect(session.question?.choices).toEqual([{ id: 'quit', label: 'Quit without saving' }]);
    session.reply('cancel');
    await answered;
    expect(api.answerClose.mock.calls).toEqual([[{ answer: 'asking' }], [{ answer: 'stay' }]]);
    // Still autosaving.
    await vi.advanceTimersByTimeAsync(AUTOSAVE_DELAY_MS);
    expect(api.saveSession).toHaveBeenCalledTimes(1);

    paint(5, 15);
    answered = autosave.answerClose();
    await flushPromises();
    session.reply('quit');
    await answered;
    expect(api.answerClose.mock.calls.at(-1)).toEqual([{ answer: 'close' }]);
    // A save that was pending is not made after the answer.
    await vi.advanceTimersByTimeAsync(AUTOSAVE_DELAY_MS * 2);
    expect(api.saveSession).toHaveBeenCalledTimes(1);
  });

  it('names an unexported result and a running restoration', async () => {
    await started();
    const doc = useDocumentStore();
    doc.setResult({ ...RESULT, image: { width: 40, height: 30, data: new Uint8ClampedArray(4800) } });
    doc.running = true;
    void useAutosaveStore().answerClose();
    await flushPromises();
    expect(useSessionStore().question?.text).toBe('Quitting now discards the restoration in progress and the result, which has not been exported. Cancel to keep working.');
  });

  it('in the app: close-requested from main shows the question, and Quit without saving answers close', async () => {
    const wrapper = mount(App);
    await flushPromises();
    const doc = useDocumentStore();
    doc.show(IMAGE);
    doc.setResult({ ...RESULT, image: { width: 40, height: 30, data: new Uint8ClampedArray(4800) } });
    api.emit({ kind: 'close-requested' });
    await flushPromises();
    const dialog = wrapper.find('[data-testid="confirm-dialog"]');
    expect(dialog.text()).toContain('Quit without saving?');
    expect(dialog.text()).toContain('the result, which has not been exported');
    await wrapper.find('[data-testid="confirm-quit"]').trigger('click');
    await flushPromises();
    expect(api.answerClose.mock.calls).toEqual([[{ answer: 'asking' }], [{ answer: 'close' }]]);
    wrapper.unmount();
  });
});
