import type { Queryable } from '../../store/db.ts';

/** Sets the state (`open`, `merged`, `closed`) of the changes published as the pull request at `url`; returns how many. */
export async function trackPullState(
  db: Queryable,
  url: string,
  state: 'open' | 'merged' | 'closed',
): Promise<number> {
  const rows = await db.query('UPDATE changes SET state = $2 WHERE url = $1 RETURNING id', [url, state]);
  return rows.length;
}
