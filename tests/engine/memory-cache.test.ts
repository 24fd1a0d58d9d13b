/**
 * The memory probe's runner and its cost cache (engine/model/memory.ts): the cache lives in the
 * user's cache folder, is written atomically, and anything in it that is not a plausible cost
 * under a key the code writes is ignored, so the probe's own measurement is used instead.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { OnnxDenoiser } from '../../engine/model/denoiser.js';
import { CACHED_BYTES_PER_PIXEL, configureMemoryProbe, defaultCacheDir, type MemoryProbeRequest, modelMemoryCost, nodeProbeRunner, readCostCache } from '../../engine/model/memory.js';

const TINY = join(import.meta.dirname, '..', '.models', 'tiny');
const KEY = `${'ab'.repeat(32)}/cpu/2/64x192`;
const made: string[] = [];
const dir = (): string => {
  made.push(mkdtempSync(join(tmpdir(), 'vmlmap-memcache-')));
  return made.at(-1)!;
};
afterAll(() => made.forEach((d) => rmSync(d, { recursive: true, force: true })));

/** The real Node runner, counted: how many probes actually ran. */
function countingRunner(): { runner: (r: MemoryProbeRequest) => Promise<number[]>; calls: MemoryProbeRequest[] } {
  const calls: MemoryProbeRequest[] = [];
  return { calls, runner: (r) => (calls.push(r), nodeProbeRunner(r)) };
}

afterEach(() => configureMemoryProbe({ runner: undefined, cacheDir: undefined }));

describe('where the cache lives', () => {
  it("is the user's cache folder on each platform, never the shared temporary folder", () => {
    expect(defaultCacheDir({ XDG_CACHE_HOME: '/x/cache' }, 'linux', '/home/u')).toBe('/x/cache/vmlmap-restore');
    // A relative XDG_CACHE_HOME is invalid under the XDG rules and ignored.
    expect(defaultCacheDir({ XDG_CACHE_HOME: 'rel/cache' }, 'linux', '/home/u')).toBe('/home/u/.cache/vmlmap-restore');
    expect(defaultCacheDir({}, 'linux', '/home/u')).toBe('/home/u/.cache/vmlmap-restore');
    expect(defaultCacheDir({ XDG_CACHE_HOME: '/x/cache' }, 'darwin', '/Users/u')).toBe('/Users/u/Library/Caches/vmlmap-restore');
    expect(defaultCacheDir({ LOCALAPPDATA: 'C:\\Users\\u\\AppData\\Local' }, 'win32', 'C:\\Users\\u')).toBe('C:\\Users\\u\\AppData\\Local\\vmlmap-restore\\Cache');
    expect(defaultCacheDir({}, 'win32', 'C:\\Users\\u')).toBeUndefined();
    expect(defaultCacheDir({}, 'linux', '')).toBeUndefined();
  });
});

describe('reading the cache', () => {
  const write = (text: string): string => {
    const file = join(dir(), 'cache.json');
    writeFileSync(file, text);
    return file;
  };

  it('keeps a plausible cost under a key the code writes', () => {
    expect(readCostCache(write(JSON.stringify({ [KEY]: 1234.5 })))).toEqual({ [KEY]: 1234.5 });
  });

  it.each([
    ['negative', '-5'],
    ['zero (a model that costs nothing would plan without bound)', '0'],
    ['below 1 B/px', '0.5'],
    ['huge', '5e9'],
    ['Infinity (1e999 in JSON)', '1e999'],
    ['NaN as a string', '"NaN"'],
    ['a number as a string', '"1234"'],
    ['null', 'null'],
    ['an object', '{"bytes": 1234}'],
  ])('ignores a value that is %s', (_what, value) => {
    expect(readCostCache(write(`{"${KEY}": ${value}}`))).toEqual({});
  });

  it.each([
    ['not JSON', 'garbage{'],
    ['a list', `[["${KEY}", 1234]]`],
    ['a number', '1234'],
    ['keys the code never writes', JSON.stringify({ 'cpu/true': 1234, [`${KEY}/extra`]: 1234, ['../../etc']: 1234, [KEY.toUpperCase()]: 1234 })],
  ])('ignores a file that is %s', (_what, text) => {
    expect(readCostCache(write(text))).toEqual({});
  });

  it('ignores an oversized file and one that is not a regular file (a FIFO would block the read)', () => {
    expect(readCostCache(write(`{"${KEY}": 1234, "pad": "${'x'.repeat(70_000)}"}`))).toEqual({});
    const fifo = join(dir(), 'cache.json');
    execFileSync('mkfifo', [fifo]);
    expect(readCostCache(fifo)).toEqual({});
    expect(readCostCache(join(dir(), 'missing.json'))).toEqual({});
  });

  it('has bounds of 1 B/px to 1 MiB/px', () => {
    expect(CACHED_BYTES_PER_PIXEL).toEqual({ min: 1, max: 2 ** 20 });
  });
});

