// @vitest-environment happy-dom
/**
 * Old photos in the page: the Old photo task's fields and the spec they make, damage detection
 * added to the painted mask (one undoable step), estimates filling the fields with marks that go
 * when a value is changed, and a result made the photo being restored, asked about first when it
 * was never exported.
 */
import { flushPromises, mount } from '@vue/test-utils';
import { createPinia, setActivePinia } from 'pinia';
import { beforeEach, describe, expect, it } from 'vitest';
import type { JobEvent, PhotoEstimate } from '../../../common/api';
import App from '../../../renderer/src/App.vue';
import { detectDamage, estimateFromPhoto, exportResult, useResultAsInput } from '../../../renderer/src/commands';
import { useDocumentStore } from '../../../renderer/src/stores/document';
import { useJobStore } from '../../../renderer/src/stores/job';
import { useMaskStore } from '../../../renderer/src/stores/mask';
import { useSessionStore } from '../../../renderer/src/stores/session';
import { useTaskStore } from '../../../renderer/src/stores/task';
import { useViewStore } from '../../../renderer/src/stores/view';
import { type FakeApi, IMAGE, installFakeApi, RESULT_IMAGE } from './fake-api';

let api: FakeApi;
beforeEach(() => {
  setActivePinia(createPinia());
  api = installFakeApi();
});

const N = IMAGE.width * IMAGE.height;

/** A mask with the first `n` pixels marked (255 = restore). */
const marked = (n: number, from = 0): Uint8Array => new Uint8Array(N).fill(255, from, from + n);

/** Runs a job and finishes it with a result. */
async function finishRun(): Promise<string> {
  const job = useJobStore();
  await job.run();
  const jobId = job.jobId!;
  const done: JobEvent = {
    type: 'done',
    jobId,
    width: IMAGE.width,
    height: IMAGE.height,
    image: { width: IMAGE.width, height: IMAGE.height, data: new Uint8ClampedArray(4 * N) },
    stats: { nfe: 1, vjps: 0, wallMs: 900, onnxMs: 1, approximateVjp: false },
    operator: 'identity',
    provider: 'cpu',
    precision: 'fp32',
  };
  job.handle(done);
  return jobId;
}

describe('the Old photo task', () => {
  it('sends its blur, colour and noise, and only what is set', () => {
    const t = useTaskStore();
    t.task = 'old-photo';
    t.noise = 5.1;
    expect(t.spec).toEqual({ task: 'old-photo', sigmaY: 0.02 });
    t.oldBlurStd = 1.4;
    t.colorize = true;
    expect(t.spec).toEqual({ task: 'old-photo', sigmaY: 0.02, kernel: { type: 'gaussian', std: 1.4 }, colorize: true });
    expect([t.needsMask, t.takesMask]).toEqual([false, true]);
    // Deblurring keeps its own blur.
    t.task = 'deblur';
    expect(t.spec.kernel).toEqual({ type: 'gaussian', std: 2 });
  });

  it('remembers its fields through the saved form', () => {
    const t = useTaskStore();
    t.task = 'old-photo';
    t.oldBlurStd = 2.5;
    t.colorize = true;
    const form = JSON.parse(JSON.stringify(t.form));
    expect(form.oldPhoto).toEqual({ blurStd: 2.5, colorize: true });
    setActivePinia(createPinia());
    const u = useTaskStore();
    u.load(form);
    expect(u.spec).toEqual(t.spec);
  });

  it('runs without a mask (no damage), and sends one when something is marked', async () => {
    useDocumentStore().show(IMAGE);
    const t = useTaskStore();
    t.task = 'old-photo';
    const job = useJobStore();
    expect([job.canRun, job.blocker]).toEqual([true, '']);
    await job.run();
    expect(api.run.mock.calls[0]![0]).not.toHaveProperty('mask');
    job.handle({ type: 'failed', jobId: job.jobId!, message: 'x' });
    useMaskStore().merge(marked(5));
    await job.run();
    expect((api.run.mock.calls[1]![0] as { mask: Uint8Array }).mask).toEqual(marked(5));
  });
});

