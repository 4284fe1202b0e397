import { newId } from '../core/ids.ts';
import type { Change, DiffStat } from '../core/run.ts';
import type { Queryable } from './db.ts';

interface ChangeRow {
  id: string;
  run_id: string;
  repo_id: string;
  branch: string;
  base_commit: string;
  head_commit: string;
  title: string;
  body: string;
  diffstat: DiffStat;
  diff: string;
  state: string;
  url: string | null;
  created_at: Date;
}

function toChange(row: ChangeRow): Change {
  return {
    id: row.id,
    runId: row.run_id,
    repoId: row.repo_id,
    branch: row.branch,
    baseCommit: row.base_commit,
    headCommit: row.head_commit,
    title: row.title,
    body: row.body,
    diffstat: row.diffstat,
    diff: row.diff,
    state: row.state,
    url: row.url,
    createdAt: row.created_at,
  };
}

export type NewChange = Omit<Change, 'id' | 'createdAt'>;

/** One change per run: a retried publish updates the record instead of adding a second one. */
export function changesQueries(db: Queryable) {
  return {
    /**
     * Records a run's change. A fleet's run updates the change of its repo in place (same
     * branch, same pull request): the repo's earlier changes on that branch become `superseded`.
     */
    async record(change: NewChange): Promise<Change> {
      const rows = await db.query<ChangeRow>(
        `WITH recorded AS (
           INSERT INTO changes (id, run_id, repo_id, branch, base_commit, head_commit, title, body, diffstat, diff, state, url)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
           ON CONFLICT (run_id) DO UPDATE SET branch = EXCLUDED.branch, base_commit = EXCLUDED.base_commit,
             head_commit = EXCLUDED.head_commit, title = EXCLUDED.title, body = EXCLUDED.body,
             diffstat = EXCLUDED.diffstat, diff = EXCLUDED.diff, state = EXCLUDED.state, url = EXCLUDED.url
           RETURNING *),
         superseded AS (
           UPDATE changes c SET state = 'superseded'
           WHERE c.repo_id = $3 AND c.branch = $4 AND c.run_id <> $2 AND c.state <> 'superseded'
             AND EXISTS (SELECT 1 FROM fleet_repos fr WHERE fr.run_id = $2))
         SELECT * FROM recorded`,
        [
          newId('chg'),
          change.runId,
          change.repoId,
          change.branch,
          change.baseCommit,
          change.headCommit,
          change.title,
          change.body,
          JSON.stringify(change.diffstat),
          change.diff,
          change.state,
          change.url,
        ],
      );
      return toChange(rows[0]!);
    },

    /** The head Nightshift pushed last to `branch` of the repo, from a run other than `exceptRunId`. */
    async lastHead(repoId: string, branch: string, exceptRunId: string): Promise<string | null> {
      const rows = await db.query<{ head_commit: string }>(
        `SELECT head_commit FROM changes WHERE repo_id = $1 AND branch = $2 AND run_id <> $3
         ORDER BY created_at DESC, id DESC LIMIT 1`,
        [repoId, branch, exceptRunId],
      );
      return rows[0]?.head_commit ?? null;
    },

    /** Marks a change opened (a deferred change the rollout opened): its state and URL; an earlier failure is cleared. */
    async opened(id: string, state: string, url: string | null): Promise<void> {
      await db.query(
        `UPDATE changes SET state = $2, url = $3, open_error = NULL, open_failed_at = NULL, next_open_at = NULL
         WHERE id = $1`,
        [id, state, url],
      );
    },

    /** Records why an attempt to open a deferred change failed; the next attempt waits for its backoff. */
    async openFailed(id: string, message: string): Promise<void> {
      await db.query('UPDATE changes SET open_error = $2, open_failed_at = now() WHERE id = $1', [
        id,
        message,
      ]);
    },

    async forRun(runId: string): Promise<Change | null> {
      const rows = await db.query<ChangeRow>('SELECT * FROM changes WHERE run_id = $1', [runId]);
      return rows[0] ? toChange(rows[0]) : null;
    },
  };
}
