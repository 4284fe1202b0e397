import { describe, expect, it } from 'vitest';
import { checkState, overallChecks, pullState } from './pr-state.ts';

describe('pull request and checks states', () => {
  it.each([
    [{ state: 'open' }, 'open'],
    [{ state: 'open', draft: true }, 'draft'],
    [{ state: 'closed', merged: true }, 'merged'],
    [{ state: 'closed', merged_at: '2026-11-23T10:00:00Z', draft: false }, 'merged'],
    [{ state: 'closed', merged: false, draft: true }, 'closed'],
  ])('%o is %s', (pull, state) => {
    expect(pullState(pull)).toBe(state);
  });

  it.each([
    ['queued', null, 'pending'],
    ['in_progress', null, 'pending'],
    ['completed', null, 'pending'],
    ['completed', 'success', 'passing'],
    ['completed', 'neutral', 'passing'],
    ['completed', 'skipped', 'passing'],
    ['completed', 'failure', 'failing'],
    ['completed', 'timed_out', 'failing'],
    ['completed', 'cancelled', 'failing'],
    ['completed', 'action_required', 'failing'],
  ])('a check %s/%s is %s', (status, conclusion, state) => {
    expect(checkState(status, conclusion)).toBe(state);
  });

  it.each([
    [{}, null],
    [{ 'run:a': 'passing', 'run:b': 'passing' }, 'passing'],
    [{ 'run:a': 'passing', 'run:b': 'pending' }, 'pending'],
    [{ 'run:a': 'pending', 'suite:ci': 'failing' }, 'failing'],
  ])('checks %o are %s overall', (checks, state) => {
    expect(overallChecks(checks)).toBe(state);
  });
});
