import type { Queryable } from '../../store/db.ts';

/** Where a pull request stands, as a change's `state`. */
export type PullState = 'draft' | 'open' | 'merged' | 'closed';

/** Where a commit's checks stand: any failing one makes it failing, else any pending one pending. */
export type ChecksState = 'passing' | 'failing' | 'pending';

/** The state of a pull request as the REST API or a webhook shows it. */
export function pullState(pull: {
  state: string;
  merged?: boolean | null;
  merged_at?: string | null;
  draft?: boolean;
}): PullState {
  if (pull.state === 'closed') return pull.merged || pull.merged_at ? 'merged' : 'closed';
  return pull.draft ? 'draft' : 'open';
}

const PASSING = new Set(['success', 'neutral', 'skipped']);

/** One suite's or check's state from its `status` and `conclusion`. */
export function checkState(
  status: string | null | undefined,
  conclusion: string | null | undefined,
): ChecksState {
  if (status !== 'completed' || !conclusion) return 'pending';
  return PASSING.has(conclusion) ? 'passing' : 'failing';
}

/**
 * A commit status's state (GitHub's older Statuses API, and the `status` webhook):
 * `success` passes, `failure` and `error` fail, `pending` waits.
 */
export function statusState(state: string | null | undefined): ChecksState {
  if (state === 'success') return 'passing';
  if (state === 'failure' || state === 'error') return 'failing';
  return 'pending';
}

/** The overall state of a change's checks (`null`: no check reported yet). */
export function overallChecks(checks: Record<string, string> | null | undefined): ChecksState | null {
  const states = Object.values(checks ?? {});
  if (states.length === 0) return null;
  if (states.includes('failing')) return 'failing';
  if (states.includes('pending')) return 'pending';
  return 'passing';
}

/** Sets the state of the changes published as the pull request at `url`; returns how many. */
export async function trackPullState(db: Queryable, url: string, state: PullState): Promise<number> {
  const rows = await db.query(
    'UPDATE changes SET state = $2, state_updated_at = now() WHERE url = $1 RETURNING id',
    [url, state],
  );
  return rows.length;
}

/**
 * Records one suite's, check's or status's state (`key`: `suite:APP`, `run:NAME`, `status:CONTEXT`) on the changes of the
 * repo at `repoUrl` whose head is `sha`; returns how many changes it concerned.
 */
export async function trackCheck(
  db: Queryable,
  repoUrl: string,
  sha: string,
  key: string,
  state: ChecksState,
): Promise<number> {
  const rows = await db.query(
    `UPDATE changes SET checks = checks || jsonb_build_object($3::text, $4::text), state_updated_at = now()
     WHERE head_commit = $2 AND repo_id IN (SELECT id FROM repos WHERE lower(url) = lower($1)) RETURNING id`,
    [repoUrl, sha, key, state],
  );
  return rows.length;
}
