// @vitest-environment happy-dom
/**
 * The Pinia stores: the task form and the specs it produces, the job's life from run to result
 * (events, cancel, failures), the shared view transform, settings saved in batches, shortcuts,
 * and the whole app reacting to events from main.
 */
import { flushPromises, mount } from '@vue/test-utils';
import { createPinia, setActivePinia } from 'pinia';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DEFAULT_SETTINGS, type JobEvent } from '../../../common/api';
import { DEFAULT_SOLVER } from '../../../engine/tasks';
import App from '../../../renderer/src/App.vue';
import { commandFor } from '../../../renderer/src/keyboard';
import { MaskHistory } from '../../../renderer/src/mask/history';
import { useDocumentStore } from '../../../renderer/src/stores/document';
import { formatDuration, useJobStore } from '../../../renderer/src/stores/job';
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

describe('task store', () => {
  it('sends only the fields of the chosen task', () => {
    const t = useTaskStore();
    t.task = 'sr';
    t.scale = 4;
    t.noise = 5.1;
    expect(t.spec).toEqual({ task: 'sr', sigmaY: 0.02, scale: 4, srKernel: 'bicubic' });
    t.task = 'deblur';
    t.blurKind = 'motion';
    t.motionLength = 15;
    t.motionAngle = 45;
    expect(t.spec).toEqual({ task: 'deblur', sigmaY: 0.02, kernel: { type: 'motion', length: 15, angle: 45 } });
    t.task = 'inpaint';
    expect(t.spec).toEqual({ task: 'inpaint', sigmaY: 0.02 });
    expect(t.needsMask).toBe(true);
  });

  it('puts solver overrides in only when set', () => {
    const t = useTaskStore();
    t.preset = 'fast';
    expect(t.solverSpec).toEqual({ solver: DEFAULT_SOLVER, preset: 'fast', seed: 0 });
    t.detail = 0.5;
    expect(t.solverSpec).toEqual({ solver: DEFAULT_SOLVER, preset: 'fast', seed: 0, detail: 0.5 });
    t.steps = 40;
    t.solver = 'diffpir';
    t.seed = 9;
    expect(t.solverSpec).toEqual({ solver: 'diffpir', preset: 'fast', seed: 9, steps: 40 });
  });

  it('round-trips through the remembered form', () => {
    const t = useTaskStore();
    t.task = 'deblur';
    t.blurKind = 'gaussian';
    t.blurStd = 3.5;
    t.scale = 3;
    t.noise = 10;
    const form = structuredClone(JSON.parse(JSON.stringify(t.form)));
    setActivePinia(createPinia());
    const u = useTaskStore();
    u.load(form);
    expect(u.spec).toEqual(t.spec);
    expect(u.scale).toBe(3);
  });
});

