/**
 * VML-MAP's presets, per step rule, preset and task: written by `node out/cli/bench/studies/presets.js
 * --write-engine` from its measurement on the development photos (docs/PRESETS.md has every
 * configuration tried and why each was chosen; docs/presets/chosen.json the same table). Balanced and
 * best reach the MAP on the exact test priors (tests/engine/presets.test.ts) unless `trades` says
 * what they gain by not doing so.
 */
import type { Preset, SingleTask } from '../tasks.js';
import type { StepRule, VmlMapSettings } from './vmlmap.js';

export interface PresetEntry {
  settings: Partial<VmlMapSettings>;
  /** Set where the preset does not converge on the exact priors: what it gains instead. */
  trades?: string;
}

export type PresetTable = Record<Preset, Record<SingleTask, PresetEntry>>;

export const VML_PRESETS: Record<StepRule, PresetTable> = {
  "fixed-point": {
    "fast": {
      "denoise": {
        "settings": {
          "sigmaStart": 0.03,
          "sigmaEndPerSigmaY": 1,
          "levels": 1,
          "inner": 0
        }
      },
      "sr": {
        "settings": {
          "sigmaStart": 1,
          "levels": 5,
          "inner": 2
        },
        "trades": "time: none of the 7 configurations measured within 10 s reaches the mode on the exact priors"
      },
      "deblur": {
        "settings": {
          "sigmaStart": 0.25,
          "levels": 5,
          "inner": 2
        },
        "trades": "time: none of the 8 configurations measured within 10 s reaches the mode on the exact priors"
      },
      "inpaint": {
        "settings": {
          "sigmaStart": 0.12,
          "levels": 5,
          "inner": 2
        },
        "trades": "time: none of the 7 configurations measured within 10 s reaches the mode on the exact priors"
      },
      "colorize": {
        "settings": {
          "sigmaStart": 0.06,
          "levels": 3,
          "inner": 2
        },
        "trades": "fidelity on colourless regions: starts above 0.12 tinted them (MAX_START in bench/studies/presets.ts), and none of the 6 configurations measured from 0.12 or below within 10 s reaches the mode on the exact priors"
      }
    },
    "balanced": {
      "denoise": {
        "settings": {
          "sigmaStart": 0.03,
          "sigmaEndPerSigmaY": 1,
          "levels": 1,
          "inner": 0
        }
      },
      "sr": {
        "settings": {
          "sigmaStart": 1,
          "sigmaEnd": 0.01,
          "levels": 6,
          "inner": 4
        }
      },
      "deblur": {
        "settings": {
          "sigmaStart": 0.25,
          "sigmaEndPerSigmaY": 0.5,
          "levels": 6,
          "inner": 4
        }
      },
      "inpaint": {
        "settings": {
          "sigmaStart": 0.5,
          "levels": 10,
          "inner": 3
        }
      },
      "colorize": {
        "settings": {
          "sigmaStart": 0.06,
          "levels": 3,
          "inner": 2
        },
        "trades": "fidelity on colourless regions: starts above 0.12 tinted them (MAX_START in bench/studies/presets.ts), and none of the 13 configurations measured from 0.12 or below within 30 s reaches the mode on the exact priors"
      }
    },
    "best": {
      "denoise": {
        "settings": {
          "sigmaStart": 0.03,
          "sigmaEndPerSigmaY": 1,
          "levels": 1,
          "inner": 0
        }
      },
      "sr": {
        "settings": {
          "sigmaStart": 1,
          "sigmaEnd": 0.01,
          "levels": 6,
          "inner": 4
        }
      },
      "deblur": {
        "settings": {
          "sigmaStart": 0.25,
          "sigmaEndPerSigmaY": 0.5,
          "levels": 6,
          "inner": 4
        }
      },
      "inpaint": {
        "settings": {
          "sigmaStart": 0.5,
          "levels": 10,
          "inner": 3
        }
      },
      "colorize": {
        "settings": {
          "sigmaStart": 0.06,
          "levels": 3,
          "inner": 2
        },
        "trades": "fidelity on colourless regions: starts above 0.12 tinted them (MAX_START in bench/studies/presets.ts), and none of the 14 configurations measured from 0.12 or below within 120 s reaches the mode on the exact priors"
      }
    }
  },
  "gradient": {
    "fast": {
      "denoise": {
        "settings": {
          "sigmaStart": 0.12,
          "sigmaEndPerSigmaY": 1,
          "levels": 3,
          "inner": 2
        },
        "trades": "time: no configuration measured fits 10 s, and the cheapest (0.12 -> 1 sigma_y, 3 x 2, step 1, 13.1 s) does not reach the mode on the exact priors (the gradient rule contracts more slowly per step than the fixed-point rule and a VJP costs about 3 forwards: docs/ALGORITHM.md)"
      },
      "sr": {
        "settings": {
          "sigmaStart": 1,
          "sigmaEnd": 0.03,
          "levels": 3,
          "inner": 2
        },
        "trades": "time: no configuration measured fits 10 s, and the cheapest (1 -> 0.03, 3 x 2, step 1, 13.1 s) does not reach the mode on the exact priors (the gradient rule contracts more slowly per step than the fixed-point rule and a VJP costs about 3 forwards: docs/ALGORITHM.md)"
      },
      "deblur": {
        "settings": {
          "sigmaStart": 0.5,
          "levels": 3,
          "inner": 2
        },
        "trades": "time: no configuration measured fits 10 s, and the cheapest (0.5 -> min, 3 x 2, step 1, 13.1 s) does not reach the mode on the exact priors (the gradient rule contracts more slowly per step than the fixed-point rule and a VJP costs about 3 forwards: docs/ALGORITHM.md)"
      },
      "inpaint": {
        "settings": {
          "sigmaStart": 0.12,
          "levels": 3,
          "inner": 2
        },
        "trades": "time: no configuration measured fits 10 s, and the cheapest (0.12 -> min, 3 x 2, step 1, 13.1 s) does not reach the mode on the exact priors (the gradient rule contracts more slowly per step than the fixed-point rule and a VJP costs about 3 forwards: docs/ALGORITHM.md)"
      },
      "colorize": {
        "settings": {
          "sigmaStart": 0.06,
          "levels": 3,
          "inner": 2
        },
        "trades": "fidelity on colourless regions: starts above 0.12 tinted them (MAX_START in bench/studies/presets.ts), and none of the 0 configurations measured from 0.12 or below within 10 s reaches the mode on the exact priors"
      }
    },
    "balanced": {
      "denoise": {
        "settings": {
          "sigmaStart": 0.12,
          "sigmaEndPerSigmaY": 1,
          "levels": 3,
          "inner": 2,
          "stepScale": 2
        }
      },
      "sr": {
        "settings": {
          "sigmaStart": 1,
          "sigmaEnd": 0.03,
          "levels": 3,
          "inner": 2,
          "stepScale": 2
        },
        "trades": "time: none of the 2 configurations measured within 30 s reaches the mode on the exact priors (the gradient rule contracts more slowly per step than the fixed-point rule and a VJP costs about 3 forwards: docs/ALGORITHM.md)"
      },
      "deblur": {
        "settings": {
          "sigmaStart": 0.5,
          "levels": 3,
          "inner": 2,
          "stepScale": 2
        },
        "trades": "time: none of the 2 configurations measured within 30 s reaches the mode on the exact priors (the gradient rule contracts more slowly per step than the fixed-point rule and a VJP costs about 3 forwards: docs/ALGORITHM.md)"
      },
      "inpaint": {
        "settings": {
          "sigmaStart": 0.12,
          "levels": 3,
          "inner": 2,
          "stepScale": 2
        },
        "trades": "time: none of the 2 configurations measured within 30 s reaches the mode on the exact priors (the gradient rule contracts more slowly per step than the fixed-point rule and a VJP costs about 3 forwards: docs/ALGORITHM.md)"
      },
      "colorize": {
        "settings": {
          "sigmaStart": 0.06,
          "levels": 3,
          "inner": 2
        },
        "trades": "fidelity on colourless regions: starts above 0.12 tinted them (MAX_START in bench/studies/presets.ts), and none of the 2 configurations measured from 0.12 or below within 30 s reaches the mode on the exact priors"
      }
    },
    "best": {
      "denoise": {
        "settings": {
          "sigmaStart": 0.12,
          "sigmaEndPerSigmaY": 1,
          "levels": 6,
          "inner": 4,
          "stepScale": 2
        }
      },
      "sr": {
        "settings": {
          "sigmaStart": 1,
          "sigmaEnd": 0.03,
          "levels": 6,
          "inner": 4
        },
        "trades": "time: none of the 5 configurations measured within 120 s reaches the mode on the exact priors (the gradient rule contracts more slowly per step than the fixed-point rule and a VJP costs about 3 forwards: docs/ALGORITHM.md)"
      },
      "deblur": {
        "settings": {
          "sigmaStart": 0.5,
          "levels": 6,
          "inner": 4,
          "stepScale": 2
        },
        "trades": "time: none of the 4 configurations measured within 120 s reaches the mode on the exact priors (the gradient rule contracts more slowly per step than the fixed-point rule and a VJP costs about 3 forwards: docs/ALGORITHM.md)"
      },
      "inpaint": {
        "settings": {
          "sigmaStart": 0.12,
          "levels": 6,
          "inner": 4
        },
        "trades": "time: none of the 5 configurations measured within 120 s reaches the mode on the exact priors (the gradient rule contracts more slowly per step than the fixed-point rule and a VJP costs about 3 forwards: docs/ALGORITHM.md)"
      },
      "colorize": {
        "settings": {
          "sigmaStart": 0.06,
          "levels": 3,
          "inner": 2
        },
        "trades": "fidelity on colourless regions: starts above 0.12 tinted them (MAX_START in bench/studies/presets.ts), and none of the 4 configurations measured from 0.12 or below within 120 s reaches the mode on the exact priors"
      }
    }
  }
};
