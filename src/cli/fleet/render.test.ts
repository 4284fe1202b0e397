import { describe, expect, it } from 'vitest';
import type { FleetStatus } from '../../fleets/service.ts';
import type { FleetState } from '../../fleets/store.ts';
import { progressLine } from './render.ts';

function status(state: FleetState, done: number): FleetStatus {
  const counts = {
    pending: 0,
    queued: 4 - done,
    running: 0,
    waiting: 0,
    succeeded: 0,
    no_changes: 0,
    failed: done,
    cancelled: 0,
  };
  return {
    fleet: {
      name: 'f',
      spec: {} as FleetStatus['fleet']['spec'],
      state,
      stateReason: null,
      createdAt: new Date(),
      updatedAt: new Date(),
    },
    counts,
    total: 4,
    failures: [],
    openFailures: [],
  };
}

describe('the fleet progress line', () => {
  it('estimates the time left from the pace so far', () => {
    const line = progressLine(status('active', 2), Date.now() - 2_000, 0);

    expect(line).toMatch(/^\[#{12}\.{12}\] 2\/4 done · 0 running · 2 queued · 2 failed · ETA \d/);
  });

  it('shows a paused fleet as paused, with no ETA (it starts nothing more)', () => {
    const line = progressLine(status('paused', 2), Date.now() - 2_000, 0);

    expect(line).toBe('[############............] 2/4 done · 0 running · 2 queued · 2 failed · paused');
  });
});
