/** Plain Float64Array arithmetic shared by the conjugate-gradient solvers. */

export function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}
