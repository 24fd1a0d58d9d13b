/**
 * A sparse 1-D resampling matrix (compressed rows) and its application along the width or the
 * height of a stack of planes, with the exact transposes. A separable 2-D resampler is the two
 * passes in turn; its adjoint is the transposed passes in reverse order.
 */

export interface SparseRows {
  readonly nOut: number;
  readonly nIn: number;
  /** Row i's entries are start[i] .. start[i + 1] - 1. */
  readonly start: Int32Array;
  readonly index: Int32Array;
  readonly weight: Float64Array;
}

/** Builds the matrix from each output row's (input index, weight) pairs, merging repeated indices. */
export function sparseRows(nIn: number, rows: Map<number, number>[]): SparseRows {
  const start = new Int32Array(rows.length + 1);
  const index: number[] = [];
  const weight: number[] = [];
  rows.forEach((entries, i) => {
    for (const [j, v] of [...entries].sort((a, b) => a[0] - b[0])) {
      index.push(j);
      weight.push(v);
    }
    start[i + 1] = index.length;
  });
  return { nOut: rows.length, nIn, start, index: Int32Array.from(index), weight: Float64Array.from(weight) };
}

/** Resamples every row of a (lines x m.nIn) array to m.nOut columns. */
export function alongWidth(x: Float64Array, lines: number, m: SparseRows): Float64Array {
  const { nIn, nOut, start, index, weight } = m;
  const out = new Float64Array(lines * nOut);
  for (let r = 0; r < lines; r++) {
    const src = r * nIn;
    const dst = r * nOut;
    for (let i = 0; i < nOut; i++) {
      let sum = 0;
      for (let k = start[i]; k < start[i + 1]; k++) sum += weight[k] * x[src + index[k]];
      out[dst + i] = sum;
    }
  }
  return out;
}

export function alongWidthTransposed(y: Float64Array, lines: number, m: SparseRows): Float64Array {
  const { nIn, nOut, start, index, weight } = m;
  const out = new Float64Array(lines * nIn);
  for (let r = 0; r < lines; r++) {
    const src = r * nOut;
    const dst = r * nIn;
    for (let i = 0; i < nOut; i++) {
      const v = y[src + i];
      for (let k = start[i]; k < start[i + 1]; k++) out[dst + index[k]] += weight[k] * v;
    }
  }
  return out;
}

/** Resamples every column of each of `planes` (m.nIn x w) planes to m.nOut rows. */
export function alongHeight(x: Float64Array, planes: number, w: number, m: SparseRows): Float64Array {
  const { nIn, nOut, start, index, weight } = m;
  const out = new Float64Array(planes * nOut * w);
  for (let c = 0; c < planes; c++) {
    for (let i = 0; i < nOut; i++) {
      const dst = (c * nOut + i) * w;
      for (let k = start[i]; k < start[i + 1]; k++) {
        const v = weight[k];
        const src = (c * nIn + index[k]) * w;
        for (let j = 0; j < w; j++) out[dst + j] += v * x[src + j];
      }
    }
  }
  return out;
}

export function alongHeightTransposed(y: Float64Array, planes: number, w: number, m: SparseRows): Float64Array {
  const { nIn, nOut, start, index, weight } = m;
  const out = new Float64Array(planes * nIn * w);
  for (let c = 0; c < planes; c++) {
    for (let i = 0; i < nOut; i++) {
      const src = (c * nOut + i) * w;
      for (let k = start[i]; k < start[i + 1]; k++) {
        const v = weight[k];
        const dst = (c * nIn + index[k]) * w;
        for (let j = 0; j < w; j++) out[dst + j] += v * y[src + j];
      }
    }
  }
  return out;
}
