// @vitest-environment happy-dom
/**
 * Where the model runs, told in words: with Automatic, a GPU that does not start is normal and
 * raises no notice (the Device dialog has one quiet line); a provider the person chose that fails
 * is told once; onnxruntime's error text is only ever under Details.
 */
import { flushPromises, mount } from '@vue/test-utils';
import { createPinia, setActivePinia } from 'pinia';
import { beforeEach, describe, expect, it } from 'vitest';
import type { ProviderChoice } from '../../../common/api';
import App from '../../../renderer/src/App.vue';
import { useDocumentStore } from '../../../renderer/src/stores/document';
import { useJobStore } from '../../../renderer/src/stores/job';
import { useSessionStore } from '../../../renderer/src/stores/session';
import { useTaskStore } from '../../../renderer/src/stores/task';
import { BUNDLED_MODEL, type FakeApi, IMAGE, installFakeApi } from './fake-api';

/** onnxruntime's words when the CUDA provider's libraries are missing. */
const RAW =
  '/onnxruntime/onnxruntime/core/session/provider_bridge_ort.cc:1539 onnxruntime::Provider& onnxruntime::ProviderLibrary::Get() [ONNXRuntimeError] : 1 : FAIL : Failed to load library libonnxruntime_providers_cuda.so with error: libcublasLt.so.12: cannot open shared object file: No such file or directory';

let api: FakeApi;
beforeEach(() => {
  setActivePinia(createPinia());
  api = installFakeApi();
});

/** Text a person reads without opening any Details. */
function visibleText(el: Element): string {
  const copy = el.cloneNode(true) as Element;
  copy.querySelectorAll('details').forEach((d) => d.remove());
  return copy.textContent ?? '';
}

async function runOnCpuAfterCuda(): Promise<void> {
  const job = useJobStore();
  await job.run();
  job.handle({ type: 'started', jobId: job.jobId!, provider: 'cpu', fallbacks: [{ provider: 'cuda', reason: RAW }], precision: 'fp32' });
  job.handle({ type: 'cancelled', jobId: job.jobId! });
}

async function app(provider: ProviderChoice) {
  const wrapper = mount(App, { attachTo: document.body });
  await flushPromises();
  useSessionStore().patchSettings({ provider });
  useDocumentStore().show(IMAGE);
  useTaskStore().task = 'denoise';
  await flushPromises();
  return wrapper;
}

describe('falling back to the CPU', () => {
  it('with Automatic, raises no notice on any run; the Device dialog says it in one quiet line', async () => {
    const wrapper = await app('auto');
    await runOnCpuAfterCuda();
    await runOnCpuAfterCuda();
    await flushPromises();
    expect(useSessionStore().toasts).toEqual([]);
    expect(wrapper.findAll('[data-testid="toast"]')).toHaveLength(0);

    await wrapper.find('[data-testid="devices"]').trigger('click');
    const note = wrapper.find('[data-testid="device-note"]');
    expect(visibleText(note.element).trim()).toBe('GPU not available; running on the CPU.');
    expect(note.find('details pre').text()).toBe(`NVIDIA GPU (CUDA): ${RAW}`);
    expect(visibleText(wrapper.find('[data-testid="devices-dialog"]').element)).not.toContain('ONNXRuntimeError');
    wrapper.unmount();
  });

  it('with a chosen GPU that fails, tells it once, in words', async () => {
    const wrapper = await app('cuda');
    await runOnCpuAfterCuda();
    await runOnCpuAfterCuda();
    const toasts = useSessionStore().toasts;
    expect(toasts).toHaveLength(1);
    expect(toasts[0]!.text).toBe('NVIDIA GPU (CUDA) is not available; running on the CPU. Details under Device.');
    wrapper.unmount();
  });

  it('clears the note when the model runs where it was asked to', async () => {
    const wrapper = await app('auto');
    await runOnCpuAfterCuda();
    const job = useJobStore();
    await job.run();
    job.handle({ type: 'started', jobId: job.jobId!, provider: 'cuda', fallbacks: [], precision: 'fp16' });
    expect(useSessionStore().deviceNote).toBeNull();
    wrapper.unmount();
  });
});

describe('the device test', () => {
  it("keeps onnxruntime's error text under Details, not in the line", async () => {
    api.probeDevices.mockResolvedValueOnce({
      devices: [
        { provider: 'cuda', label: 'NVIDIA GPU (CUDA)', ok: false, reason: RAW },
        { provider: 'cpu', label: 'CPU', ok: true, ms: 3.2, precision: 'fp32' },
      ],
      recommended: 'cpu',
    });
    const wrapper = await app('auto');
    await wrapper.find('[data-testid="devices"]').trigger('click');
    await wrapper.find('[data-testid="probe"]').trigger('click');
    await flushPromises();
    const cuda = wrapper.findAll('.device').find((d) => d.text().includes('CUDA'))!;
    expect(visibleText(cuda.element).replace(/\s+/g, ' ').trim()).toBe('NVIDIA GPU (CUDA) — not available on this computer');
    expect(cuda.find('[data-testid="device-details"] pre').text()).toBe(RAW);
    wrapper.unmount();
  });
});

describe('the model', () => {
  it('can go back to the bundled model after another was chosen', async () => {
    const wrapper = await app('auto');
    const session = useSessionStore();
    session.model = { ...BUNDLED_MODEL, dir: '/home/me/models/mine', name: 'mine', bundled: false };
    await wrapper.find('[data-testid="devices"]').trigger('click');
    const dialog = () => wrapper.find('[data-testid="devices-dialog"]');
    expect(dialog().text()).toContain('Model: mine');
    await wrapper.find('[data-testid="use-bundled-model"]').trigger('click');
    await flushPromises();
    expect(api.useBundledModel).toHaveBeenCalledTimes(1);
    expect(session.model).toEqual(BUNDLED_MODEL);
    expect(dialog().text()).toContain('Model: default');
    // Already the bundled one: nothing to go back to.
    expect(wrapper.find('[data-testid="use-bundled-model"]').exists()).toBe(false);
    wrapper.unmount();
  });
});
