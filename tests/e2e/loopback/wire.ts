/**
 * The loopback transport's encoding: JSON for structure, raw bytes for typed arrays, so images
 * travel as binary here too (as they do over Electron IPC's structured clone), never as base64.
 * Frame: u32 JSON length, JSON, then the binary parts in order. Used by both ends of the loopback.
 */

type Bin = Uint8Array | Uint8ClampedArray | Float64Array;
const TYPES = { Uint8Array, Uint8ClampedArray, Float64Array } as const;
type TypeName = keyof typeof TYPES;

export function encode(value: unknown): Uint8Array {
  const parts: Bin[] = [];
  const json = JSON.stringify(value ?? null, (_key, v: unknown) => {
    if (v instanceof Uint8Array || v instanceof Uint8ClampedArray || v instanceof Float64Array) {
      parts.push(v);
      return { $bin: parts.length - 1, type: v.constructor.name as TypeName };
    }
    if (v instanceof ArrayBuffer) {
      parts.push(new Uint8Array(v));
      return { $bin: parts.length - 1, type: 'Uint8Array' };
    }
    return v;
  });
  const head = new TextEncoder().encode(json);
  const lengths = parts.map((p) => p.byteLength);
  const out = new Uint8Array(4 + head.length + 4 * parts.length + lengths.reduce((a, b) => a + b, 0));
  const view = new DataView(out.buffer);
  view.setUint32(0, head.length, true);
  out.set(head, 4);
  let at = 4 + head.length;
  for (const n of lengths) {
    view.setUint32(at, n, true);
    at += 4;
  }
  for (const p of parts) {
    out.set(new Uint8Array(p.buffer, p.byteOffset, p.byteLength), at);
    at += p.byteLength;
  }
  return out;
}

export function decode(bytes: Uint8Array): unknown {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = view.getUint32(0, true);
  const json = new TextDecoder().decode(bytes.subarray(4, 4 + n));
  // Binary part count is only known from the JSON; collect references first.
  const refs: { index: number; type: TypeName }[] = [];
  const parsed: unknown = JSON.parse(json, (_key, v: unknown) => {
    if (v && typeof v === 'object' && '$bin' in v) {
      const r = v as { $bin: number; type: TypeName };
      refs.push({ index: r.$bin, type: r.type });
      return v;
    }
    return v;
  });
  const count = refs.length ? Math.max(...refs.map((r) => r.index)) + 1 : 0;
  let at = 4 + n;
  const lengths: number[] = [];
  for (let i = 0; i < count; i++, at += 4) lengths.push(view.getUint32(at, true));
  const blobs: ArrayBuffer[] = [];
  for (const len of lengths) {
    blobs.push(bytes.slice(at, at + len).buffer);
    at += len;
  }
  const revive = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(revive);
    if (v && typeof v === 'object') {
      if ('$bin' in v) {
        const r = v as { $bin: number; type: TypeName };
        const Ctor = TYPES[r.type];
        if (!Ctor) throw new Error(`unknown binary type ${String(r.type)}`);
        return new Ctor(blobs[r.$bin]!);
      }
      const o: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v)) o[k] = revive(x);
      return o;
    }
    return v;
  };
  return revive(parsed);
}

/** Length-prefixed frames for the event stream. */
export function frame(payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + payload.length);
  new DataView(out.buffer).setUint32(0, payload.length, true);
  out.set(payload, 4);
  return out;
}