describe('job store', () => {
  function ready(): void {
    useDocumentStore().show(IMAGE);
    useTaskStore().task = 'denoise';
  }

  it('runs with a fresh job id and follows its events to the result', async () => {
    ready();
    const job = useJobStore();
    expect(job.canRun).toBe(true);
    await job.run();
    const req = api.run.mock.calls[0]![0] as { jobId: string; imageId: string; spec: unknown; mask?: unknown };
    expect(req.jobId).toMatch(/^[0-9a-f]{32}$/);
    expect(req.imageId).toBe(IMAGE.id);
    expect(req.mask).toBeUndefined();
    expect(job.busy).toBe(true);
    expect(job.canRun).toBe(false);
    const id = req.jobId;
    const send = (e: JobEvent): void => job.handle(e);
    send({ type: 'queued', jobId: id, position: 0 });
    send({ type: 'started', jobId: id, provider: 'webgpu', fallbacks: [], precision: 'fp16' });
    expect([job.provider, job.precision]).toEqual(['webgpu', 'fp16']);
    send({ type: 'progress', jobId: id, step: 3, total: 10, elapsedMs: 300, etaMs: 700, preview: { width: 2, height: 2, data: new Uint8ClampedArray(16) } });
    expect([job.status, job.step, job.total, job.fraction]).toEqual(['running', 3, 10, 0.3]);
    expect(useDocumentStore().preview?.width).toBe(2);
    send({ type: 'progress', jobId: 'someoneelse', step: 9, total: 10, elapsedMs: 0, etaMs: 0 });
    expect(job.step).toBe(3);
    send({
      type: 'done',
      jobId: id,
      width: 40,
      height: 30,
      image: { width: 40, height: 30, data: new Uint8ClampedArray(4800) },
      stats: { nfe: 1, vjps: 1, wallMs: 1500, onnxMs: 1, approximateVjp: false },
      operator: 'identity',
      provider: 'webgpu',
      precision: 'fp16',
    });
    expect(job.status).toBe('done');
    expect(job.busy).toBe(false);
    expect(useDocumentStore().result?.jobId).toBe(id);
    expect(useDocumentStore().preview).toBeNull();
    expect(useViewStore().mode).toBe('compare');
    expect(job.message).toBe('Done in 2 s on webgpu (fp16)');
    expect(useDocumentStore().result?.precision).toBe('fp16');
  });

  it('notes quietly, for the Device dialog, when the model runs in another precision than auto picks', async () => {
    ready();
    const job = useJobStore();
    await job.run();
    const id = (api.run.mock.calls[0]![0] as { jobId: string }).jobId;
    const why = 'the fp16 graphs could not start on webgpu (no adapter): running fp32';
    job.handle({ type: 'started', jobId: id, provider: 'webgpu', fallbacks: [], precision: 'fp32', precisionFallback: why });
    expect(job.precision).toBe('fp32');
    expect(useSessionStore().toasts).toEqual([]);
    expect(useSessionStore().deviceNote).toEqual({ text: 'Running on GPU (WebGPU) in fp32: its fp16 graphs did not start', details: [why] });
  });

  it('needs a painted mask for inpainting and sends a copy of it', async () => {
    useDocumentStore().show(IMAGE);
    const job = useJobStore();
    expect(job.canRun).toBe(false);
    expect(job.blocker).toMatch(/Paint/);
    const mask = useMaskStore();
    mask.beginStroke({ x: 10, y: 10 });
    mask.endStroke();
    expect(job.canRun).toBe(true);
    await job.run();
    const req = api.run.mock.calls[0]![0] as { mask: Uint8Array };
    expect(req.mask).toBeInstanceOf(Uint8Array);
    expect(req.mask).not.toBe(mask.plane());
    expect(req.mask.length).toBe(IMAGE.width * IMAGE.height);
  });

  it('cancels, and reports failures from the run call and from the service', async () => {
    ready();
    const job = useJobStore();
    await job.run();
    const id = job.jobId!;
    await job.cancel();
    expect(api.cancel).toHaveBeenCalledWith({ jobId: id });
    expect(job.cancelling).toBe(true);
    job.handle({ type: 'cancelled', jobId: id });
    expect([job.status, job.busy]).toEqual(['cancelled', false]);

    api.run.mockRejectedValueOnce(new Error('the image is no longer open; open it again'));
    await job.run();
    expect(job.status).toBe('failed');
    expect(useSessionStore().toasts.at(-1)).toMatchObject({ kind: 'error', text: 'the image is no longer open; open it again' });

    await job.run();
    job.handle({ type: 'failed', jobId: job.jobId!, message: 'The restoration service stopped (exit code 139) before the job finished.' });
    expect(job.status).toBe('failed');
    expect(job.message).toMatch(/stopped/);
  });

  it('forgets the last outcome when another photo is opened', async () => {
    ready();
    const job = useJobStore();
    await job.run();
    job.handle({ type: 'failed', jobId: job.jobId!, message: 'out of memory' });
    expect(job.message).toBe('out of memory');
    await useDocumentStore().openDialog();
    await flushPromises();
    expect([job.status, job.message, job.jobId]).toEqual(['idle', '', null]);
  });

  it("resets the run panel's outcome (Done in 8 s) when another photo is opened", async () => {
    const wrapper = mount(App);
    await flushPromises();
    useDocumentStore().show(IMAGE);
    useTaskStore().task = 'denoise';
    const job = useJobStore();
    await job.run();
    job.handle({
      type: 'done',
      jobId: job.jobId!,
      width: 40,
      height: 30,
      image: { width: 40, height: 30, data: new Uint8ClampedArray(4800) },
      stats: { nfe: 1, vjps: 0, wallMs: 8000, onnxMs: 1, approximateVjp: false },
      operator: 'identity',
      provider: 'cpu',
      precision: 'fp32',
    });
    await flushPromises();
    expect(wrapper.find('[data-testid="job-status"]').text()).toBe('Done in 8 s on cpu (fp32)');
    useDocumentStore().markSaved(job.jobId!);
    await wrapper.find('[data-testid="open"]').trigger('click');
    await flushPromises();
    expect(wrapper.find('[data-testid="job-status"]').exists()).toBe(false);
    expect(wrapper.find('.sidebar').text()).not.toContain('Done in');
    wrapper.unmount();
  });

  it('cancels a run of the previous photo when another is opened, asking first, and ignores its late events', async () => {
    ready();
    const job = useJobStore();
    await job.run();
    const old = job.jobId!;
    job.handle({ type: 'progress', jobId: old, step: 2, total: 10, elapsedMs: 2000, etaMs: 8000 });
    const opening = useDocumentStore().openDialog();
    await flushPromises();
    const session = useSessionStore();
    expect(session.question?.text).toContain('the restoration in progress');
    session.reply('open');
    await opening;
    expect(api.cancel).toHaveBeenCalledWith({ jobId: old });
    expect([job.status, job.message, job.jobId, job.busy, job.step]).toEqual(['idle', '', null, false, 0]);
    // The old job's result arrives after all: it is not put over the new photo.
    job.handle({
      type: 'done',
      jobId: old,
      width: 40,
      height: 30,
      image: { width: 40, height: 30, data: new Uint8ClampedArray(4800) },
      stats: { nfe: 1, vjps: 0, wallMs: 8000, onnxMs: 1, approximateVjp: false },
      operator: 'identity',
      provider: 'cpu',
      precision: 'fp32',
    });
    expect([job.status, job.message, useDocumentStore().result]).toEqual(['idle', '', null]);
  });

  it("says in the status bar what the mask restores, in the person's terms", async () => {
    const wrapper = mount(App);
    await flushPromises();
    useDocumentStore().show(IMAGE);
    useTaskStore().task = 'old-photo';
    const job = useJobStore();
    await job.run();
    job.handle({
      type: 'done',
      jobId: job.jobId!,
      width: 40,
      height: 30,
      image: { width: 40, height: 30, data: new Uint8ClampedArray(4800) },
      stats: { nfe: 1, vjps: 0, wallMs: 1000, onnxMs: 1, approximateVjp: false },
      operator: 'luma then mask (88.9% observed)',
      provider: 'cpu',
      precision: 'fp32',
    });
    await flushPromises();
    const bar = wrapper.find('[data-testid="statusbar"]').text();
    expect(bar).toContain('luma then mask: 11.1% to restore · 40×30');
    expect(bar).not.toContain('observed');
    wrapper.unmount();
  });

  it('formats durations for people', () => {
    expect(formatDuration(400)).toBe('0 s');
    expect(formatDuration(59_400)).toBe('59 s');
    expect(formatDuration(61_000)).toBe('1 min 01 s');
    expect(formatDuration(3_725_000)).toBe('1 h 02 min');
  });
});

