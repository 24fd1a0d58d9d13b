/**
 * The task form: which restoration, its parameters and the solver settings, as the controls show
 * them (noise in 0..255 units, blur as a kind and its numbers). It turns into the engine's TaskSpec
 * and SolverSpec for a run, and is remembered between sessions.
 */
import { defineStore } from 'pinia';
import { computed, ref } from 'vue';
import { DEFAULT_SOLVER, type Preset, type SolverName, type SolverSpec, type Task, type TaskSpec } from '../../../engine/tasks';
import type { TaskForm } from '../../../common/api';

export const TASK_LABELS: Record<Task, string> = {
  inpaint: 'Inpaint',
  sr: 'Super-resolution',
  deblur: 'Deblur',
  denoise: 'Denoise',
  colorize: 'Colorize',
};

export const TASK_HINTS: Record<Task, string> = {
  inpaint: 'Paint over scratches, stains or objects; the painted area is filled in.',
  sr: 'Enlarges the photo and restores fine detail.',
  deblur: 'Removes a known blur: out-of-focus (Gaussian) or camera shake (motion).',
  denoise: 'Removes grain and sensor noise of the level you set.',
  colorize: 'Adds plausible colour to a black-and-white photo.',
};

export const PRESET_LABELS: Record<Preset, string> = { fast: 'Fast', balanced: 'Balanced', best: 'Best' };
export const SOLVER_LABELS: Record<SolverName, string> = {
  'vml-map': 'VML-MAP (gradient through the network)',
  'vml-fp': 'VML-MAP fixed point (no VJP)',
  dps: 'DPS',
  diffpir: 'DiffPIR',
  ddnm: 'DDNM',
};

export const useTaskStore = defineStore('task', () => {
  const task = ref<Task>('inpaint');
  const scale = ref<2 | 3 | 4>(2);
  const srKernel = ref<'box' | 'bicubic'>('bicubic');
  const blurKind = ref<'gaussian' | 'motion'>('gaussian');
  const blurStd = ref(2);
  const motionLength = ref(9);
  const motionAngle = ref(0);
  /** Measurement noise in 8-bit units (sigma_y * 255), the scale people know from editors. */
  const noise = ref(2.5);
  const preset = ref<Preset>('balanced');
  const solver = ref<SolverName>(DEFAULT_SOLVER);
  /** null: the preset decides. */
  const steps = ref<number | null>(null);
  /** VML-MAP's detail: 0 = the MAP, up to 1 toward a posterior sample. */
  const detail = ref(0);
  const seed = ref(0);

  const kernel = computed<NonNullable<TaskSpec['kernel']>>(() =>
    blurKind.value === 'gaussian' ? { type: 'gaussian', std: blurStd.value } : { type: 'motion', length: motionLength.value, angle: motionAngle.value },
  );

  const sigmaY = computed(() => Math.round((noise.value / 255) * 1e6) / 1e6);

  /** What a run sends: only the fields of the chosen task. */
  const spec = computed<TaskSpec>(() => {
    const base: TaskSpec = { task: task.value, sigmaY: sigmaY.value };
    if (task.value === 'sr') return { ...base, scale: scale.value, srKernel: srKernel.value };
    if (task.value === 'deblur') return { ...base, kernel: kernel.value };
    return base;
  });

  const solverSpec = computed<SolverSpec>(() => ({
    solver: solver.value,
    preset: preset.value,
    seed: seed.value,
    ...(steps.value ? { steps: steps.value } : {}),
    ...(detail.value > 0 && solver.value.startsWith('vml') ? { detail: detail.value } : {}),
  }));

  /** What is remembered: every field, so switching tasks back and forth keeps the values. */
  const form = computed<TaskForm>(() => ({
    spec: { task: task.value, sigmaY: sigmaY.value, scale: scale.value, srKernel: srKernel.value, kernel: kernel.value },
    solver: solverSpec.value,
  }));

  const needsMask = computed(() => task.value === 'inpaint');

  function load(f: TaskForm): void {
    task.value = f.spec.task;
    noise.value = Math.round(f.spec.sigmaY * 255 * 10) / 10;
    if (f.spec.scale) scale.value = f.spec.scale;
    if (f.spec.srKernel) srKernel.value = f.spec.srKernel;
    const k = f.spec.kernel;
    if (k?.type === 'gaussian') {
      blurKind.value = 'gaussian';
      blurStd.value = k.std;
    } else if (k?.type === 'motion') {
      blurKind.value = 'motion';
      motionLength.value = k.length;
      motionAngle.value = k.angle;
    }
    preset.value = f.solver.preset;
    solver.value = f.solver.solver;
    steps.value = f.solver.steps ?? null;
    detail.value = f.solver.detail ?? 0;
    seed.value = f.solver.seed;
  }

  return {
    task,
    scale,
    srKernel,
    blurKind,
    blurStd,
    motionLength,
    motionAngle,
    noise,
    preset,
    solver,
    steps,
    detail,
    seed,
    kernel,
    sigmaY,
    spec,
    solverSpec,
    form,
    needsMask,
    load,
  };
});
