/**
 * The presets users get, on the exact priors (docs/ALGORITHM.md, closed-form checks): every preset
 * of both VML-MAP rules, per task, returns the Gaussian prior's closed-form MAP within 1e-2 and lands
 * on the higher mode of the two-mode mixture on at least 18 of 20 seeds, unless the preset table says
 * what it trades for not converging; then it must indeed not converge (the label stays honest).
 * Denoising that ends at sigma_y has one stationary point for any prior, no mode to seek
 * (seeksMode in tests/oracles/toy-checks.ts): the Gaussian check only.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { settingsFor, vmlPreset } from '../../engine/solvers/index.js';
import { VML_PRESETS } from '../../engine/solvers/presets.js';
import type { VmlMapSettings } from '../../engine/solvers/vmlmap.js';
import { PRESETS, TASKS } from '../../engine/tasks.js';
import { TOY_TARGETS, ToyChecks } from '../oracles/toy-checks.js';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

let toys: ToyChecks;
beforeAll(async () => {
  toys = await ToyChecks.load(join(import.meta.dirname, '..', '.models'));
});
afterAll(() => toys?.release());

describe('shipped presets on the exact priors', () => {
  for (const solver of ['vml-fp', 'vml-map'] as const)
    for (const preset of PRESETS)
      for (const task of TASKS) {
        const rule = solver === 'vml-map' ? 'gradient' : 'fixed-point';
        const trades = vmlPreset(rule, preset, task).trades;
        it(`${solver} ${preset} ${task}: ${trades ? 'does not converge, as its table says' : 'reaches the MAP'}`, async () => {
          const settings = settingsFor(solver, preset, task).settings as VmlMapSettings;
          const r = await toys.converges(task, settings);
          if (trades) {
            expect(trades.length).toBeGreaterThan(20);
            expect(r.pass).toBe(false);
          } else {
            expect(r.gaussianError).toBeLessThan(TOY_TARGETS.gaussianRelErr);
            if (r.modeSought) expect(r.seedsOnMode).toBeGreaterThanOrEqual(TOY_TARGETS.mixtureSeeds);
          }
        });
      }
});

describe('the presets that ship are the ones measured', () => {
  it('engine/solvers/presets.ts holds docs/presets/chosen.json (written by bench/studies/presets.ts)', () => {
    const chosen = JSON.parse(readFileSync(join(import.meta.dirname, '..', '..', 'docs', 'presets', 'chosen.json'), 'utf8'));
    expect(VML_PRESETS).toEqual(chosen);
  });
});