describe('view store', () => {
  it('fits the photo, zooms about a point and pans', () => {
    const v = useViewStore();
    v.setViewport(1000, 800);
    v.setImage(4000, 3000);
    expect(v.scale).toBeCloseTo((1000 - 24) / 4000);
    expect(v.x).toBe(Math.round((1000 - 4000 * v.scale) / 2));
    const p = v.toImage(300, 200);
    v.zoomAt(3, 300, 200);
    expect(v.toImage(300, 200).x).toBeCloseTo(p.x, 9);
    expect(v.fitted).toBe(false);
    v.zoomTo(100);
    expect(v.scale).toBe(32);
    v.panBy(5, -5);
    v.fit();
    expect(v.fitted).toBe(true);
    v.setImage(100, 50); // Fit fits both ways: a small photo is enlarged to the pane
    expect(v.scale).toBeCloseTo((1000 - 24) / 100);
    expect(v.x).toBe(Math.round((1000 - 100 * v.scale) / 2));
    v.zoomTo(1);
    v.fit();
    expect(v.scale).toBeCloseTo((1000 - 24) / 100);
  });
});

describe('session store', () => {
  it('saves settings in one batch after a burst of changes', async () => {
    vi.useFakeTimers();
    const s = useSessionStore();
    s.patchSettings({ brushSize: 10 });
    s.patchSettings({ brushSize: 11 });
    s.patchSettings({ overlayOpacity: 0.3 });
    expect(s.settings.brushSize).toBe(11);
    expect(api.setSettings).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(500);
    expect(api.setSettings).toHaveBeenCalledTimes(1);
    expect(api.setSettings).toHaveBeenCalledWith({ brushSize: 11, overlayOpacity: 0.3 });
  });

  it('applies the theme to the page', async () => {
    const s = useSessionStore();
    await s.init();
    s.patchSettings({ theme: 'dark' });
    expect(document.documentElement.dataset.theme).toBe('dark');
    s.toggleTheme();
    expect(document.documentElement.dataset.theme).toBe('light');
  });

  it('offers System, Light and Dark, and returns to System after dark', async () => {
    const wrapper = mount(App);
    await flushPromises();
    const select = wrapper.find<HTMLSelectElement>('[data-testid="theme"]');
    expect(select.findAll('option').map((o) => o.text())).toEqual(['System', 'Light', 'Dark']);
    expect(select.element.value).toBe('system');
    await select.setValue('dark');
    expect(document.documentElement.dataset.theme).toBe('dark');
    // Ctrl+Shift+L switches light and dark; System is one choice away.
    window.dispatchEvent(new KeyboardEvent('keydown', { key: 'L', ctrlKey: true, shiftKey: true }));
    await flushPromises();
    expect([useSessionStore().settings.theme, document.documentElement.dataset.theme]).toEqual(['light', 'light']);
    await select.setValue('system');
    const session = useSessionStore();
    expect(session.settings.theme).toBe('system');
    expect(document.documentElement.dataset.theme).toBe(session.dark ? 'dark' : 'light');
    expect(session.dark).toBe(typeof matchMedia === 'function' && matchMedia('(prefers-color-scheme: dark)').matches);
    await session.flushSettings();
    expect(api.setSettings).toHaveBeenLastCalledWith({ theme: 'system' });
    wrapper.unmount();
  });

  it('shows a model problem from main', async () => {
    api.getState.mockResolvedValueOnce({
      settings: structuredClone(DEFAULT_SETTINGS),
      recent: [],
      model: { dir: '/m', name: 'm', description: '', hasVjp: false, sizeMultiple: 1, fixedSize: null, bundled: false, problem: 'model /m: no manifest.json' },
      service: { state: 'starting' },
      platform: 'linux',
      version: '1',
    });
    const s = useSessionStore();
    await s.init();
    expect(s.toasts.at(-1)).toMatchObject({ kind: 'error', text: 'model /m: no manifest.json' });
  });
});

