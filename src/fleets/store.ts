import { notFound } from '../core/errors.ts';
import type { RunConclusion, RunStatus } from '../core/run.ts';
import type { Queryable } from '../store/db.ts';
import { type ChecksState, overallChecks } from '../triggers/github/pr-state.ts';
import type { FleetSpec } from './schema.ts';

/**
 * Where a repo of a fleet stands, from its latest run; `waiting` is a run that succeeded
 * whose change waits for the rollout (rate, windows) to be opened.
 */
export const FLEET_REPO_STATES = [
  'pending',
  'queued',
  'running',
  'waiting',
  'succeeded',
  'no_changes',
  'failed',
  'cancelled',
] as const;
export type FleetRepoState = (typeof FLEET_REPO_STATES)[number];
export type FleetCounts = Record<FleetRepoState, number>;

/** What a fleet did so far for one of its repos: the inputs' hash, its current run, its state. */
export interface FleetRepoSoFar {
  input_hash: string;
  run_id: string | null;
  state: FleetRepoState;
}

export type FleetState = 'active' | 'paused' | 'cancelled';

export interface Fleet {
  name: string;
  spec: FleetSpec;
  state: FleetState;
  /** Why the fleet is paused or cancelled (`stop_when` says which threshold passed). */
  stateReason: string | null;
  createdAt: Date;
  updatedAt: Date;
}

/** Repos that failed the same way: the message, how many, and the first few repos. */
export interface FailureGroup {
  reason: string;
  count: number;
  repos: string[];
}

/** The last failed attempt to open a change the rollout deferred; it is retried after `nextAttemptAt`. */
export interface OpenFailure {
  message: string;
  at: Date;
  /** Attempts made so far. */
  attempts: number;
  nextAttemptAt: Date | null;
}

/** One row of a fleet's repo table. */
export interface FleetRepoRow {
  position: number;
  repoId: string;
  repo: string;
  url: string;
  branch: string;
  inputHash: string;
  state: FleetRepoState;
  runId: string | null;
  status: RunStatus | null;
  conclusion: RunConclusion | null;
  reason: string | null;
  /**
   * The change's state (`local` for a pushed local branch; `draft`, `open`, `merged`, `closed`
   * for pull requests) and its checks (`passing`, `failing`, `pending`; null before any report).
   */
  change: {
    state: string;
    draft: boolean;
    headCommit: string;
    url: string | null;
    checks: ChecksState | null;
    /** Why the change is not open yet, while it waits for the rollout after a failed attempt. */
    openFailure: OpenFailure | null;
  } | null;
}

/** SQL deciding a repo's state from its run (`r`); failures are every unsuccessful conclusion but cancel. */
export const STATE_SQL = `CASE WHEN r.id IS NULL THEN 'pending'
  WHEN r.status = 'queued' THEN 'queued'
  WHEN r.status <> 'completed' THEN 'running'
  WHEN r.conclusion = 'success' AND EXISTS (SELECT 1 FROM changes w WHERE w.run_id = r.id AND w.state = 'pending')
    THEN 'waiting'
  WHEN r.conclusion = 'success' THEN 'succeeded'
  WHEN r.conclusion = 'no_changes' THEN 'no_changes'
  WHEN r.conclusion = 'cancelled' THEN 'cancelled'
  ELSE 'failed' END`;

/** A repo of a fleet that its spec no longer targets, with the state of its run. */
export interface UntargetedRepo {
  repoId: string;
  repo: string;
  url: string;
  runId: string | null;
  state: FleetRepoState;
}

/** A fleet as lists show it: with its counts as last recorded (null before the first). */
export type FleetListed = Fleet & { counts: FleetCounts | null };

interface FleetRow {
  name: string;
  spec: FleetSpec;
  state: FleetState;
  state_reason: string | null;
  created_at: Date;
  updated_at: Date;
}

