/**
 * The image graph Laplacian L = G^T G, G the forward differences along rows and columns with a
 * reflecting border (no difference across it), per channel: (L x)_p = sum over the 4-neighbours q
 * inside the image of (x_p - x_q). Symmetric positive semidefinite; its null space is the constants.
 */
export function laplacian(x: Float64Array, c: number, h: number, w: number): Float64Array {
  const out = new Float64Array(x.length);
  for (let ch = 0; ch < c; ch++) {
    const o = ch * h * w;
    for (let i = 0; i < h; i++)
      for (let j = 0; j < w; j++) {
        const p = o + i * w + j;
        const v = x[p];
        let s = 0;
        if (i > 0) s += v - x[p - w];
        if (i < h - 1) s += v - x[p + w];
        if (j > 0) s += v - x[p - 1];
        if (j < w - 1) s += v - x[p + 1];
        out[p] = s;
      }
  }
  return out;
}