describe('shortcuts', () => {
  const k = (key: string, mods: Partial<KeyboardEvent> = {}) => commandFor({ key, ctrlKey: false, metaKey: false, shiftKey: false, altKey: false, ...mods });
  it('maps keys to commands', () => {
    expect(k('o', { ctrlKey: true })).toBe('open');
    expect(k('O', { metaKey: true })).toBe('open');
    expect(k('z', { ctrlKey: true })).toBe('undo');
    expect(k('Z', { ctrlKey: true, shiftKey: true })).toBe('redo');
    expect(k('y', { ctrlKey: true })).toBe('redo');
    expect(k('Enter', { ctrlKey: true })).toBe('run');
    expect(k('Escape')).toBe('cancel');
    expect(k('2')).toBe('compare-side');
    expect(k('0', { ctrlKey: true })).toBe('zoom-fit');
    expect(k('x')).toBeUndefined();
    expect(k('o', { altKey: true })).toBeUndefined();
  });
});

describe('mask history', () => {
  it('drops the oldest steps beyond its memory budget', () => {
    const h = new MaskHistory(100);
    const rect = { x: 0, y: 0, w: 5, h: 5 };
    for (let i = 0; i < 5; i++) h.push({ kind: 'rect', rect, before: new Uint8Array(25), after: new Uint8Array(25) });
    const m = new Uint8Array(25);
    let undone = 0;
    while (h.undo(m, 5)) undone++;
    expect(undone).toBe(2);
  });
});

