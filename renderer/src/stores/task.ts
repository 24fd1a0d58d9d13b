/**
 * The task form: which restoration, its parameters and the solver settings, as the controls show
 * them (noise in 0..255 units, blur as a kind and its numbers). It turns into the engine's TaskSpec
 * and SolverSpec for a run, and is remembered between sessions. Values read from the photo
 * (Estimate from photo) are marked as estimated until the person changes them.
 */
import { defineStore } from 'pinia';
import { computed, ref, shallowRef } from 'vue';
import { settingsFor, type SolverSettings } from '../../../engine/solvers/index';
import { DEFAULT_SOLVER, PRESETS, type Preset, type SolverName, type SolverSpec, type Task, type TaskSpec } from '../../../engine/tasks';
import type { PhotoEstimate, TaskForm } from '../../../common/api';

export const TASK_LABELS: Record<Task, string> = {
  inpaint: 'Inpaint',
  sr: 'Super-resolution',
  deblur: 'Deblur',
  denoise: 'Denoise',
  colorize: 'Colorize',
  'old-photo': 'Old photo',
};

export const TASK_HINTS: Record<Task, string> = {
  inpaint: 'Paint over scratches, stains or objects; the painted area is filled in.',
  sr: 'Enlarges the photo and restores fine detail.',
  deblur: 'Removes a known blur: out-of-focus (Gaussian) or camera shake (motion).',
  denoise: 'Removes grain and sensor noise of the level you set.',
  colorize: 'Adds plausible colour to a black-and-white photo.',
  'old-photo': 'Blur, grain, damage and lost colour in one run. Damage is what the mask marks (paint it or detect it); with no mask, none.',
};

/** Tasks whose fields Estimate from photo fills. */
export const ESTIMATED_TASKS: readonly Task[] = ['old-photo', 'deblur', 'denoise'];

/** Slider ranges: an estimate outside them is clamped. */
export const NOISE_MAX = 50;
export const BLUR_MIN = 0.5;
export const BLUR_MAX = 10;

/** Fields an estimate can fill. */
export type EstimatedField = 'noise' | 'blurStd' | 'oldBlurStd' | 'colorize';

/** The values an estimate set, for the "estimated" marks. */
type Estimated = Partial<{ noise: number; blurStd: number; oldBlurStd: number; colorize: boolean }>;

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
  /** Old photo: std (px) of its Gaussian blur, 0 = none; kept apart from deblurring's. */
  const oldBlurStd = ref(0);
  /** Old photo: restore the colours of a photo that lost them. */
  const colorize = ref(false);
  /** What the last estimate read from this photo, and which values it set. */
  const estimate = shallowRef<PhotoEstimate | null>(null);
  const estimated = ref<Estimated>({});
  const estimating = ref(false);
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
    if (task.value === 'old-photo') {
      return {
        ...base,
        ...(oldBlurStd.value > 0 ? { kernel: { type: 'gaussian', std: oldBlurStd.value } } : {}),
        ...(colorize.value ? { colorize: true } : {}),
      };
    }
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
    oldPhoto: { blurStd: oldBlurStd.value, colorize: colorize.value },
  }));

  /**
   * The settings each preset runs with for this task and solver, as the engine resolves them (the
   * Steps override and the detail included): what the job will actually do.
   */
  const presetSettings = computed<Record<Preset, SolverSettings>>(() => {
    const overrides = {
      ...(steps.value ? { steps: steps.value } : {}),
      ...(detail.value > 0 && solver.value.startsWith('vml') ? { vml: { detail: detail.value } } : {}),
    };
    return Object.fromEntries(PRESETS.map((p) => [p, settingsFor(solver.value, p, task.value, overrides)])) as Record<Preset, SolverSettings>;
  });

  /**
   * For each preset, the cheaper preset it is identical to here (null when it is its own setting):
   * where the measured presets coincide for a task, the page says so instead of offering two
   * choices that run the same job.
   */
  const presetSameAs = computed<Record<Preset, Preset | null>>(() => {
    const key = (p: Preset): string => JSON.stringify(presetSettings.value[p]);
    const out = {} as Record<Preset, Preset | null>;
    PRESETS.forEach((p, i) => (out[p] = PRESETS.slice(0, i).find((q) => key(q) === key(p)) ?? null));
    return out;
  });

  /** The preset the chosen one runs as (Balanced when Best is the same job). */
  const effectivePreset = computed<Preset>(() => presetSameAs.value[preset.value] ?? preset.value);

  /** The preset's own number of steps (noise levels; diffusion steps for the baselines), before any override. */
  const presetSteps = computed(() => stepsOf(settingsFor(solver.value, preset.value, task.value)));

  /** Inpainting cannot run without a mask. */
  const needsMask = computed(() => task.value === 'inpaint');
  /** The mask is used: required for inpainting, optional for an old photo (none = no damage). */
  const takesMask = computed(() => task.value === 'inpaint' || task.value === 'old-photo');

  const clamp = (v: number, lo: number, hi: number): number => Math.min(hi, Math.max(lo, v));

  /**
   * Fills the fields with what the photo says, for every task at once (the estimate is about the
   * photo), and marks them. A photo that reads sharp leaves deblurring's blur as it is.
   */
  function applyEstimate(e: PhotoEstimate): void {
    const set: Estimated = {};
    if (e.sigmaY !== undefined) noise.value = set.noise = clamp(Math.round(e.sigmaY * 255 * 10) / 10, 0, NOISE_MAX);
    if (e.blurStd !== undefined) {
      oldBlurStd.value = set.oldBlurStd = clamp(Math.round(e.blurStd * 10) / 10, 0, BLUR_MAX);
      if (e.blurStd > 0) {
        blurKind.value = 'gaussian';
        blurStd.value = set.blurStd = clamp(Math.round(e.blurStd * 10) / 10, BLUR_MIN, BLUR_MAX);
      }
    }
    if (e.greyscale !== undefined) colorize.value = set.colorize = e.greyscale;
    estimate.value = e;
    estimated.value = set;
  }

  /** Whether a field still holds the value the estimate gave it. */
  function isEstimated(field: EstimatedField): boolean {
    const v = estimated.value[field];
    if (v === undefined) return false;
    if (field === 'blurStd') return blurKind.value === 'gaussian' && blurStd.value === v;
    const current = { noise: noise.value, oldBlurStd: oldBlurStd.value, colorize: colorize.value }[field];
    return current === v;
  }

  /** Another photo: the estimate was about the previous one. */
  function clearEstimate(): void {
    estimate.value = null;
    estimated.value = {};
  }

  function load(f: TaskForm): void {
    task.value = f.spec.task;
    noise.value = Math.round(f.spec.sigmaY * 255 * 10) / 10;
    if (f.spec.scale) scale.value = f.spec.scale;
    if (f.spec.srKernel) srKernel.value = f.spec.srKernel;
    if (f.oldPhoto) {
      oldBlurStd.value = f.oldPhoto.blurStd;
      colorize.value = f.oldPhoto.colorize;
    }
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
    oldBlurStd,
    colorize,
    estimate,
    estimated,
    estimating,
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
    presetSettings,
    presetSameAs,
    effectivePreset,
    presetSteps,
    needsMask,
    takesMask,
    load,
    applyEstimate,
    isEstimated,
    clearEstimate,
  };
});

/** The number of steps a solver's settings run: VML-MAP's noise levels, the baselines' diffusion steps. */
export function stepsOf(s: SolverSettings): number {
  return 'levels' in s.settings ? s.settings.levels : s.settings.steps;
}