describe('Detect damage', () => {
  it('adds what it finds to the painted mask as one step that Undo takes back', async () => {
    useDocumentStore().show(IMAGE);
    const mask = useMaskStore();
    mask.beginStroke({ x: 2, y: 2 });
    mask.endStroke();
    const painted = mask.snapshot();
    const count = mask.painted;
    mask.sensitivity = 0.8;
    api.detectDamage.mockResolvedValueOnce({ mask: marked(100, 800), fraction: 100 / N });
    useViewStore().mode = 'compare';
    await detectDamage();
    expect(api.detectDamage).toHaveBeenCalledWith({ imageId: IMAGE.id, sensitivity: 0.8 });
    expect(mask.painted).toBe(count + 100); // the stroke is kept: a union
    for (let i = 0; i < N; i++) if (painted[i]) expect(mask.plane()[i]).toBe(255);
    expect(useViewStore().mode).toBe('edit'); // shown for review
    expect(useSessionStore().toasts.at(-1)!.text).toMatch(/^Damage found on 8\.3% of the photo and added to the mask/);
    mask.undo();
    expect(mask.snapshot()).toEqual(painted);
    mask.redo();
    expect(mask.painted).toBe(count + 100);
  });

  it('says so when nothing is found, and reports failures', async () => {
    useDocumentStore().show(IMAGE);
    const mask = useMaskStore();
    await detectDamage();
    expect(mask.isEmpty).toBe(true);
    expect(mask.canUndo).toBe(false); // nothing added, no step
    expect(useSessionStore().toasts.at(-1)!.text).toMatch(/No damage found/);
    api.detectDamage.mockRejectedValueOnce(new Error('cannot detect damage: the photo is gone'));
    await detectDamage();
    expect(useSessionStore().toasts.at(-1)).toMatchObject({ kind: 'error', text: 'cannot detect damage: the photo is gone' });
    expect(mask.detecting).toBe(false);
  });
});

describe('Estimate from photo', () => {
  it('fills the fields of every task that uses them, marked until changed', async () => {
    useDocumentStore().show(IMAGE);
    const t = useTaskStore();
    t.task = 'old-photo';
    api.estimate.mockResolvedValueOnce({ sigmaY: 0.031, blurStd: 1.26, greyscale: true, damaged: 0.02, notes: [] } satisfies PhotoEstimate);
    await estimateFromPhoto();
    expect(api.estimate).toHaveBeenCalledWith({ imageId: IMAGE.id, sensitivity: 0.5 });
    expect([t.noise, t.oldBlurStd, t.blurStd, t.blurKind, t.colorize]).toEqual([7.9, 1.3, 1.3, 'gaussian', true]);
    expect(['noise', 'oldBlurStd', 'blurStd', 'colorize'].map((f) => t.isEstimated(f as 'noise'))).toEqual([true, true, true, true]);
    t.noise = 8;
    expect(t.isEstimated('noise')).toBe(false);
    expect(t.isEstimated('oldBlurStd')).toBe(true);
    // Another photo: the marks were about the last one.
    useDocumentStore().show(RESULT_IMAGE);
    expect(t.isEstimated('oldBlurStd')).toBe(false);
    expect(t.estimate).toBeNull();
  });

  it('sends the painted mask, keeps a sharp photo from deblurring and notes what it could not read', async () => {
    useDocumentStore().show(IMAGE);
    const t = useTaskStore();
    t.task = 'deblur';
    useMaskStore().merge(marked(3));
    api.estimate.mockResolvedValueOnce({ blurStd: 0, greyscale: false, damaged: 3 / N, notes: ['noise: the image (40x30) is too small to estimate its noise level'] });
    await estimateFromPhoto();
    expect((api.estimate.mock.calls[0]![0] as { mask: Uint8Array }).mask).toEqual(marked(3));
    expect([t.blurStd, t.isEstimated('blurStd'), t.oldBlurStd, t.isEstimated('oldBlurStd'), t.noise, t.isEstimated('noise'), t.colorize]).toEqual([2, false, 0, true, 2.5, false, false]);
    expect(useSessionStore().toasts.at(-1)!.text).toBe('Not estimated: noise: the image (40x30) is too small to estimate its noise level');
  });

  it('shows the marks and offers colour for a black-and-white photo', async () => {
    const w = mount(App);
    await flushPromises();
    useDocumentStore().show(IMAGE);
    const t = useTaskStore();
    t.task = 'denoise';
    await flushPromises();
    api.estimate.mockResolvedValueOnce({ sigmaY: 0.02, blurStd: 1, greyscale: true, damaged: 0, notes: [] });
    await w.find('[data-testid="estimate"]').trigger('click');
    await flushPromises();
    expect(w.findAll('.estimated').length).toBe(1); // the noise, in the denoise panel
    expect(w.find('[data-testid="colour-hint"]').text()).toMatch(/black and white/);
    await w.find('[data-testid="restore-colour"]').trigger('click');
    await flushPromises();
    expect([t.task, t.colorize]).toEqual(['old-photo', true]);
    expect(w.find('[data-testid="colorize"]').element).toHaveProperty('checked', true);
    expect(w.find('[data-testid="colour-hint"]').text()).toMatch(/its colours will be restored/);
    expect(w.findAll('.estimated').length).toBe(3); // blur, colour, noise
    // The old photo shows the mask tools, with Detect damage.
    expect(w.find('[data-testid="detect-damage"]').exists()).toBe(true);
    expect(w.find('[data-testid="mask-summary"]').text()).toMatch(/Nothing marked: no damage will be filled in/);
    w.unmount();
  });
});

