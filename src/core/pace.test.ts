import { describe, expect, it } from 'vitest';
import { pacer } from './pace.ts';

describe('pacer', () => {
  it('lets timers and I/O callbacks run on every n-th call only', async () => {
    const pace = pacer(4);
    let turns = 0;
    const turn = () =>
      setImmediate(() => {
        turns += 1;
        turn();
      });
    turn();
    const seen: number[] = [];
    for (let i = 0; i < 12; i++) {
      await pace();
      seen.push(turns);
    }
    // The immediate queue ran once after the 4th, 8th and 12th call, and never in between.
    expect(seen).toEqual([0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3]);
  });
});
