/**
 * The mask operations as pure functions on small grids, checked pixel by pixel: the brush line
 * (a capsule), polygon fill (nonzero winding), the distance transform under grow and shrink (an
 * exact Euclidean disc), and feather (soft levels falling with the distance). Each is compared with
 * a brute-force reference written from its definition, and with hand-worked cases.
 */
import { describe, expect, it } from 'vitest';
import { FAR, squaredDistances } from '../../../renderer/src/mask/distance';
import { feather } from '../../../renderer/src/mask/feather';
import { stampLine } from '../../../renderer/src/mask/line';
import { grow, shrink } from '../../../renderer/src/mask/morphology';
import { fillPolygon, polygonBounds } from '../../../renderer/src/mask/polygon';
import { changedRect, countLevels, FULL, invertInPlace } from '../../../renderer/src/mask/raster';

type Pt = { x: number; y: number };

/** A small deterministic generator, so failures reproduce. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** The grid as rows of '#' (255), '.' (0) or the level, for readable failures and expectations. */
function picture(m: Uint8Array, w: number): string[] {
  const rows: string[] = [];
  for (let y = 0; y < m.length / w; y++) rows.push(Array.from(m.subarray(y * w, (y + 1) * w), (v) => (v === 255 ? '#' : v === 0 ? '.' : '+')).join(''));
  return rows;
}

function fromPicture(rows: string[]): Uint8Array {
  return Uint8Array.from(rows.join(''), (c) => (c === '#' ? FULL : 0));
}

/** The set pixels' bounding box, as the operations report what they touched. */
function bbox(m: Uint8Array, w: number): { x: number; y: number; w: number; h: number } {
  let x0 = Infinity;
  let y0 = Infinity;
  let x1 = -1;
  let y1 = -1;
  m.forEach((v, i) => {
    if (!v) return;
    const x = i % w;
    const y = Math.floor(i / w);
    x0 = Math.min(x0, x);
    x1 = Math.max(x1, x);
    y0 = Math.min(y0, y);
    y1 = Math.max(y1, y);
  });
  return x1 < 0 ? { x: 0, y: 0, w: 0, h: 0 } : { x: x0, y: y0, w: x1 - x0 + 1, h: y1 - y0 + 1 };
}

describe('stampLine: the brush line', () => {
  /** Pixels whose centre is within r of the segment a-b. */
  function capsule(w: number, h: number, a: Pt, b: Pt, r: number): Uint8Array {
    const m = new Uint8Array(w * h);
    const dx = b.x - a.x;
    const dy = b.y - a.y;
    const len2 = dx * dx + dy * dy;
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++) {
        const t = len2 ? Math.max(0, Math.min(1, ((x + 0.5 - a.x) * dx + (y + 0.5 - a.y) * dy) / len2)) : 0;
        m[y * w + x] = Math.hypot(x + 0.5 - a.x - t * dx, y + 0.5 - a.y - t * dy) <= Math.max(0.5, r) ? FULL : 0;
      }
    return m;
  }

  it('draws a one-pixel line along a row, and a dot for a click', () => {
    const m = new Uint8Array(8 * 5);
    const r = stampLine(m, 8, 5, { x: 1.5, y: 2.5 }, { x: 5.5, y: 2.5 }, 0.5, FULL);
    expect(picture(m, 8)).toEqual(['........', '........', '.#####..', '........', '........']);
    expect(r).toEqual({ x: 1, y: 2, w: 5, h: 1 });
    const dot = new Uint8Array(5 * 5);
    stampLine(dot, 5, 5, { x: 2.5, y: 2.5 }, { x: 2.5, y: 2.5 }, 1, FULL);
    expect(picture(dot, 5)).toEqual(['.....', '..#..', '.###.', '..#..', '.....']);
  });

  it('is the exact capsule at any angle and length, clipped at the border', () => {
    const next = rng(1);
    const w = 37;
    const h = 29;
    for (let k = 0; k < 200; k++) {
      const a = { x: next() * 50 - 6, y: next() * 40 - 5 };
      const b = k % 10 === 0 ? a : { x: next() * 50 - 6, y: next() * 40 - 5 };
      const r = 0.3 + next() * 6;
      const m = new Uint8Array(w * h);
      const rect = stampLine(m, w, h, a, b, r, FULL);
      const want = capsule(w, h, a, b, r);
      expect(picture(m, w), JSON.stringify({ a, b, r })).toEqual(picture(want, w));
      expect(rect).toEqual(bbox(want, w));
    }
  });

  it('erases with 0 where it passes, and leaves the rest', () => {
    const m = new Uint8Array(6 * 3).fill(FULL);
    stampLine(m, 6, 3, { x: 0, y: 1.5 }, { x: 6, y: 1.5 }, 0.5, 0);
    expect(picture(m, 6)).toEqual(['######', '......', '######']);
  });
});

