import { describe, expect, it } from 'vitest';
import { recordedChange } from '../../../test/support/changes.ts';
import { DATABASE_KINDS, useTestStore } from '../../../test/support/databases.ts';
import { checkState, overallChecks, pullState, trackCheck, trackPullState } from './pr-state.ts';

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

describe.each(DATABASE_KINDS)('tracking a change on GitHub (%s)', (kind) => {
  const store = useTestStore(kind);
  const URL = 'https://github.com/acme/app/pull/3';

  const change = (head: string) =>
    recordedChange(store(), { repo: 'acme/app', branch: 'nightshift/x', head, state: 'open', url: URL });

  const checksOf = async (id: string) =>
    (
      await store().db.query<{ checks: Record<string, string>; state: string }>(
        'SELECT checks, state FROM changes WHERE id = $1',
        [id],
      )
    )[0]!;

  it('keeps each check apart, only for the change whose head was checked, in any case of the repo URL', async () => {
    const head = 'a'.repeat(40);
    const { id } = await change(head);

    expect(await trackCheck(store().db, 'https://github.com/ACME/App', head, 'run:test', 'pending')).toBe(1);
    expect(await trackCheck(store().db, 'https://github.com/acme/app', head, 'suite:ci', 'passing')).toBe(1);
    expect(await trackCheck(store().db, 'https://github.com/acme/app', head, 'run:test', 'failing')).toBe(1);
    expect(
      await trackCheck(store().db, 'https://github.com/acme/app', 'c'.repeat(40), 'run:x', 'failing'),
    ).toBe(0);
    expect(await trackCheck(store().db, 'https://github.com/acme/other', head, 'run:x', 'failing')).toBe(0);
    expect(await trackPullState(store().db, URL, 'merged')).toBe(1);

    expect(await checksOf(id)).toEqual({
      checks: { 'run:test': 'failing', 'suite:ci': 'passing' },
      state: 'merged',
    });
  });
});