describe('the probe and the cache together', () => {
  it('measures in a fresh Node, writes the cache atomically, and uses it next time', async () => {
    const cache = dir();
    const count = countingRunner();
    configureMemoryProbe({ runner: count.runner, cacheDir: join(cache, 'nested') });
    const first = await OnnxDenoiser.load(TINY, { provider: 'cpu' });
    const measured = await modelMemoryCost(first, false);
    await first.release();
    expect(count.calls).toHaveLength(1);
    expect(measured.how).not.toMatch(/assumed|cached/);
    expect(measured.bytesPerPixel).toBeGreaterThan(0);
    const file = join(cache, 'nested', 'model-memory-v3.json');
    const written = JSON.parse(readFileSync(file, 'utf8')) as Record<string, number>;
    expect(Object.keys(written)).toHaveLength(1);
    expect(Object.keys(written)[0]).toMatch(/^[0-9a-f]{64}\/cpu\/\d+\/64x192$/);
    // No temporary file of the atomic write left beside it.
    expect(readdirSync(join(cache, 'nested'))).toEqual(['model-memory-v3.json']);

    // A new model object has no in-memory figure: the file answers, no probe runs.
    const key = Object.keys(written)[0]!;
    writeFileSync(file, JSON.stringify({ [key]: 777 }));
    const second = await OnnxDenoiser.load(TINY, { provider: 'cpu' });
    const cached = await modelMemoryCost(second, false);
    await second.release();
    expect(count.calls).toHaveLength(1);
    expect(cached.bytesPerPixel).toBe(777);
    expect(cached.how).toMatch(/cached/);
  });

  it("ignores a tampered figure and uses the probe's own measurement", async () => {
    const cache = dir();
    const count = countingRunner();
    configureMemoryProbe({ runner: count.runner, cacheDir: cache });
    const first = await OnnxDenoiser.load(TINY, { provider: 'cpu' });
    await modelMemoryCost(first, false);
    await first.release();
    const file = join(cache, 'model-memory-v3.json');
    const key = Object.keys(JSON.parse(readFileSync(file, 'utf8')))[0]!;
    for (const bad of ['-1', '1e999', '0', '"NaN"', '5e12']) {
      writeFileSync(file, `{"${key}": ${bad}}`);
      const model = await OnnxDenoiser.load(TINY, { provider: 'cpu' });
      const cost = await modelMemoryCost(model, false);
      await model.release();
      expect(cost.how, bad).not.toMatch(/cached|assumed/);
      expect(cost.bytesPerPixel, bad).toBeGreaterThanOrEqual(CACHED_BYTES_PER_PIXEL.min);
      expect(cost.bytesPerPixel, bad).toBeLessThan(1e5);
    }
    expect(count.calls).toHaveLength(6);
    // The probe's figure replaced the tampered one.
    expect(Object.values(JSON.parse(readFileSync(file, 'utf8')))[0]).toBeGreaterThanOrEqual(CACHED_BYTES_PER_PIXEL.min);
  });

  it("defaults to the user's cache folder, and keeps nothing on disk when told to (cacheDir null)", async () => {
    const xdg = dir();
    const saved = process.env.XDG_CACHE_HOME;
    process.env.XDG_CACHE_HOME = xdg;
    try {
      const count = countingRunner();
      configureMemoryProbe({ runner: count.runner, cacheDir: null });
      const model = await OnnxDenoiser.load(TINY, { provider: 'cpu' });
      expect((await modelMemoryCost(model, false)).how).not.toMatch(/assumed/);
      expect(existsSync(join(xdg, 'vmlmap-restore'))).toBe(false);
      configureMemoryProbe({ cacheDir: undefined });
      const again = await OnnxDenoiser.load(TINY, { provider: 'cpu' });
      await modelMemoryCost(again, false);
      await Promise.all([model.release(), again.release()]);
      expect(count.calls).toHaveLength(2);
      expect(readdirSync(join(xdg, 'vmlmap-restore'))).toEqual(['model-memory-v3.json']);
    } finally {
      if (saved === undefined) delete process.env.XDG_CACHE_HOME;
      else process.env.XDG_CACHE_HOME = saved;
    }
  });

  it('falls back to the assumed figure, saying so, when the runner returns nonsense', async () => {
    configureMemoryProbe({ runner: async () => [1, 2], cacheDir: null });
    const model = await OnnxDenoiser.load(TINY, { provider: 'cpu' });
    const cost = await modelMemoryCost(model, false);
    await model.release();
    expect(cost.how).toMatch(/assumed: memory probe returned \[1,2\]/);
    expect(cost.bytesPerPixel).toBe(4096);
  });
});