describe('fillPolygon: nonzero winding, pixel centres', () => {
  /** Winding number of the closed outline round (px, py), from its definition (sum of signed angles). */
  function winding(points: Pt[], px: number, py: number): number {
    let total = 0;
    for (let i = 0; i < points.length; i++) {
      const p = points[i]!;
      const q = points[(i + 1) % points.length]!;
      let d = Math.atan2(q.y - py, q.x - px) - Math.atan2(p.y - py, p.x - px);
      while (d > Math.PI) d -= 2 * Math.PI;
      while (d < -Math.PI) d += 2 * Math.PI;
      total += d;
    }
    return Math.round(total / (2 * Math.PI));
  }

  it('covers exactly the pixels of a square with corners on pixel boundaries, either way round', () => {
    const square = [
      { x: 2, y: 2 },
      { x: 6, y: 2 },
      { x: 6, y: 6 },
      { x: 2, y: 6 },
    ];
    const want = ['........', '........', '..####..', '..####..', '..####..', '..####..', '........', '........'];
    for (const pts of [square, [...square].reverse()]) {
      const m = new Uint8Array(64);
      expect(fillPolygon(m, 8, 8, pts, FULL)).toEqual({ x: 2, y: 2, w: 4, h: 4 });
      expect(picture(m, 8)).toEqual(want);
    }
  });

  it('gives two squares that share an edge its pixels once, between them', () => {
    const left = [
      { x: 1, y: 1 },
      { x: 4, y: 1 },
      { x: 4, y: 3 },
      { x: 1, y: 3 },
    ];
    const right = left.map((p) => ({ x: p.x + 3, y: p.y }));
    const a = new Uint8Array(9 * 4);
    const b = new Uint8Array(9 * 4);
    fillPolygon(a, 9, 4, left, FULL);
    fillPolygon(b, 9, 4, right, FULL);
    expect(picture(a, 9)).toEqual(['.........', '.###.....', '.###.....', '.........']);
    expect(picture(b, 9)).toEqual(['.........', '....###..', '....###..', '.........']);
  });

  it('fills where the outline goes round twice, and the middle of a pentagram (which even-odd leaves empty)', () => {
    const twice = [
      { x: 1, y: 1 },
      { x: 5, y: 1 },
      { x: 5, y: 5 },
      { x: 1, y: 5 },
      { x: 1, y: 1 },
      { x: 5, y: 1 },
      { x: 5, y: 5 },
      { x: 1, y: 5 },
    ];
    const m = new Uint8Array(36);
    fillPolygon(m, 6, 6, twice, FULL);
    expect(countLevels(m).restored).toBe(16);
    const star = [0, 2, 4, 1, 3].map((k) => ({ x: 10 + 9 * Math.sin((2 * Math.PI * k) / 5), y: 10 - 9 * Math.cos((2 * Math.PI * k) / 5) }));
    const s = new Uint8Array(400);
    fillPolygon(s, 20, 20, star, FULL);
    expect(s[9 * 20 + 9]).toBe(FULL); // the pentagon in the middle is wound twice
    expect(winding(star, 9.5, 9.5)).toBe(2);
  });

  it('matches the winding number at every pixel centre for random outlines, and erases with 0', () => {
    const next = rng(7);
    const w = 31;
    const h = 23;
    for (let k = 0; k < 60; k++) {
      const pts = Array.from({ length: 3 + Math.floor(next() * 9) }, () => ({ x: next() * 40 - 5, y: next() * 30 - 4 }));
      const m = new Uint8Array(w * h);
      const rect = fillPolygon(m, w, h, pts, FULL);
      const want = new Uint8Array(w * h);
      for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) want[y * w + x] = winding(pts, x + 0.5, y + 0.5) !== 0 ? FULL : 0;
      expect(picture(m, w), JSON.stringify(pts)).toEqual(picture(want, w));
      expect(rect).toEqual(bbox(want, w));
      // Whatever a fill touches lies in the rectangle saved for its undo step.
      const saved = polygonBounds(pts, w, h);
      const r = bbox(want, w);
      if (r.w) expect(r.x >= saved.x && r.y >= saved.y && r.x + r.w <= saved.x + saved.w && r.y + r.h <= saved.y + saved.h).toBe(true);
      const erased = new Uint8Array(w * h).fill(FULL);
      fillPolygon(erased, w, h, pts, 0);
      expect(erased).toEqual(Uint8Array.from(want, (v) => FULL - v));
    }
  });

  it('fills nothing with fewer than three corners', () => {
    const m = new Uint8Array(16);
    const line = [
      { x: 0, y: 0 },
      { x: 4, y: 4 },
    ];
    expect(fillPolygon(m, 4, 4, line, FULL)).toEqual({ x: 0, y: 0, w: 0, h: 0 });
    expect(countLevels(m).marked).toBe(0);
  });
});

