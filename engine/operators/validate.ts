/**
 * Argument checks common to every operator. A wrong length or a non-positive beta is a bug in the
 * caller, not a user mistake, hence RangeError rather than UserError.
 */

export function checkLength(v: Float64Array, n: number, what: string): void {
  if (v.length !== n) throw new RangeError(`${what}: expected ${n} values, got ${v.length}`);
}

export function checkNormalSolveWeights(alpha: number, beta: number): void {
  if (!(alpha >= 0) || !Number.isFinite(alpha) || !(beta > 0) || !Number.isFinite(beta)) {
    throw new RangeError(`normalSolve needs alpha >= 0 and beta > 0, got alpha=${alpha}, beta=${beta}`);
  }
}
