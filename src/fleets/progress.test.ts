import { describe, expect, it } from 'vitest';
import { fleetProgress, progressText } from './progress.ts';
import type { FleetCounts } from './store.ts';

const counts = (some: Partial<FleetCounts>): FleetCounts => ({
  pending: 0,
  queued: 0,
  running: 0,
  waiting: 0,
  succeeded: 0,
  no_changes: 0,
  failed: 0,
  cancelled: 0,
  ...some,
});

describe('fleet progress', () => {
  it('counts every concluded repo as done, those waiting for the rollout too', () => {
    const c = counts({ queued: 1, running: 1, waiting: 1, succeeded: 2, failed: 1 });

    expect(fleetProgress(c)).toEqual({ done: 4, total: 6 });
    expect(progressText(c)).toBe('4/6 repos done · 1 failed · 1 waiting for rollout');
    expect(progressText(counts({ succeeded: 1 }))).toBe('1/1 repo done');
  });
});