describe('squaredDistances', () => {
  it('is the exact squared distance to the nearest seed, FAR with none', () => {
    const next = rng(3);
    const w = 23;
    const h = 17;
    for (const density of [0.02, 0.2, 0.7]) {
      const seeds = Array.from({ length: w * h }, () => next() < density);
      const rect = { x: 3, y: 2, w: 15, h: 12 };
      const d2 = squaredDistances(w, rect, (i) => seeds[i]!);
      for (let y = 0; y < rect.h; y++)
        for (let x = 0; x < rect.w; x++) {
          let best = FAR;
          for (let v = 0; v < rect.h; v++) for (let u = 0; u < rect.w; u++) if (seeds[(rect.y + v) * w + rect.x + u]) best = Math.min(best, (u - x) ** 2 + (v - y) ** 2);
          expect(d2[y * rect.w + x]).toBe(best);
        }
    }
    expect([...squaredDistances(4, { x: 0, y: 0, w: 4, h: 2 }, () => false)]).toEqual(new Array(8).fill(FAR));
  });
});

describe('grow and shrink: an exact Euclidean disc', () => {
  /** Largest (grow) or smallest (shrink) level among the photo's pixels within n of each pixel. */
  function brute(m: Uint8Array, w: number, h: number, n: number, pick: 'max' | 'min'): Uint8Array {
    const out = new Uint8Array(w * h);
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++) {
        let v = pick === 'max' ? 0 : 255;
        for (let dy = -n; dy <= n; dy++)
          for (let dx = -n; dx <= n; dx++) {
            const u = x + dx;
            const t = y + dy;
            if (dx * dx + dy * dy > n * n || u < 0 || t < 0 || u >= w || t >= h) continue;
            v = pick === 'max' ? Math.max(v, m[t * w + u]!) : Math.min(v, m[t * w + u]!);
          }
        out[y * w + x] = v;
      }
    return out;
  }

  it('grows one pixel by 1 into a plus of 5, by 2 into a disc of 13, and shrinks it to nothing', () => {
    const dot = fromPicture(['.......', '.......', '.......', '...#...', '.......', '.......', '.......']);
    expect(picture(grow(dot, 7, 7, 1), 7)).toEqual(['.......', '.......', '...#...', '..###..', '...#...', '.......', '.......']);
    expect(picture(grow(dot, 7, 7, 2), 7)).toEqual(['.......', '...#...', '..###..', '.#####.', '..###..', '...#...', '.......']);
    expect(picture(grow(dot, 7, 7, 3), 7)).toEqual(['...#...', '.#####.', '.#####.', '#######', '.#####.', '.#####.', '...#...']);
    expect(countLevels(shrink(dot, 7, 7, 1)).marked).toBe(0);
    expect(grow(dot, 7, 7, 0)).toEqual(dot);
  });

  it('shrink undoes grow on convex shapes: a rectangle and a digital disc', () => {
    const w = 24;
    const h = 20;
    const rect = new Uint8Array(w * h);
    for (let y = 6; y < 13; y++) rect.fill(FULL, y * w + 7, y * w + 16);
    const disc = new Uint8Array(w * h);
    stampLine(disc, w, h, { x: 12, y: 10 }, { x: 12, y: 10 }, 4.2, FULL);
    for (const shape of [rect, disc])
      for (const n of [1, 2, 3, 5]) {
        const grown = grow(shape, w, h, n);
        expect(countLevels(grown).marked).toBeGreaterThan(countLevels(shape).marked);
        expect(picture(shrink(grown, w, h, n), w), `n = ${n}`).toEqual(picture(shape, w));
      }
  });

  it('equal the grey-level max and min over the disc on random masks, soft levels included', () => {
    const next = rng(11);
    const w = 19;
    const h = 15;
    for (let k = 0; k < 12; k++) {
      const m = new Uint8Array(w * h);
      const soft = k % 2 === 1;
      for (let i = 0; i < m.length; i++) if (next() < 0.25) m[i] = soft ? [255, 200, 120, 40][Math.floor(next() * 4)]! : FULL;
      // Some blocks, so shrinking leaves something.
      for (let y = 3; y < 11; y++) m.fill(soft ? 180 : FULL, y * w + 4 + k, y * w + 12 + k / 2);
      for (const n of [1, 2, 4]) {
        expect(grow(m, w, h, n), `grow ${n}`).toEqual(brute(m, w, h, n, 'max'));
        expect(shrink(m, w, h, n), `shrink ${n}`).toEqual(brute(m, w, h, n, 'min'));
      }
    }
  });

  it('does not shrink a mask where it meets the photo border, nor grow one in from outside', () => {
    const full = new Uint8Array(6 * 4).fill(FULL);
    expect(shrink(full, 6, 4, 2)).toEqual(full);
    const edge = fromPicture(['##....', '##....', '##....']);
    expect(picture(shrink(edge, 6, 3, 1), 6)).toEqual(['#.....', '#.....', '#.....']);
  });
});

