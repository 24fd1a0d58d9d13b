/**
 * VML-MAP's presets, per step rule, preset and task: measured by tools/presets.ts on all 12
 * development photos (docs/PRESETS.md has the command, every configuration tried and why each was
 * chosen). Balanced and best reach the MAP on the exact test priors (tests/engine/presets.test.ts);
 * a preset that does not says what it trades for it.
 */
import type { Preset, Task } from '../tasks.js';
import type { StepRule, VmlMapSettings } from './vmlmap.js';

export interface PresetEntry {
  settings: Partial<VmlMapSettings>;
  /** Set where the preset does not converge on the exact priors: what it gains instead. */
  trades?: string;
}

export type PresetTable = Record<Preset, Record<Task, PresetEntry>>;

const same = (e: PresetEntry): Record<Task, PresetEntry> => ({ inpaint: e, sr: e, deblur: e, denoise: e, colorize: e });

export const VML_PRESETS: Record<StepRule, PresetTable> = {
  'fixed-point': {
    fast: same({ settings: { sigmaStart: 1, levels: 5, inner: 2 } }),
    balanced: same({ settings: { sigmaStart: 1, levels: 5, inner: 2 } }),
    best: same({ settings: { sigmaStart: 1, levels: 5, inner: 3 } }),
  },
  gradient: {
    fast: same({ settings: { sigmaStart: 1, levels: 5, inner: 2 } }),
    balanced: same({ settings: { sigmaStart: 1, levels: 5, inner: 2 } }),
    best: same({ settings: { sigmaStart: 1, levels: 5, inner: 3 } }),
  },
};
