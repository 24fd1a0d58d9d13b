// @vitest-environment happy-dom
/**
 * The quality presets as a person meets them: each preset runs its own settings (as the engine
 * resolves the job the page sends), presets that coincide for a task are said to, and the
 * Advanced Steps field shows the preset's value and says when it replaces it.
 */
import { flushPromises, mount } from '@vue/test-utils';
import { createPinia, setActivePinia } from 'pinia';
import { beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_SETTINGS, type RunRequest } from '../../../common/api';
import { settingsFor } from '../../../engine/solvers/index';
import { DEFAULT_SOLVER, type Preset, TASKS } from '../../../engine/tasks';
import App from '../../../renderer/src/App.vue';
import { useDocumentStore } from '../../../renderer/src/stores/document';
import { useJobStore } from '../../../renderer/src/stores/job';
import { useMaskStore } from '../../../renderer/src/stores/mask';
import { useTaskStore } from '../../../renderer/src/stores/task';
import { type FakeApi, IMAGE, installFakeApi } from './fake-api';

let api: FakeApi;
beforeEach(() => {
  setActivePinia(createPinia());
  api = installFakeApi();
});

/** The settings the engine runs for the job the page last sent. */
function ranWith(): ReturnType<typeof settingsFor> {
  const req = api.run.mock.calls.at(-1)![0] as RunRequest;
  return settingsFor(req.solver.solver, req.solver.preset, req.spec.task, { steps: req.solver.steps });
}

async function app() {
  const wrapper = mount(App);
  await flushPromises();
  useDocumentStore().show(IMAGE);
  const mask = useMaskStore();
  mask.beginStroke({ x: 10, y: 10 });
  mask.endStroke();
  await flushPromises();
  return wrapper;
}

describe('quality presets', () => {
  it('start on the engine default solver, whose presets differ', () => {
    expect(DEFAULT_SETTINGS.task.solver.solver).toBe(DEFAULT_SOLVER);
  });

  it('each run its own settings for every task, or the panel says they are the same', async () => {
    const wrapper = await app();
    const task = useTaskStore();
    const job = useJobStore();
    expect(task.solver).toBe(DEFAULT_SOLVER);
    for (const t of TASKS) {
      await wrapper.find(`[data-testid="task-${t}"]`).trigger('click');
      const ran: Partial<Record<Preset, string>> = {};
      for (const p of ['fast', 'balanced', 'best'] as const) {
        const button = wrapper.find(`[data-testid="preset-${p}"]`);
        if (button.attributes('disabled') !== undefined) continue;
        await button.trigger('click');
        await job.run();
        job.handle({ type: 'cancelled', jobId: job.jobId! });
        await flushPromises(); // the buttons are enabled again
        ran[p] = JSON.stringify(ranWith());
      }
      const offered = Object.values(ran);
      // Every preset a person can pick runs a different job.
      expect(new Set(offered).size, t).toBe(offered.length);
      const note = wrapper.find('[data-testid="preset-note"]');
      if (offered.length < 3) expect(note.text(), t).toMatch(/same/);
      else expect(note.exists(), t).toBe(false);
    }
    // Colorize's presets are one measured setting; inpainting's Best is its Balanced.
    await wrapper.find('[data-testid="task-colorize"]').trigger('click');
    expect(wrapper.find('[data-testid="preset-note"]').text()).toBe('Colorize has one setting: Fast, Balanced and Best run the same job.');
    await wrapper.find('[data-testid="task-inpaint"]').trigger('click');
    expect(wrapper.find('[data-testid="preset-note"]').text()).toBe('For Inpaint, Best is the same as Balanced.');
    expect(wrapper.find('[data-testid="preset-best"]').attributes('title')).toBe('The same as Balanced for Inpaint');
    // Denoising is one call at every preset (the converged answer: docs/ALGORITHM.md); SR's Fast is shorter than its Balanced.
    await wrapper.find('[data-testid="task-denoise"]').trigger('click');
    expect(wrapper.find('[data-testid="preset-note"]').text()).toBe('Denoise has one setting: Fast, Balanced and Best run the same job.');
    await wrapper.find('[data-testid="task-sr"]').trigger('click');
    expect(wrapper.find('[data-testid="preset-fast"]').attributes('title')).toBe('5 noise levels × 2 steps');
    wrapper.unmount();
  });

  it('keep the choice made for another task where this one has no such preset', async () => {
    const wrapper = await app();
    const task = useTaskStore();
    // The gradient rule's Best differs from its Balanced for deblurring, not for colourisation (one setting).
    task.solver = 'vml-map';
    await flushPromises();
    await wrapper.find('[data-testid="task-deblur"]').trigger('click');
    await wrapper.find('[data-testid="preset-best"]').trigger('click');
    await wrapper.find('[data-testid="task-colorize"]').trigger('click');
    // Best runs as the first preset of the same job here, Fast, and shows as Fast.
    expect(wrapper.find('[data-testid="preset-fast"]').attributes('aria-checked')).toBe('true');
    expect(task.effectivePreset).toBe('fast');
    await wrapper.find('[data-testid="task-deblur"]').trigger('click');
    expect(wrapper.find('[data-testid="preset-best"]').attributes('aria-checked')).toBe('true');
    wrapper.unmount();
  });
});

describe('the Steps field', () => {
  it("shows the preset's value and says clearly when it replaces it", async () => {
    const wrapper = await app();
    const task = useTaskStore();
    await wrapper.find('[data-testid="task-inpaint"]').trigger('click');
    await wrapper.find('[data-testid="preset-fast"]').trigger('click');
    const steps = wrapper.find<HTMLInputElement>('[data-testid="steps"]');
    const fast = settingsFor(DEFAULT_SOLVER, 'fast', 'inpaint').settings as { levels: number };
    const balanced = settingsFor(DEFAULT_SOLVER, 'balanced', 'inpaint').settings as { levels: number };
    expect(fast.levels).not.toBe(balanced.levels);
    expect(steps.attributes('placeholder')).toBe(`${fast.levels} (preset)`);
    await wrapper.find('[data-testid="preset-balanced"]').trigger('click');
    expect(steps.attributes('placeholder')).toBe(`${balanced.levels} (preset)`);
    expect(wrapper.find('[data-testid="steps-override"]').exists()).toBe(false);

    await steps.setValue('40');
    await steps.trigger('change');
    expect(task.steps).toBe(40);
    const override = wrapper.find('[data-testid="steps-override"]');
    expect(override.text()).toContain(`Steps: 40 (set under Advanced) instead of the preset's ${balanced.levels}.`);
    expect(wrapper.text()).toContain('overrides the preset');
    await useJobStore().run();
    expect((ranWith().settings as { levels: number }).levels).toBe(40);

    await wrapper.find('[data-testid="steps-clear"]').trigger('click');
    expect(task.steps).toBeNull();
    expect(steps.element.value).toBe('');
    expect(wrapper.find('[data-testid="steps-override"]').exists()).toBe(false);
    expect(task.solverSpec.steps).toBeUndefined();
    wrapper.unmount();
  });

  it('makes the baselines’ presets one job, and says so', async () => {
    const wrapper = await app();
    const task = useTaskStore();
    task.solver = 'ddnm';
    task.steps = 30;
    await flushPromises();
    expect(wrapper.find('[data-testid="preset-note"]').text()).toBe('With Steps set, the three presets run the same job.');
    task.steps = null;
    await flushPromises();
    expect(wrapper.find('[data-testid="preset-note"]').exists()).toBe(false);
    expect(wrapper.find('[data-testid="steps"]').attributes('placeholder')).toBe('50 (preset)');
    wrapper.unmount();
  });
});