function toFleet(row: FleetRow): Fleet {
  return {
    name: row.name,
    spec: row.spec,
    state: row.state,
    stateReason: row.state_reason,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

/** Fleet rows: the fleet, its repos (one row each, with the hash of their inputs) and counts over time. */
export function fleetQueries(db: Queryable) {
  return {
    async upsert(spec: FleetSpec): Promise<{ fleet: Fleet; created: boolean }> {
      const rows = await db.query<FleetRow & { created: boolean }>(
        `INSERT INTO fleets (name, spec, state, stop_counted_from) VALUES ($1, $2, 'active', now())
         ON CONFLICT (name) DO UPDATE SET spec = EXCLUDED.spec, state = 'active', state_reason = NULL,
           stop_counted_from = now(), updated_at = now()
         RETURNING *, (xmax = 0) AS created`,
        [spec.name, JSON.stringify(spec)],
      );
      return { fleet: toFleet(rows[0]!), created: rows[0]!.created };
    },

    /** The fleet; with `lock`, its row is locked until the transaction ends (one rollout step at a time). */
    async get(name: string, options: { lock?: boolean } = {}): Promise<Fleet> {
      const rows = await db.query<FleetRow>(
        `SELECT * FROM fleets WHERE name = $1${options.lock ? ' FOR NO KEY UPDATE' : ''}`,
        [name],
      );
      if (!rows[0]) throw notFound('fleet', name, 'list fleets with `nightshift fleet list`');
      return toFleet(rows[0]);
    },

    /**
     * Every fleet, with its counts as last recorded (the burn-down's last point: at most a
     * second old while runs are in flight, exact once they are done; null before the first).
     */
    async list(): Promise<FleetListed[]> {
      const rows = await db.query<FleetRow & { counts: FleetCounts | null }>(
        `SELECT f.*, c.counts FROM fleets f
         LEFT JOIN LATERAL (SELECT counts FROM fleet_counts WHERE fleet = f.name ORDER BY at DESC LIMIT 1) c ON true
         ORDER BY f.name`,
      );
      return rows.map((row) => ({ ...toFleet(row), counts: row.counts }));
    },

    /**
     * For a fleet with changes waiting for the rollout: when the rate next lets one open (its
     * next opening time) and when the first of them is past the backoff of a failed attempt;
     * null when none waits.
     */
    async waitingDue(name: string): Promise<{ rateAt: Date; changeAt: Date } | null> {
      const rows = await db.query<{ rate_at: Date; change_at: Date | null }>(
        `SELECT f.next_start_at AS rate_at,
           (SELECT min(coalesce(c.next_open_at, now())) FROM fleet_repos fr
              JOIN changes c ON c.run_id = fr.run_id JOIN runs r ON r.id = c.run_id
            WHERE fr.fleet = f.name AND c.state = 'pending' AND r.conclusion = 'success') AS change_at
         FROM fleets f WHERE f.name = $1`,
        [name],
      );
      const row = rows[0];
      return row?.change_at ? { rateAt: new Date(row.rate_at), changeAt: new Date(row.change_at) } : null;
    },

    /** Makes `stop_when` judge only the runs that conclude from now on (the fleet resumed or retried). */
    async countFromNow(name: string): Promise<void> {
      await db.query('UPDATE fleets SET stop_counted_from = now() WHERE name = $1', [name]);
    },

    async setState(name: string, state: FleetState, reason: string | null): Promise<void> {
      await db.query('UPDATE fleets SET state = $2, state_reason = $3, updated_at = now() WHERE name = $1', [
        name,
        state,
        reason,
      ]);
    },

    /** What the fleet did so far for each of these repo URLs that it has, by URL. */
    async reposByUrl(name: string, urls: readonly string[]): Promise<Map<string, FleetRepoSoFar>> {
      const rows = await db.query<FleetRepoSoFar & { url: string }>(
        `SELECT p.url, fr.input_hash, fr.run_id, ${STATE_SQL} AS state
         FROM repos p JOIN fleet_repos fr ON fr.repo_id = p.id AND fr.fleet = $1
         LEFT JOIN runs r ON r.id = fr.run_id WHERE p.url = ANY($2)`,
        [name, urls],
      );
      return new Map(rows.map((row) => [row.url, row]));
    },

    /** The fleet's repos at none of `urls` (a spec applied again no longer targets them), by position. */
    async untargeted(name: string, urls: readonly string[]): Promise<UntargetedRepo[]> {
      return db.query<UntargetedRepo>(
        `SELECT fr.repo_id AS "repoId", p.name AS repo, p.url, fr.run_id AS "runId", ${STATE_SQL} AS state
         FROM fleet_repos fr JOIN repos p ON p.id = fr.repo_id LEFT JOIN runs r ON r.id = fr.run_id
         WHERE fr.fleet = $1 AND NOT (p.url = ANY($2)) ORDER BY fr.position`,
        [name, urls],
      );
    },

    /**
     * Takes repos out of the fleet: they leave its counts, table and rollout, and a change of
     * theirs still waiting for the rollout is withdrawn (never opened). Their runs stay in the
     * history.
     */
    async removeRepos(name: string, repoIds: readonly string[]): Promise<void> {
      if (repoIds.length === 0) return;
      await db.query(
        `WITH removed AS (DELETE FROM fleet_repos WHERE fleet = $1 AND repo_id = ANY($2) RETURNING run_id)
         UPDATE changes c SET state = 'withdrawn' FROM removed WHERE c.run_id = removed.run_id AND c.state = 'pending'`,
        [name, repoIds],
      );
    },

    /**
     * Records each repo's current run (new, or replacing the previous one) as held for the
     * rollout, in one statement; new repos take the next positions, in the order given (numbered
     * ahead of the repos already there, whose proposed positions the conflict discards).
     */
    async setRepoRuns(
      name: string,
      rows: readonly { repoId: string; inputHash: string; branch: string; runId: string }[],
    ): Promise<void> {
      if (rows.length === 0) return;
      await db.query(
        `INSERT INTO fleet_repos (fleet, repo_id, position, input_hash, branch, run_id, held)
         SELECT $1, u.repo_id,
           (SELECT coalesce(max(position), 0) FROM fleet_repos WHERE fleet = $1)
             + row_number() OVER (ORDER BY fr.repo_id IS NOT NULL, u.ord),
           u.input_hash, u.branch, u.run_id, true
         FROM unnest($2::text[], $3::text[], $4::text[], $5::text[]) WITH ORDINALITY AS u(repo_id, input_hash, branch, run_id, ord)
           LEFT JOIN fleet_repos fr ON fr.fleet = $1 AND fr.repo_id = u.repo_id
         ON CONFLICT (fleet, repo_id) DO UPDATE SET input_hash = EXCLUDED.input_hash, branch = EXCLUDED.branch,
           run_id = EXCLUDED.run_id, held = true, updated_at = now()`,
        [
          name,
          rows.map((row) => row.repoId),
          rows.map((row) => row.inputHash),
          rows.map((row) => row.branch),
          rows.map((row) => row.runId),
        ],
      );
    },

    /**
     * How many of the fleet's repos are in each state; with `stopCounted`, only the runs
     * `stop_when` judges: those concluded since the fleet was last applied, resumed or retried.
     */
    async counts(name: string, options: { stopCounted?: boolean } = {}): Promise<FleetCounts> {
      const since = options.stopCounted
        ? `AND r.finished_at >= (SELECT coalesce(stop_counted_from, '-infinity') FROM fleets WHERE name = $1)`
        : '';
      const rows = await db.query<{ state: FleetRepoState; n: number }>(
        `SELECT ${STATE_SQL} AS state, count(*)::integer AS n
         FROM fleet_repos fr LEFT JOIN runs r ON r.id = fr.run_id WHERE fr.fleet = $1 ${since} GROUP BY 1`,
        [name],
      );
      const counts = Object.fromEntries(FLEET_REPO_STATES.map((state) => [state, 0])) as FleetCounts;
      for (const row of rows) counts[row.state] = row.n;
      return counts;
    },

    /**
     * How many of the fleet's runs a worker claimed whose lease lapsed: the worker stopped (or
     * stalls) and no other took them over yet. They still show as running.
     */
    async lapsed(name: string): Promise<number> {
      const rows = await db.query<{ n: number }>(
        `SELECT count(*)::integer AS n FROM fleet_repos fr JOIN run_queue q ON q.run_id = fr.run_id
         WHERE fr.fleet = $1 AND q.lease_owner IS NOT NULL AND q.lease_expires_at < now()`,
        [name],
      );
      return rows[0]!.n;
    },

    /** Failed repos grouped by the reason their run gave, biggest group first. */
    async failures(name: string, limit = 20): Promise<FailureGroup[]> {
      return db.query(
        `SELECT coalesce(r.reason, r.conclusion) AS reason, count(*)::integer AS count,
           (array_agg(p.name ORDER BY fr.position))[1:5] AS repos
         FROM fleet_repos fr JOIN runs r ON r.id = fr.run_id JOIN repos p ON p.id = fr.repo_id
         WHERE fr.fleet = $1 AND r.status = 'completed' AND r.conclusion NOT IN ('success', 'no_changes', 'cancelled')
         GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT $2`,
        [name, limit],
      );
    },

    /**
     * Waiting changes whose last attempt to open failed, grouped by the message (the repo's own
     * path in a GitHub API message is left out, so one cause across repos is one group).
     */
    async openFailures(name: string, limit = 20): Promise<FailureGroup[]> {
      return db.query(
        `SELECT regexp_replace(c.open_error, '/repos/[^/[:space:]]+/[^/[:space:]]+', '/repos/OWNER/NAME', 'g') AS reason,
           count(*)::integer AS count, (array_agg(p.name ORDER BY fr.position))[1:5] AS repos
         FROM fleet_repos fr JOIN changes c ON c.run_id = fr.run_id JOIN repos p ON p.id = fr.repo_id
         WHERE fr.fleet = $1 AND c.state = 'pending' AND c.open_error IS NOT NULL
         GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT $2`,
        [name, limit],
      );
    },

    /** One page of the repo table in rollout order: pass the last row's position as `after`. */
    async repoPage(name: string, after = 0, limit = 200, state?: FleetRepoState): Promise<FleetRepoRow[]> {
      const rows = await db.query<{
        position: number;
        repo_id: string;
        name: string;
        url: string;
        branch: string;
        input_hash: string;
        state: FleetRepoState;
        run_id: string | null;
        status: RunStatus | null;
        conclusion: RunConclusion | null;
        reason: string | null;
        change_state: string | null;
        head_commit: string | null;
        change_url: string | null;
        change_checks: Record<string, string> | null;
        open_error: string | null;
        open_failed_at: Date | null;
        open_attempts: number | null;
        next_open_at: Date | null;
      }>(
        `SELECT * FROM (
           SELECT fr.position, fr.repo_id, p.name, p.url, fr.branch, fr.input_hash, ${STATE_SQL} AS state,
             r.id AS run_id, r.status, r.conclusion, r.reason,
             c.state AS change_state, c.head_commit, c.url AS change_url, c.checks AS change_checks,
             c.open_error, c.open_failed_at, c.open_attempts, c.next_open_at
           FROM fleet_repos fr JOIN repos p ON p.id = fr.repo_id
             LEFT JOIN runs r ON r.id = fr.run_id LEFT JOIN changes c ON c.run_id = fr.run_id
           WHERE fr.fleet = $1 AND fr.position > $2) t
         WHERE $4::text IS NULL OR t.state = $4 ORDER BY t.position LIMIT $3`,
        [name, after, limit, state ?? null],
      );
      const draft = (await this.get(name)).spec.change?.draft ?? false;
      return rows.map((row) => ({
        position: row.position,
        repoId: row.repo_id,
        repo: row.name,
        url: row.url,
        branch: row.branch,
        inputHash: row.input_hash,
        state: row.state,
        runId: row.run_id,
        status: row.status,
        conclusion: row.conclusion,
        reason: row.reason,
        change: row.change_state
          ? {
              state: row.change_state,
              draft: row.change_state === 'draft' || (draft && row.change_state === 'local'),
              headCommit: row.head_commit!,
              url: row.change_url,
              checks: overallChecks(row.change_checks),
              openFailure:
                row.change_state === 'pending' && row.open_error
                  ? {
                      message: row.open_error,
                      at: row.open_failed_at!,
                      attempts: row.open_attempts!,
                      nextAttemptAt: row.next_open_at,
                    }
                  : null,
            }
          : null,
      }));
    },

    /** Every repo row, page by page, so memory stays flat however large the fleet. */
    async *repos(name: string, state?: FleetRepoState, pageSize = 200): AsyncGenerator<FleetRepoRow> {
      let after = 0;
      for (;;) {
        const page = await this.repoPage(name, after, pageSize, state);
        yield* page;
        if (page.length < pageSize) return;
        after = page[page.length - 1]!.position;
      }
    },

    async recordCounts(name: string, counts: FleetCounts): Promise<void> {
      await db.query(
        `INSERT INTO fleet_counts (fleet, at, counts) SELECT $1, now(), $2::jsonb
         WHERE (SELECT counts FROM fleet_counts WHERE fleet = $1 ORDER BY at DESC LIMIT 1) IS DISTINCT FROM $2::jsonb
         ON CONFLICT DO NOTHING`,
        [name, JSON.stringify(counts)],
      );
    },

    /** Counts over time (a point whenever they changed), oldest first: a burn-down chart's data. */
    async series(name: string, limit = 1000): Promise<{ at: Date; counts: FleetCounts }[]> {
      const rows = await db.query<{ at: Date; counts: FleetCounts }>(
        'SELECT at, counts FROM (SELECT at, counts FROM fleet_counts WHERE fleet = $1 ORDER BY at DESC LIMIT $2) t ORDER BY at',
        [name, limit],
      );
      return rows;
    },
  };
}

export type FleetQueries = ReturnType<typeof fleetQueries>;