describe('feather: soft levels outside the fully marked pixels', () => {
  it('falls from 255 on the mask to 0 at n + 1 pixels, as 255 * (1 - d / (n + 1))', () => {
    const w = 9;
    const dot = new Uint8Array(w * w);
    dot[4 * w + 4] = FULL;
    const n = 2;
    const f = feather(dot, w, w, n);
    for (let y = 0; y < w; y++)
      for (let x = 0; x < w; x++) {
        const d = Math.hypot(x - 4, y - 4);
        expect(f[y * w + x], `(${x}, ${y})`).toBe(d >= n + 1 ? 0 : Math.round(255 * (1 - d / (n + 1))));
      }
    // Hand-worked: the four neighbours at 1 px, the diagonals at sqrt 2, two away at 2 px.
    expect([f[4 * w + 5], f[5 * w + 5], f[4 * w + 6], f[4 * w + 7]]).toEqual([170, 135, 85, 0]);
  });

  it('keeps the mask whole inside, is 0 far outside and never rises moving away from the edge', () => {
    const w = 30;
    const h = 12;
    const m = new Uint8Array(w * h);
    for (let y = 2; y < 10; y++) m.fill(FULL, y * w + 3, y * w + 10);
    const f = feather(m, w, h, 6);
    for (let i = 0; i < m.length; i++) if (m[i] === FULL) expect(f[i]).toBe(FULL);
    for (let y = 0; y < h; y++) {
      const row = Array.from(f.subarray(y * w + 9, y * w + w));
      for (let k = 1; k < row.length; k++) expect(row[k]).toBeLessThanOrEqual(row[k - 1]!);
      expect(row.slice(8)).toEqual(new Array(row.length - 8).fill(0)); // beyond 7 px of the edge
    }
    const across = Array.from(f.subarray(5 * w + 9, 5 * w + 17));
    expect(across).toEqual([255, 219, 182, 146, 109, 73, 36, 0]);
    // Feathering again by the same width changes nothing; higher soft levels are kept.
    expect(feather(f, w, h, 6)).toEqual(f);
    const soft = f.slice();
    soft[5 * w + 16] = 250;
    expect(feather(soft, w, h, 6)[5 * w + 16]).toBe(250);
    expect(feather(m, w, h, 0)).toEqual(m);
  });
});

describe('levels on the plane', () => {
  it('inverts a level l to 255 - l, counts marked and restored pixels, and finds the changed rectangle', () => {
    const m = Uint8Array.from([0, 255, 128, 127, 1]);
    invertInPlace(m);
    expect([...m]).toEqual([255, 0, 127, 128, 254]);
    expect(countLevels(m)).toEqual({ marked: 4, restored: 3 });
    const a = new Uint8Array(5 * 4);
    const b = a.slice();
    expect(changedRect(a, b, 5, 4)).toEqual({ x: 0, y: 0, w: 0, h: 0 });
    b[1 * 5 + 3] = 9;
    b[2 * 5 + 1] = 9;
    expect(changedRect(a, b, 5, 4)).toEqual({ x: 1, y: 1, w: 3, h: 2 });
  });
});
