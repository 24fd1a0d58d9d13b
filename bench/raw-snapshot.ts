/**
 * What bench-out/<plan>/raw.json holds after each run. Until the plan has been walked, the earlier
 * runs that --resume loaded but the loop has not reached yet are kept too: an interrupted resumed
 * run must not lose them (a later `--resume --only` run would otherwise skip them for good).
 */
export function rawSnapshot<R>(records: R[], keys: string[], earlier: ReadonlyMap<string, R>, final: boolean): { records: R[]; keys: string[] } {
  const seen = new Set(keys);
  const pending = final ? [] : [...earlier].filter(([k]) => !seen.has(k));
  return { records: [...records, ...pending.map(([, r]) => r)], keys: [...keys, ...pending.map(([k]) => k)] };
}
