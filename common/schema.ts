/**
 * A small runtime schema library for messages that cross a process boundary (renderer -> main over
 * IPC, main <-> inference service). Every message from a less trusted side is parsed here before
 * anything acts on it, so a malformed or hostile message becomes one rejected request instead of a
 * crash or a surprise deep inside the engine. Objects are closed: unknown keys are rejected, which
 * keeps prototype tricks (`__proto__`, `constructor`) and typos out.
 */

export class SchemaError extends Error {
  constructor(
    readonly path: string,
    readonly why: string,
  ) {
    super(`${path || 'message'}: ${why}`);
    this.name = 'SchemaError';
  }
}

export interface Schema<T> {
  /** Returns the value (a fresh object for objects) or throws SchemaError. */
  parse(value: unknown, path?: string): T;
}

export type Infer<S> = S extends Schema<infer T> ? T : never;

const describe = (v: unknown): string => (v === null ? 'null' : Array.isArray(v) ? 'an array' : ArrayBuffer.isView(v) ? v.constructor.name : typeof v);

function fail(path: string, why: string): never {
  throw new SchemaError(path, why);
}

export function string(opts: { min?: number; max?: number; pattern?: RegExp } = {}): Schema<string> {
  const { min = 0, max = 4096, pattern } = opts;
  return {
    parse(v, path = '') {
      if (typeof v !== 'string') fail(path, `expected a string, got ${describe(v)}`);
      if (v.length < min || v.length > max) fail(path, `length must be ${min}..${max}`);
      if (v.includes('\0')) fail(path, 'contains a NUL character');
      if (pattern && !pattern.test(v)) fail(path, 'has the wrong format');
      return v;
    },
  };
}

export function number(opts: { min?: number; max?: number; int?: boolean } = {}): Schema<number> {
  const { min = -Number.MAX_VALUE, max = Number.MAX_VALUE, int = false } = opts;
  return {
    parse(v, path = '') {
      if (typeof v !== 'number' || !Number.isFinite(v)) fail(path, `expected a finite number, got ${describe(v)}`);
      if (int && !Number.isInteger(v)) fail(path, 'expected an integer');
      if (v < min || v > max) fail(path, `must be in [${min}, ${max}]`);
      return v;
    },
  };
}

export const int = (min: number, max: number): Schema<number> => number({ min, max, int: true });

export const boolean = (): Schema<boolean> => ({
  parse(v, path = '') {
    if (typeof v !== 'boolean') fail(path, `expected a boolean, got ${describe(v)}`);
    return v;
  },
});

export function literal<const T extends string | number | boolean | null>(value: T): Schema<T> {
  return {
    parse(v, path = '') {
      if (v !== value) fail(path, `expected ${JSON.stringify(value)}`);
      return value;
    },
  };
}

export function oneOf<const T extends readonly (string | number)[]>(values: T): Schema<T[number]> {
  return {
    parse(v, path = '') {
      if (!values.includes(v as T[number])) fail(path, `expected one of ${values.join(', ')}`);
      return v as T[number];
    },
  };
}

export function optional<T>(inner: Schema<T>): Schema<T | undefined> & { optional: true } {
  return {
    optional: true,
    parse(v, path = '') {
      return v === undefined ? undefined : inner.parse(v, path);
    },
  };
}

export function nullable<T>(inner: Schema<T>): Schema<T | null> {
  return {
    parse(v, path = '') {
      return v === null ? null : inner.parse(v, path);
    },
  };
}

export function array<T>(item: Schema<T>, opts: { min?: number; max?: number } = {}): Schema<T[]> {
  const { min = 0, max = 10_000 } = opts;
  return {
    parse(v, path = '') {
      if (!Array.isArray(v)) fail(path, `expected an array, got ${describe(v)}`);
      if (v.length < min || v.length > max) fail(path, `must have ${min}..${max} items`);
      return v.map((x, i) => item.parse(x, `${path}[${i}]`));
    },
  };
}

