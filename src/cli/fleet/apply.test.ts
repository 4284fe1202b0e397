import { afterEach, describe, expect, it, vi } from 'vitest';
import type { FleetProgress, FleetStatus } from '../../fleets/service.ts';
import type { FleetCounts } from '../../fleets/store.ts';
import type { FleetsClient } from '../fleets-client.ts';
import { followAndReport } from './apply.ts';

const fleet: FleetStatus['fleet'] = {
  name: 'f',
  spec: {} as FleetStatus['fleet']['spec'],
  state: 'active',
  stateReason: null,
  createdAt: new Date(0),
  updatedAt: new Date(0),
};

function progress(running: number, succeeded: number): FleetProgress {
  const counts: FleetCounts = {
    pending: 0,
    queued: 0,
    running,
    waiting: 0,
    succeeded,
    no_changes: 0,
    failed: 0,
    cancelled: 0,
  };
  return { fleet, counts, total: running + succeeded };
}

describe('following a fleet', () => {
  afterEach(() => vi.restoreAllMocks());

  it('reads only its counts while it goes, and its whole status once at the end', async () => {
    const steps = [progress(2, 0), progress(1, 1), progress(0, 2)];
    const final: FleetStatus = {
      ...progress(0, 2),
      failures: [],
      openFailures: [],
      lapsed: 0,
      nextChangeAt: null,
    };
    const calls = { progress: 0, status: 0 };
    const client = {
      progress: async () => steps[Math.min(calls.progress++, steps.length - 1)]!,
      status: async () => {
        calls.status++;
        return final;
      },
    } as Partial<FleetsClient> as FleetsClient;
    const written: string[] = [];
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
      written.push(String(chunk));
      return true;
    });

    const code = await followAndReport(client, 'f', { applied: true }, { json: true, executor: 'embedded' });

    expect(code).toBe(0);
    expect(calls).toEqual({ progress: 3, status: 1 });
    expect(JSON.parse(written.join(''))).toMatchObject({ applied: true, status: { total: 2, lapsed: 0 } });
  });
});
