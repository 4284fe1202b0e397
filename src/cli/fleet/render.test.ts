import { stripVTControlCharacters } from 'node:util';
import { describe, expect, it } from 'vitest';
import type { FleetStatus } from '../../fleets/service.ts';
import type { FleetState } from '../../fleets/store.ts';
import { burnDown, progressLine, statusSummary } from './render.ts';

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
    lapsed: 0,
    nextChangeAt: null,
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

describe('the fleet burn-down as text', () => {
  const point = (seconds: number, done: number) => ({
    at: new Date(Date.UTC(2026, 11, 6, 12, 0, seconds)),
    counts: { ...status('active', done).counts, queued: 40 - done, failed: 0, succeeded: done },
  });

  it('shows a row a point, with the time since the first and the repos done', () => {
    const text = burnDown([point(0, 0), point(30, 20), point(75, 40)]);

    expect(text.split('\n')).toEqual([
      '      +0 ms  [........................] 0/40 done · 0 running · 40 queued · 0 failed',
      '    +30.0 s  [############............] 20/40 done · 0 running · 20 queued · 0 failed',
      '     +1m15s  [########################] 40/40 done · 0 running · 0 queued · 0 failed',
    ]);
  });

  it('samples a long series down to 20 rows, first and last included', () => {
    const series = Array.from({ length: 500 }, (_, i) => point(i, Math.floor((i * 40) / 499)));

    const rows = burnDown(series).split('\n');

    expect(rows).toHaveLength(20);
    expect(rows[0]).toContain('0/40 done');
    expect(rows.at(-1)).toContain('+8m19s');
    expect(rows.at(-1)).toContain('40/40 done');
  });

  it('says when nothing was recorded yet', () => {
    expect(burnDown([])).toContain('no counts recorded yet');
  });
});

describe('the fleet status summary', () => {
  it('says when the rollout next lets a waiting change open', () => {
    const waiting = {
      ...status('active', 0),
      counts: { ...status('active', 0).counts, queued: 0, waiting: 2, succeeded: 2 },
    };
    const at = (ms: number) => ({ ...waiting, nextChangeAt: new Date(Date.now() + ms) });

    expect(statusSummary(at(59 * 60_000 + 30_000)).split('\n')[2]).toMatch(
      /^rollout: the next waiting change may open in 59m(29|30|31)s \(\d{4}-\d\d-\d\dT[\d:.]+Z\)$/,
    );
    expect(statusSummary(at(-5_000)).split('\n')[2]).toBe('rollout: the next waiting change may open now');
    expect(statusSummary(waiting)).not.toContain('rollout:');
  });

  it('says what starts a paused or cancelled fleet again', () => {
    const paused = { ...status('paused', 2) };
    const cancelled = {
      ...status('cancelled', 0),
      counts: { ...status('cancelled', 0).counts, queued: 0, cancelled: 4 },
    };
    const done = { ...status('paused', 4) };
    done.counts = { ...done.counts, failed: 0, succeeded: 4 };
    const text = (s: FleetStatus) => stripVTControlCharacters(statusSummary(s));

    expect(text(paused)).toContain(
      'paused: `nightshift fleet resume f` starts its runs again, `nightshift fleet retry f --failed` reruns the failed repos',
    );
    expect(text(cancelled)).toContain(
      'cancelled: `nightshift fleet apply SPEC` starts the repos that did not finish again',
    );
    expect(text(done)).not.toContain('paused:');
  });
});