describe('dropping photos', () => {
  /** Drops files on the window as the browser does. */
  function drop(wrapper: ReturnType<typeof mount>, files: File[]): void {
    const event = new Event('drop', { bubbles: true, cancelable: true }) as DragEvent;
    Object.defineProperty(event, 'dataTransfer', { value: { files, types: ['Files'] } });
    wrapper.find('.app').element.dispatchEvent(event);
  }
  const png = (name: string): File => new File([new Uint8Array([137, 80, 78, 71])], name, { type: 'image/png' });

  it('opens the first of several, and says how many came and that one is opened at a time', async () => {
    const wrapper = mount(App);
    await flushPromises();
    drop(wrapper, [png('first.png'), new File(['x'], 'notes.txt', { type: 'text/plain' }), png('second.png'), png('third.png')]);
    await flushPromises();
    expect(api.openFile).toHaveBeenCalledTimes(1);
    expect((api.openFile.mock.calls[0]![0] as File).name).toBe('first.png');
    const toast = useSessionStore().toasts.at(-1)!;
    expect(toast.text).toBe('3 photos were dropped; first.png is open. The app restores one photo at a time: open the others one by one when this one is done.');
    expect(wrapper.findAll('[data-testid="toast"]').at(-1)!.text()).toContain('3 photos were dropped');
    wrapper.unmount();
  });

  it('says nothing more for one photo, nor when opening was cancelled', async () => {
    const wrapper = mount(App);
    await flushPromises();
    drop(wrapper, [png('only.png')]);
    await flushPromises();
    expect(api.openFile).toHaveBeenCalledTimes(1);
    expect(useSessionStore().toasts).toEqual([]);
    // A painted mask: opening asks, and Cancel opens nothing.
    useMaskStore().beginStroke({ x: 5, y: 5 });
    useMaskStore().endStroke();
    drop(wrapper, [png('a.png'), png('b.png')]);
    await flushPromises();
    useSessionStore().reply('cancel');
    await flushPromises();
    expect(api.openFile).toHaveBeenCalledTimes(1);
    expect(useSessionStore().toasts).toEqual([]);
    wrapper.unmount();
  });
});

describe('app', () => {
  it('opens from the menu, runs from a shortcut and shows events from main', async () => {
    const wrapper = mount(App);
    await flushPromises();
    expect(wrapper.find('[data-testid="empty"]').exists()).toBe(true);
    api.emit({ kind: 'command', command: 'open' });
    await flushPromises();
    expect(api.openDialog).toHaveBeenCalled();
    expect(wrapper.find('[data-testid="doc-name"]').text()).toContain('photo.png');
    expect(wrapper.find('[data-testid="mask-canvas"]').exists()).toBe(true);

    await wrapper.find('[data-testid="task-denoise"]').trigger('click');
    window.dispatchEvent(new KeyboardEvent('keydown', { key: 'Enter', ctrlKey: true }));
    await flushPromises();
    expect(api.run).toHaveBeenCalledTimes(1);
    const jobId = (api.run.mock.calls[0]![0] as { jobId: string }).jobId;
    api.emit({ kind: 'job', event: { type: 'progress', jobId, step: 2, total: 8, elapsedMs: 200, etaMs: 600, preview: { width: 40, height: 30, data: new Uint8ClampedArray(4800) } } });
    await flushPromises();
    expect(wrapper.find('[data-testid="progress"]').attributes('aria-valuenow')).toBe('25');
    expect(wrapper.find('[data-testid="job-status"]').text()).toBe('Step 2 of 8 · measuring the time left');
    expect(wrapper.find('[data-testid="compare"]').exists()).toBe(true); // the live preview is shown

    await wrapper.find('[data-testid="cancel"]').trigger('click');
    expect(api.cancel).toHaveBeenCalledWith({ jobId });
    api.emit({ kind: 'job', event: { type: 'cancelled', jobId } });
    await flushPromises();
    expect(wrapper.find('[data-testid="run"]').exists()).toBe(true);
    expect(wrapper.find('[data-testid="job-status"]').text()).toBe('Cancelled');

    api.emit({ kind: 'service', state: 'restarting', message: 'The restoration service stopped; restarting.' });
    await flushPromises();
    expect(wrapper.find('[data-testid="statusbar"]').text()).toContain('restarting');
    api.emit({ kind: 'error', message: 'cannot open x.png: not an image' });
    await flushPromises();
    expect(wrapper.findAll('[data-testid="toast"]').at(-1)!.text()).toContain('not an image');
    wrapper.unmount();
  });
});