/** A Uint8Array of bounded length; an ArrayBuffer is accepted and wrapped (IPC may deliver either). */
export function bytes(opts: { max: number; min?: number }): Schema<Uint8Array> {
  return {
    parse(v, path = '') {
      const b = v instanceof Uint8Array ? v : v instanceof ArrayBuffer ? new Uint8Array(v) : undefined;
      if (!b) fail(path, `expected bytes, got ${describe(v)}`);
      if (b.length < (opts.min ?? 0) || b.length > opts.max) fail(path, `must be ${opts.min ?? 0}..${opts.max} bytes`);
      return b;
    },
  };
}

/** A typed array of exactly this class (structured clone keeps the class across processes). */
export function typed(ctor: Uint8ArrayConstructor, opts: { max: number }): Schema<Uint8Array>;
export function typed(ctor: Uint8ClampedArrayConstructor, opts: { max: number }): Schema<Uint8ClampedArray>;
export function typed(ctor: Float64ArrayConstructor, opts: { max: number }): Schema<Float64Array>;
export function typed(ctor: Uint8ArrayConstructor | Uint8ClampedArrayConstructor | Float64ArrayConstructor, opts: { max: number }): Schema<ArrayLike<number>> {
  return {
    parse(v, path = '') {
      if (!(v instanceof ctor)) fail(path, `expected ${ctor.name}, got ${describe(v)}`);
      if (v.length > opts.max) fail(path, `more than ${opts.max} elements`);
      return v;
    },
  };
}

type Shape = Record<string, Schema<unknown>>;
type OptionalKeys<S extends Shape> = { [K in keyof S]: S[K] extends { optional: true } ? K : never }[keyof S];
type RequiredKeys<S extends Shape> = Exclude<keyof S, OptionalKeys<S>>;
export type ObjectOf<S extends Shape> = { [K in RequiredKeys<S>]: Infer<S[K]> } & { [K in OptionalKeys<S>]?: Infer<S[K]> };
type Simplify<T> = { [K in keyof T]: T[K] } & {};

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

export function object<S extends Shape>(shape: S): Schema<Simplify<ObjectOf<S>>> & { shape: S } {
  return {
    shape,
    parse(v, path = '') {
      if (!isPlainObject(v)) fail(path, `expected an object, got ${describe(v)}`);
      for (const key of Object.keys(v)) {
        if (!Object.hasOwn(shape, key)) fail(path, `unexpected key ${JSON.stringify(key)}`);
      }
      const out: Record<string, unknown> = {};
      for (const [key, schema] of Object.entries(shape)) {
        const value = schema.parse(v[key], path ? `${path}.${key}` : key);
        if (value !== undefined) out[key] = value;
      }
      return out as Simplify<ObjectOf<S>>;
    },
  };
}

/** A tagged union: the tag field picks the object schema, so error messages stay specific. */
export function tagged<K extends string, M extends Record<string, Schema<object>>>(tag: K, variants: M): Schema<{ [V in keyof M]: Infer<M[V]> }[keyof M]> {
  return {
    parse(v, path = '') {
      if (!isPlainObject(v)) fail(path, `expected an object, got ${describe(v)}`);
      const t = v[tag];
      if (typeof t !== 'string' || !Object.hasOwn(variants, t)) {
        fail(path ? `${path}.${tag}` : tag, `expected one of ${Object.keys(variants).join(', ')}`);
      }
      return variants[t]!.parse(v, path) as { [V in keyof M]: Infer<M[V]> }[keyof M];
    },
  };
}

/** Non-throwing form for places that must never throw (IPC handlers, message loops). */
export function safeParse<T>(schema: Schema<T>, value: unknown): { ok: true; value: T } | { ok: false; error: string } {
  try {
    return { ok: true, value: schema.parse(value) };
  } catch (e) {
    if (e instanceof SchemaError) return { ok: false, error: e.message };
    // A getter or proxy that throws is still a malformed message, not our bug to crash on.
    return { ok: false, error: `malformed message (${(e as Error)?.message ?? String(e)})` };
  }
}
