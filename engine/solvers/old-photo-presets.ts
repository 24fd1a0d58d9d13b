/**
 * VML-MAP's settings for the old-photo task (blur, grain, missing colour and damage solved at once),
 * per step rule and preset, chosen by `node out/cli/bench/studies/old-photo.js --study steps
 * --images 6 --size 128` on synthetic old photos (blur std 1, grain 0.03, drawn damage): short
 * schedules from sigma 0.25 or below measured 0.3-0.4 dB above deblurring's and inpainting's
 * balanced ones, which solve the MAP more exactly (docs/ALGORITHM.md, "Old photos: one operator").
 * Best is deblurring's balanced schedule: the one of these that reaches the MAP on the exact priors.
 * The gradient rule, measured behind the fixed point on every single task, keeps deblurring's.
 */
import type { Preset } from '../tasks.js';
import { type PresetEntry, VML_PRESETS } from './presets.js';
import type { StepRule } from './vmlmap.js';

const deblur = (rule: StepRule, preset: Preset): PresetEntry => VML_PRESETS[rule][preset].deblur;

export const OLD_PHOTO_PRESETS: Record<StepRule, Record<Preset, PresetEntry>> = {
  'fixed-point': {
    fast: { settings: { sigmaStart: 0.25, levels: 4, inner: 2 }, trades: 'time: 12 network calls, measured as good as longer schedules on synthetic old photos' },
    balanced: {
      settings: { sigmaStart: 0.12, levels: 5, inner: 2 },
      trades: 'PSNR: stopping short of the MAP measured 0.4 dB above solving it (best) on synthetic old photos, at under half the network calls',
    },
    best: { settings: { sigmaStart: 0.25, sigmaEndPerSigmaY: 0.5, levels: 6, inner: 4 } },
  },
  gradient: { fast: deblur('gradient', 'fast'), balanced: deblur('gradient', 'balanced'), best: deblur('gradient', 'best') },
};
