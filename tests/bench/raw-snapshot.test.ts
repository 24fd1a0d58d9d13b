import { describe, expect, it } from 'vitest';
import { rawSnapshot } from '../../bench/raw-snapshot.js';

describe('the benchmark raw store', () => {
  const earlier = new Map([
    ['a', 1],
    ['b', 2],
    ['c', 3],
  ]);
  it('keeps the earlier runs not yet reached while the plan is walked', () => {
    // Interrupted after re-running 'a' (now 10): 'b' and 'c' must survive for the next --resume.
    expect(rawSnapshot([10], ['a'], earlier, false)).toEqual({ records: [10, 2, 3], keys: ['a', 'b', 'c'] });
  });
  it('holds only what the plan reached once it is walked', () => {
    expect(rawSnapshot([10, 2], ['a', 'b'], earlier, true)).toEqual({ records: [10, 2], keys: ['a', 'b'] });
  });
});
