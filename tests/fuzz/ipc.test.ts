/**
 * Fuzzing the process boundaries: generated hostile payloads for every renderer request (through
 * main's real dispatch) and every message between main, the inference service and the memory
 * probe (through their real schemas). Nothing may throw out of them; a refused payload never
 * reaches the handler; an accepted one is what its schema describes (it parses again unchanged).
 */
import { describe, expect, it } from 'vitest';
import { type Handlers, type Method, REQUESTS } from '../../common/api.js';
import { safeParse, type Schema } from '../../common/schema.js';
import { fromProbeSchema, fromServiceSchema, toProbeSchema, toServiceSchema } from '../../common/service-protocol.js';
import { Rng } from '../../engine/solvers/common.js';
import { dispatch } from '../../main/ipc.js';

const CASES_PER_SCHEMA = 400;

/** Keys worth trying in objects: the schema's own (when it is an object schema) and hostile ones. */
function keysOf(schema: unknown): string[] {
  const shape = (schema as { shape?: Record<string, unknown> }).shape;
  return [...Object.keys(shape ?? {}), 'type', 'path', 'jobId', '__proto__', 'constructor', 'prototype', ''];
}

function randomValue(rng: Rng, keys: string[], depth = 0): unknown {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rng.uniform() * xs.length)]!;
  const k = Math.floor(rng.uniform() * (depth > 4 ? 8 : 12));
  switch (k) {
    case 0:
      return pick([undefined, null, true, false]);
    case 1:
      return pick([0, -0, 1, -1, 0.5, 1e308, -1e308, Number.NaN, Number.POSITIVE_INFINITY, Number.MAX_SAFE_INTEGER + 2, 2 ** 31, 1e6, 101e6]);
    case 2:
      return pick(['', 'x', '\0', '../../etc/passwd', '/dev/zero', 'a'.repeat(5000), 'inpaint', 'denoise', 'cpu', 'png', '\u202e', '%s%n']);
    case 3:
      return Math.floor(rng.uniform() * 2 ** 20) - 1000;
    case 4:
      return new Uint8Array(Math.floor(rng.uniform() * 64));
    case 5:
      return pick([new Float64Array(3), new Uint8ClampedArray(2), new ArrayBuffer(4), Buffer.from('hi'), new Date(0), new Map(), /x/]);
    case 6:
      return rng.uniform() < 0.5 ? 'vml-fp' : 'balanced';
    case 7:
      return JSON.parse('{"__proto__": {"polluted": true}, "constructor": {"prototype": {"polluted": true}}}');
    case 8:
    case 9: {
      const o: Record<string, unknown> = {};
      const n = Math.floor(rng.uniform() * 6);
      for (let i = 0; i < n; i++) o[pick(keys)] = randomValue(rng, keys, depth + 1);
      return o;
    }
    case 10:
      return Array.from({ length: Math.floor(rng.uniform() * 5) }, () => randomValue(rng, keys, depth + 1));
    default: {
      // A deep chain: recursion limits of the parser.
      let v: unknown = 1;
      for (let i = 0; i < 2000; i++) v = { a: v };
      return v;
    }
  }
}

describe('IPC requests through main', () => {
  for (const method of Object.keys(REQUESTS) as Method[]) {
    it(`${method}: ${CASES_PER_SCHEMA} hostile payloads, no throw, no refused payload reaches the handler`, async () => {
      const rng = new Rng(method.length * 7919);
      const keys = keysOf(REQUESTS[method].request);
      let reached = 0;
      let refused = 0;
      const handlers = new Proxy({} as Handlers, {
        get: () => async (req: unknown) => {
          reached++;
          // What reaches the handler is what the schema describes.
          expect(safeParse(REQUESTS[method].request as Schema<unknown>, req).ok).toBe(true);
          return 'done';
        },
      });
      for (let i = 0; i < CASES_PER_SCHEMA; i++) {
        const payload = randomValue(rng, keys);
        const before = reached;
        const env = await dispatch(handlers, method, payload);
        expect(typeof env.ok).toBe('boolean');
        if (!env.ok) {
          refused++;
          expect(reached).toBe(before);
          expect(env.error).toMatch(/^invalid request: [^\n]*$/);
        }
      }
      expect(refused).toBeGreaterThan(0);
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    });
  }
});

describe('messages between main, the service and the memory probe', () => {
  const schemas: [string, Schema<unknown>][] = [
    ['to the service', toServiceSchema as Schema<unknown>],
    ['from the service', fromServiceSchema as Schema<unknown>],
    ['to the probe', toProbeSchema as Schema<unknown>],
    ['from the probe', fromProbeSchema as Schema<unknown>],
  ];
  for (const [name, schema] of schemas) {
    it(`${name}: ${CASES_PER_SCHEMA} hostile messages parse or are refused, never throw anything else`, () => {
      const rng = new Rng(name.length);
      const keys = [...keysOf(schema), 'run', 'configure', 'progress', 'result', 'error', 'measure'];
      for (let i = 0; i < CASES_PER_SCHEMA; i++) {
        const r = safeParse(schema, randomValue(rng, keys));
        if (r.ok) expect(safeParse(schema, r.value).ok).toBe(true);
        else expect(r.error).not.toMatch(/\n/);
      }
    });
  }
});
