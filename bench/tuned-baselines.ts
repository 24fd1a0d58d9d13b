/**
 * DiffPIR's and DDNM's own best settings per engine task: written by `node out/cli/bench/studies/baselines.js`
 * from its sweep on the development photos (docs/BASELINES.md has every configuration tried). The
 * benchmark's diffpir-tuned and ddnm-tuned rows run these.
 */
import type { DdnmSettings } from '../engine/solvers/ddnm.js';
import type { DiffPirSettings } from '../engine/solvers/diffpir.js';

export const TUNED_DIFFPIR: Record<string, Partial<DiffPirSettings>> = {
  "denoise": {
    "steps": 10,
    "lambda": 30,
    "zeta": 0,
    "sigmaStart": 0.015,
    "sigmaYFloor": 0.001,
    "start": "estimate"
  },
  "sr": {
    "steps": 50,
    "lambda": 1,
    "zeta": 1,
    "sigmaStart": 0.03,
    "sigmaYFloor": 0.001,
    "start": "estimate"
  },
  "deblur": {
    "steps": 15,
    "lambda": 1,
    "zeta": 1,
    "sigmaStart": 0.06,
    "sigmaYFloor": 0.001,
    "start": "estimate"
  },
  "inpaint": {
    "steps": 15,
    "lambda": 1,
    "zeta": 1,
    "sigmaStart": 0.06,
    "sigmaYFloor": 0.001,
    "start": "estimate"
  },
  "colorize": {
    "steps": 10,
    "lambda": 1,
    "zeta": 0,
    "sigmaStart": 0.015,
    "sigmaYFloor": 0.001,
    "start": "estimate"
  }
};

export const TUNED_DDNM: Record<string, Partial<DdnmSettings>> = {
  "denoise": {
    "steps": 10,
    "eta": 1,
    "sigmaStart": 80,
    "start": "grey"
  },
  "sr": {
    "steps": 10,
    "eta": 0.25,
    "sigmaStart": 0.015,
    "start": "estimate"
  },
  "deblur": {
    "steps": 10,
    "eta": 1,
    "sigmaStart": 0.015,
    "start": "estimate"
  },
  "inpaint": {
    "steps": 50,
    "eta": 1,
    "sigmaStart": 0.03,
    "start": "estimate"
  },
  "colorize": {
    "steps": 10,
    "eta": 0,
    "sigmaStart": 0.015,
    "start": "estimate"
  }
};
