import { describe, expect, it } from 'vitest';
import { RecentFetches } from './recent-fetches.ts';

/** A fetch that counts its calls and ends when `finish` is called. */
function gatedFetch() {
  const state = { calls: 0, finish: () => {}, fail: (_error: Error) => {} };
  const fetch = () => {
    state.calls++;
    return new Promise<void>((resolve, reject) => {
      state.finish = resolve;
      state.fail = reject;
    });
  };
  return { state, fetch };
}

describe('RecentFetches', () => {
  it('lets runs queued before a fetch started share it', async () => {
    const fetches = new RecentFetches();
    const { state, fetch } = gatedFetch();
    const queuedAt = new Date(Date.now() - 1000);

    const first = fetches.run('mirror', queuedAt, fetch);
    const second = fetches.run('mirror', queuedAt, fetch);
    await Promise.resolve();
    state.finish();
    await Promise.all([first, second]);

    expect(state.calls).toBe(1);
  });

  it('fetches again for a run queued after the last fetch started, or without freshAfter', async () => {
    const fetches = new RecentFetches();
    const { state, fetch } = gatedFetch();
    const first = fetches.run('mirror', undefined, fetch);
    state.finish();
    await first;

    const later = fetches.run('mirror', new Date(Date.now() + 1000), fetch);
    state.finish();
    await later;
    const unconditional = fetches.run('mirror', undefined, fetch);
    state.finish();
    await unconditional;

    expect(state.calls).toBe(3);
  });

  it('does not reuse a fetch that failed', async () => {
    const fetches = new RecentFetches();
    const { state, fetch } = gatedFetch();
    const queuedAt = new Date(Date.now() - 1000);
    const first = fetches.run('mirror', queuedAt, fetch);
    state.fail(new Error('network down'));
    await expect(first).rejects.toThrow('network down');

    const retry = fetches.run('mirror', queuedAt, fetch);
    state.finish();
    await retry;

    expect(state.calls).toBe(2);
  });
});