describe('Use result as input', () => {
  it('makes an exported result the photo being restored without asking', async () => {
    useDocumentStore().show(IMAGE);
    useTaskStore().task = 'denoise';
    const jobId = await finishRun();
    expect(await exportResult()).toBe(true);
    expect(useDocumentStore().result?.saved).toBe(true);
    await useResultAsInput();
    expect(useSessionStore().dialog).toBe('none');
    expect(api.useResult).toHaveBeenCalledWith({ jobId });
    const doc = useDocumentStore();
    expect(doc.image).toEqual(RESULT_IMAGE);
    expect(doc.result).toBeNull();
    expect([useJobStore().status, useJobStore().message]).toEqual(['idle', '']);
    expect(useMaskStore().width).toBe(RESULT_IMAGE.width);
    expect(useSessionStore().toasts.at(-1)!.text).toMatch(/the original file is unchanged/);
  });

  it('asks first about a result that was never exported', async () => {
    useDocumentStore().show(IMAGE);
    useTaskStore().task = 'denoise';
    const session = useSessionStore();
    const doc = useDocumentStore();
    await finishRun();

    // Cancelled: nothing happens.
    let pending = useResultAsInput();
    expect([session.dialog, session.question?.choices.map((c) => c.id)]).toEqual(['confirm', ['export', 'use']]);
    session.reply('cancel');
    await pending;
    expect(api.useResult).not.toHaveBeenCalled();
    expect(doc.image).toEqual(IMAGE);

    // Export first, but the save dialog is cancelled: still nothing.
    api.exportResult.mockResolvedValueOnce(null);
    pending = useResultAsInput();
    session.reply('export');
    await pending;
    expect(api.exportResult).toHaveBeenCalledTimes(1);
    expect(api.useResult).not.toHaveBeenCalled();

    // Export first, saved: then used.
    pending = useResultAsInput();
    session.reply('export');
    await pending;
    expect(api.exportResult).toHaveBeenCalledTimes(2);
    expect(doc.image).toEqual(RESULT_IMAGE);
  });

  it('uses an unexported result when told to, and keeps the result when it fails', async () => {
    const w = mount(App);
    await flushPromises();
    useDocumentStore().show(IMAGE);
    useTaskStore().task = 'denoise';
    await finishRun();
    await flushPromises();
    api.useResult.mockRejectedValueOnce(new Error('cannot use the result: the restoration service stopped'));
    await w.find('[data-testid="use-result"]').trigger('click');
    await flushPromises();
    expect(w.find('[data-testid="confirm-dialog"]').text()).toMatch(/has not been exported/);
    await w.find('[data-testid="confirm-use"]').trigger('click');
    await flushPromises();
    expect(w.find('[data-testid="confirm-dialog"]').exists()).toBe(false);
    expect(useDocumentStore().result).not.toBeNull();
    expect(useSessionStore().toasts.at(-1)).toMatchObject({ kind: 'error', text: 'cannot use the result: the restoration service stopped' });
    // Closing the question (Esc, outside, Cancel) answers no.
    await w.find('[data-testid="use-result"]').trigger('click');
    await flushPromises();
    await w.find('[data-testid="dialog-close"]').trigger('click');
    await flushPromises();
    expect(api.useResult).toHaveBeenCalledTimes(1);
    await w.find('[data-testid="use-result"]').trigger('click');
    await flushPromises();
    await w.find('[data-testid="confirm-use"]').trigger('click');
    await flushPromises();
    expect(w.find('[data-testid="doc-name"]').text()).toContain('photo-restored.png');
    expect(w.find('[data-testid="use-result"]').exists()).toBe(false);
    w.unmount();
  });
});

describe('Opening another photo', () => {
  it('asks before discarding an unexported result or a painted mask, and does nothing when cancelled', async () => {
    const doc = useDocumentStore();
    const session = useSessionStore();
    doc.show(IMAGE);
    useTaskStore().task = 'denoise';
    await finishRun();
    useMaskStore().merge(marked(4));

    let pending = doc.openDialog();
    await flushPromises();
    expect(session.dialog).toBe('confirm');
    expect(session.question!.text).toBe('Opening another photo discards the result, which has not been exported and the painted mask. Cancel to export it first.');
    session.reply('cancel');
    await pending;
    expect(api.openDialog).not.toHaveBeenCalled();
    expect(doc.result).not.toBeNull();
    expect(useMaskStore().isEmpty).toBe(false);

    pending = doc.openDialog();
    await flushPromises();
    session.reply('open');
    await pending;
    expect(api.openDialog).toHaveBeenCalledTimes(1);
    expect(doc.result).toBeNull();
    expect(useMaskStore().isEmpty).toBe(true);
  });

  it('opens without asking when nothing would be lost', async () => {
    const doc = useDocumentStore();
    doc.show(IMAGE);
    await doc.openDialog();
    expect(useSessionStore().dialog).toBe('none');
    expect(api.openDialog).toHaveBeenCalledTimes(1);
  });
});
