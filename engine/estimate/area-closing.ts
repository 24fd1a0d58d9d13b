/** Steps of the map's range [0, 1] the pits are measured on: the map's values themselves are kept. */
const LEVELS = 256;

/**
 * Area closing of a map (Vincent 1993; by union-find as Meijster and Wilkinson 2002): every pit
 * (a 4-connected region lower than all around it) of fewer than `area` pixels is raised to the
 * level at which it joins a region of at least `area` pixels. Where a map has rings (a detector
 * that sees the edge of a blob but not its inside) their insides are raised to the ring's level;
 * regions of `area` or more, and the map's large low background, are left as they are.
 *
 * out(x) = the lowest v >= f(x) such that the 4-connected component of {f <= v} holding x has at
 * least `area` pixels (the map's highest value when even the whole map is smaller), with f's range
 * [0, 1] taken on LEVELS steps: a pit is raised to its rim's value, not to its step.
 */
export function areaClosing(f: Float32Array, h: number, w: number, area: number): Float32Array {
  const n = h * w;
  if (f.length !== n) throw new Error(`areaClosing: ${f.length} values for a ${w}x${h} map`);
  const out = Float32Array.from(f);
  if (area <= 1 || n === 0) return out;
  // Pixels in increasing order of level (ties by index): f in [0, 1] on LEVELS steps, by counting.
  const level = new Uint8Array(n);
  const count = new Int32Array(LEVELS + 1);
  for (let i = 0; i < n; i++) {
    const v = f[i] < 0 ? 0 : f[i] > 1 ? 1 : f[i];
    level[i] = Math.round(v * (LEVELS - 1));
    count[level[i] + 1]++;
  }
  for (let l = 0; l < LEVELS; l++) count[l + 1] += count[l];
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[count[level[i]]++] = i;
  const parent = new Int32Array(n).fill(-1);
  // Pixels per component (at its root); a component counted large holds at least `least`.
  const size = new Int32Array(n);
  const least = Math.ceil(area);
  const find = (x: number): number => {
    let r = x;
    while (parent[r] !== r) r = parent[r];
    while (parent[x] !== r) {
      const next = parent[x];
      parent[x] = r;
      x = next;
    }
    return r;
  };
  for (let k = 0; k < n; k++) {
    const x = order[k];
    parent[x] = x;
    size[x] = 1;
    // The root of x's component so far, always at x's level.
    let cur = x;
    const y = (x / w) | 0;
    const c = x - y * w;
    for (let d = 0; d < 4; d++) {
      const q = d === 0 ? (c > 0 ? x - 1 : -1) : d === 1 ? (c < w - 1 ? x + 1 : -1) : d === 2 ? (y > 0 ? x - w : -1) : y < h - 1 ? x + w : -1;
      if (q < 0 || parent[q] < 0) continue;
      const r = find(q);
      if (r === cur) continue;
      if (level[r] === level[cur]) {
        // One plateau: the smaller tree under the larger one's root.
        if (size[r] >= size[cur]) {
          parent[cur] = r;
          size[r] += size[cur];
          cur = r;
        } else {
          parent[r] = cur;
          size[cur] += size[r];
        }
      } else if (size[r] < least) {
        // A pit still too small: it rises to x's level.
        parent[r] = cur;
        size[cur] += size[r];
      } else size[cur] = Math.max(size[cur], least);
    }
  }
  // A component stopped growing upwards once it had `area` pixels: its root's level is the level
  // every pixel under it rises to.
  for (let x = 0; x < n; x++) out[x] = Math.max(f[x], f[find(x)]);
  return out;
}
