import { newId } from '../core/ids.ts';
import type { RunConclusion, RunStatus } from '../core/run.ts';
import { backoffSeconds, SWARM_DRIVE_ATTEMPTS } from '../store/backoff.ts';
import type { Db } from '../store/db.ts';
import type { SwarmMembership, SwarmRole } from '../store/runs.ts';
import type { SwarmSpec } from './schema.ts';

/** The states of an execution that has not ended: a process drives it, or will when its spec runs again. */
export const UNFINISHED_STATES = ['planning', 'facets', 'converging'] as const;
const UNFINISHED = `state IN (${UNFINISHED_STATES.map((state) => `'${state}'`).join(', ')})`;

/** One run of a swarm, as a person looks it up. */
export interface SwarmRunLink {
  id: string;
  role: SwarmRole;
  /** The facet's id, for a facet run. */
  facet: string | null;
  status: RunStatus;
  conclusion: RunConclusion | null;
}

/** A run of an execution that did not finish: what continuing it needs. */
export interface UnfinishedSwarmRun {
  id: string;
  role: SwarmRole;
  facet: string | null;
  baseRef: string | null;
  status: RunStatus;
}

/** The swarm a run belongs to (one execution of `nightshift swarm`), its role there, and every run of it. */
export interface RunSwarm extends SwarmMembership {
  /** `planning`, `facets`, `converging`, `completed`, `failed` or `cancelled`. */
  state: string;
  reason: string | null;
  /** The planner, the facets in the order they started, then the converge run. */
  runs: SwarmRunLink[];
}

/** One execution of a swarm, as `nightshift swarm list` and `status` show it. */
export interface SwarmSummary {
  id: string;
  name: string;
  /** The repo's URL (a path for a local repo). */
  repo: string;
  /** `planning`, `facets`, `converging`, `completed`, `failed` or `cancelled`. */
  state: string;
  reason: string | null;
  /** The process driving it, while its claim holds; null when none does. */
  driver: string | null;
  /** A server drove it: when none does, a server takes it up again (else its spec must run again). */
  durable: boolean;
  createdAt: Date;
  updatedAt: Date;
  /** The planner, the facets in the order they started, then the converge run. */
  runs: SwarmRunLink[];
  /** The swarm's one change, once its converge run published it. */
  change: { branch: string; headCommit: string; url: string | null } | null;
  /**
   * While it has not ended, how its drives failed (the last failure's message and how many
   * there were) and when a server takes it up again (null once servers gave up: its spec must
   * run again); null when none failed.
   */
  driveFailure: { message: string; failures: number; nextAttemptAt: Date | null } | null;
}

/** Which executions `summaries` gives. */
export interface SwarmFilter {
  /** Only this execution (whether or not it is its swarm's latest). */
  id?: string;
  /** Only swarms of this name. */
  name?: string;
  /** At most this many, most recently updated first (default 100). */
  limit?: number;
  /**
   * The only process that can be driving any (the embedded database's home lock admits one):
   * a claim another process left is not shown as driving.
   */
  onlyDriver?: string;
}

/**
 * Who drives an execution (a worker id) and for how long a claim holds unless renewed;
 * `exclusive` when no other process can drive it (the embedded database's home lock).
 */
export interface SwarmLease {
  driver: string;
  ms: number;
  exclusive: boolean;
}

/**
 * Where an execution's spec was run from (`cwd`: the directory its paths start from), and
 * whether a server takes it up again when the process driving it is gone (`durable`).
 */
export interface SwarmPlace {
  cwd: string;
  durable: boolean;
}

/** Swarm records: one row per execution, with the runs it started and their roles. */
export function swarmQueries(db: Db) {
  /** The runs of executions `ids`: the planner, the facets in the order they started, then the converge run. */
  const runsOf = (ids: string[]) =>
    db.query<SwarmRunLink & { swarmId: string }>(
      `SELECT sr.swarm_id AS "swarmId", r.id, sr.role, sr.facet, r.status, r.conclusion
       FROM swarm_runs sr JOIN runs r ON r.id = sr.run_id
       WHERE sr.swarm_id = ANY($1)
       ORDER BY CASE sr.role WHEN 'planner' THEN 0 WHEN 'facet' THEN 1 ELSE 2 END, r.created_at, r.id`,
      [ids],
    );
  return {
    /**
     * Records a new execution of `spec`, driven by `lease.driver`, and returns its id; null
     * when the swarm has an unfinished execution already (another process just recorded one).
     */
    async create(
      spec: SwarmSpec,
      repoId: string,
      state: string,
      lease: SwarmLease,
      place?: SwarmPlace,
    ): Promise<string | null> {
      const rows = await db.query<{ id: string }>(
        `INSERT INTO swarms (id, name, repo_id, spec, state, driver, driven_until, cwd, durable)
         VALUES ($1, $2, $3, $4, $5, $6, now() + $7 * interval '1 millisecond', $8, $9)
         ON CONFLICT (name, repo_id) WHERE ${UNFINISHED} DO NOTHING
         RETURNING id`,
        [
          newId('swm'),
          spec.name,
          repoId,
          JSON.stringify(spec),
          state,
          lease.driver,
          lease.ms,
          place?.cwd ?? null,
          place?.durable ?? false,
        ],
      );
      return rows[0]?.id ?? null;
    },

    /** Makes unfinished execution `id` durable (a server drives it now), from `cwd`. */
    async makeDurable(id: string, cwd: string): Promise<void> {
      await db.query(`UPDATE swarms SET durable = true, cwd = $2 WHERE id = $1 AND ${UNFINISHED}`, [id, cwd]);
    },

    /**
     * The durable unfinished executions nobody drives: none claims them, their claim lapsed, or
     * with `exclusive` (the embedded database's home lock) whatever claim a process that is gone
     * left; none whose last drive failed less than its backoff ago. Oldest first.
     */
    async undriven(exclusive: boolean): Promise<{ id: string; spec: SwarmSpec; cwd: string }[]> {
      return db.query(
        `SELECT id, spec, cwd FROM swarms
         WHERE durable AND ${UNFINISHED} AND ($1 OR driver IS NULL OR driven_until < now())
           AND (next_drive_at IS NULL OR next_drive_at <= now())
         ORDER BY updated_at, id`,
        [exclusive],
      );
    },

    /**
     * Records that a drive of unfinished execution `id` failed with `message`: servers take it
     * up again after a backoff, and no more after `SWARM_DRIVE_ATTEMPTS` failures. Returns the
     * failures so far and whether they gave up; null when it has ended.
     */
    async driveFailed(id: string, message: string): Promise<{ failures: number; givenUp: boolean } | null> {
      const rows = await db.query<{ failures: number; givenUp: boolean }>(
        `UPDATE swarms SET drive_error = $2, drive_failures = drive_failures + 1,
           next_drive_at = CASE WHEN drive_failures + 1 >= $3 THEN 'infinity'::timestamptz
             ELSE now() + make_interval(secs => ${backoffSeconds('drive_failures')}) END
         WHERE id = $1 AND ${UNFINISHED}
         RETURNING drive_failures AS failures, next_drive_at = 'infinity' AS "givenUp"`,
        [id, message, SWARM_DRIVE_ATTEMPTS],
      );
      return rows[0] ?? null;
    },

    /**
     * Forgets the failed drives of the unfinished execution of swarm `name` on `repoId`: its spec
     * ran again, someone asked for it to go on.
     */
    async clearDriveFailures(name: string, repoId: string): Promise<void> {
      await db.query(
        `UPDATE swarms SET drive_error = NULL, drive_failures = 0, next_drive_at = NULL
         WHERE name = $1 AND repo_id = $2 AND ${UNFINISHED} AND drive_failures > 0`,
        [name, repoId],
      );
    },

    /**
     * Makes `lease.driver` the driver of unfinished execution `id` for `lease.ms`: when nobody
     * drives it, its lease expired, it drives it already, or `lease.exclusive` (no other
     * process can be driving it). False when another process does.
     */
    async claim(id: string, lease: SwarmLease): Promise<boolean> {
      const rows = await db.query(
        `UPDATE swarms SET driver = $2, driven_until = now() + $3 * interval '1 millisecond'
         WHERE id = $1 AND ${UNFINISHED}
           AND (driver IS NULL OR driver = $2 OR driven_until < now() OR $4)
         RETURNING id`,
        [id, lease.driver, lease.ms, lease.exclusive],
      );
      return rows.length > 0;
    },

    /** Gives up driving execution `id`, if `driver` drives it. */
    async release(id: string, driver: string): Promise<void> {
      await db.query('UPDATE swarms SET driver = NULL, driven_until = NULL WHERE id = $1 AND driver = $2', [
        id,
        driver,
      ]);
    },

    /**
     * Where an unfinished execution stands: its state, its facets (with their runs' outcomes)
     * and why it failed. False when it has ended meanwhile (someone cancelled it): nothing is
     * written then.
     */
    async update(
      id: string,
      fields: { state: string; facets: unknown; convergeRunId: string | null; reason: string | null },
    ): Promise<boolean> {
      const rows = await db.query(
        `UPDATE swarms SET state = $2, facets = $3, converge_run_id = $4, reason = $5, updated_at = now()
         WHERE id = $1 AND ${UNFINISHED} RETURNING id`,
        [id, fields.state, JSON.stringify(fields.facets), fields.convergeRunId, fields.reason],
      );
      return rows.length > 0;
    },

    /**
     * Records a run an unfinished execution started, with its role (the planner's is also kept
     * on the swarm), and makes it claimable (it was created held). False when the execution has
     * ended meanwhile: the run is not recorded on it, and stays held for the caller to cancel.
     * The execution's row is locked while it is read, so a `cancel` either comes first (and
     * this records nothing) or waits for the run to be recorded (and then cancels it).
     */
    async addRun(id: string, runId: string, role: SwarmRole, facet: string | null = null): Promise<boolean> {
      return db.transaction(async (tx) => {
        const live = await tx.query(`SELECT id FROM swarms WHERE id = $1 AND ${UNFINISHED} FOR SHARE`, [id]);
        if (live.length === 0) return false;
        await tx.query('INSERT INTO swarm_runs (run_id, swarm_id, role, facet) VALUES ($1, $2, $3, $4)', [
          runId,
          id,
          role,
          facet,
        ]);
        if (role === 'planner')
          await tx.query('UPDATE swarms SET planner_run_id = $2 WHERE id = $1', [id, runId]);
        // Created held (see `runSwarm`): claimable now that it is the execution's.
        await tx.query('UPDATE run_queue SET available_at = now() WHERE run_id = $1', [runId]);
        return true;
      });
    },

    /**
     * Ends unfinished execution `id` as `cancelled` (with `reason`) and gives up its claim, and
     * returns its runs that have not completed, for the caller to cancel; null when it had ended.
     */
    async cancel(id: string, reason: string): Promise<string[] | null> {
      return db.transaction(async (tx) => {
        const rows = await tx.query(
          `UPDATE swarms SET state = 'cancelled', reason = $2, driver = NULL, driven_until = NULL, updated_at = now()
           WHERE id = $1 AND ${UNFINISHED} RETURNING id`,
          [id, reason],
        );
        if (rows.length === 0) return null;
        const runs = await tx.query<{ id: string }>(
          `SELECT r.id FROM swarm_runs sr JOIN runs r ON r.id = sr.run_id
           WHERE sr.swarm_id = $1 AND r.status <> 'completed' ORDER BY r.created_at, r.id`,
          [id],
        );
        return runs.map((run) => run.id);
      });
    },

    /**
     * The latest execution of swarm `name` on `repoId` that did not finish (the process running
     * it stopped), whether it ran `spec` (the same spec, as JSON), and the runs it started, oldest
     * first; null when every execution finished.
     */
    async unfinished(
      name: string,
      repoId: string,
      spec: SwarmSpec,
    ): Promise<{
      id: string;
      sameSpec: boolean;
      /** The process driving it, while its lease holds. */
      drivenBy: string | null;
      runs: UnfinishedSwarmRun[];
    } | null> {
      const rows = await db.query<{ id: string; same_spec: boolean; driven_by: string | null }>(
        `SELECT id, spec = $3::jsonb AS same_spec, CASE WHEN driven_until > now() THEN driver END AS driven_by
         FROM swarms
         WHERE name = $1 AND repo_id = $2 AND ${UNFINISHED}
         ORDER BY created_at DESC LIMIT 1`,
        [name, repoId, JSON.stringify(spec)],
      );
      const swarm = rows[0];
      if (!swarm) return null;
      const runs = await db.query<UnfinishedSwarmRun>(
        `SELECT r.id, sr.role, sr.facet, r.base_ref AS "baseRef", r.status FROM swarm_runs sr
         JOIN runs r ON r.id = sr.run_id WHERE sr.swarm_id = $1 ORDER BY r.created_at, r.id`,
        [swarm.id],
      );
      return { id: swarm.id, sameSpec: swarm.same_spec, drivenBy: swarm.driven_by, runs };
    },

    /**
     * The runs of a swarm (by its runs' `trigger`) on a repo that a drive created held and did
     * not record on an execution: its process died between the two.
     */
    async unrecordedRuns(trigger: string, repoId: string): Promise<string[]> {
      const rows = await db.query<{ id: string }>(
        `SELECT r.id FROM runs r JOIN run_queue q ON q.run_id = r.id
         WHERE r.trigger = $1 AND r.repo_id = $2 AND r.status = 'queued' AND q.available_at = 'infinity'
           AND NOT EXISTS (SELECT 1 FROM swarm_runs s WHERE s.run_id = r.id)`,
        [trigger, repoId],
      );
      return rows.map((row) => row.id);
    },

    /**
     * The runs of one facet of execution `id` after `runId`, oldest first: the follow-ups
     * (`nightshift say`) that continued its work on its branch.
     */
    async laterFacetRuns(id: string, facet: string, runId: string): Promise<string[]> {
      const rows = await db.query<{ id: string }>(
        `SELECT r.id FROM swarm_runs sr JOIN runs r ON r.id = sr.run_id
         WHERE sr.swarm_id = $1 AND sr.role = 'facet' AND sr.facet = $2
           AND (r.created_at, r.id) > (SELECT created_at, id FROM runs WHERE id = $3)
         ORDER BY r.created_at, r.id`,
        [id, facet, runId],
      );
      return rows.map((row) => row.id);
    },

    /** Ends an execution that will not go on (`failed`, with the reason). */
    async abandon(id: string, reason: string): Promise<void> {
      await db.query(
        "UPDATE swarms SET state = 'failed', reason = $2, driver = NULL, driven_until = NULL, updated_at = now() WHERE id = $1",
        [id, reason],
      );
    },

    /** The latest execution of swarm `name` on repo `repoId` (its id, state and reason); null when none. */
    async latest(
      name: string,
      repoId: string,
    ): Promise<{ id: string; state: string; reason: string | null } | null> {
      const rows = await db.query<{ id: string; state: string; reason: string | null }>(
        'SELECT id, state, reason FROM swarms WHERE name = $1 AND repo_id = $2 ORDER BY created_at DESC, id DESC LIMIT 1',
        [name, repoId],
      );
      return rows[0] ?? null;
    },

    /** Execution `id`'s name, state and why it failed; null when there is none. */
    async get(
      id: string,
    ): Promise<{ id: string; name: string; state: string; reason: string | null } | null> {
      const rows = await db.query<{ id: string; name: string; state: string; reason: string | null }>(
        'SELECT id, name, state, reason FROM swarms WHERE id = $1',
        [id],
      );
      return rows[0] ?? null;
    },

    /** The swarm `runId` is part of, or null. */
    async forRun(runId: string): Promise<RunSwarm | null> {
      const rows = await db.query<{ id: string; name: string; state: string; reason: string | null }>(
        'SELECT s.id, s.name, s.state, s.reason FROM swarm_runs sr JOIN swarms s ON s.id = sr.swarm_id WHERE sr.run_id = $1',
        [runId],
      );
      const swarm = rows[0];
      if (!swarm) return null;
      const runs = (await runsOf([swarm.id])).map(({ swarmId: _, ...run }) => run);
      const self = runs.find((run) => run.id === runId)!;
      return { ...swarm, role: self.role, facet: self.facet, runs };
    },

    /**
     * Executions with their runs and change, most recently updated first: the latest execution
     * of each swarm (name and repo), or with `filter.id` that execution.
     */
    async summaries(filter: SwarmFilter = {}): Promise<SwarmSummary[]> {
      const rows = await db.query<
        Omit<SwarmSummary, 'runs' | 'change' | 'driveFailure'> & {
          convergeRunId: string | null;
          drive_error: string | null;
          drive_failures: number;
          next_drive_at: Date | number | null;
          given_up: boolean | null;
        }
      >(
        `SELECT s.id, s.name, r.url AS repo, s.state, s.reason,
                CASE WHEN s.driven_until > now() AND ($4::text IS NULL OR s.driver = $4) THEN s.driver END AS driver,
                s.durable, s.drive_error, s.drive_failures, s.next_drive_at, s.next_drive_at = 'infinity' AS given_up,
                s.created_at AS "createdAt", s.updated_at AS "updatedAt", s.converge_run_id AS "convergeRunId"
         FROM swarms s JOIN repos r ON r.id = s.repo_id
         WHERE ($1::text IS NULL OR s.id = $1) AND ($2::text IS NULL OR s.name = $2)
           AND ($1::text IS NOT NULL OR NOT EXISTS (
             SELECT 1 FROM swarms t WHERE t.name = s.name AND t.repo_id = s.repo_id
               AND (t.created_at, t.id) > (s.created_at, s.id)))
         ORDER BY s.updated_at DESC, s.id LIMIT $3`,
        [filter.id ?? null, filter.name ?? null, filter.limit ?? 100, filter.onlyDriver ?? null],
      );
      if (rows.length === 0) return [];
      const converged = rows.flatMap((row) => (row.convergeRunId ? [row.convergeRunId] : []));
      const [runs, changes] = await Promise.all([
        runsOf(rows.map((row) => row.id)),
        db.query<{ runId: string; branch: string; headCommit: string; url: string | null }>(
          `SELECT run_id AS "runId", branch, head_commit AS "headCommit", url FROM changes WHERE run_id = ANY($1)`,
          [converged],
        ),
      ]);
      return rows.map(({ convergeRunId, drive_error, drive_failures, next_drive_at, given_up, ...row }) => {
        const change = changes.find((c) => c.runId === convergeRunId);
        const unfinished = (UNFINISHED_STATES as readonly string[]).includes(row.state);
        return {
          ...row,
          runs: runs.filter((run) => run.swarmId === row.id).map(({ swarmId: _, ...run }) => run),
          change: change ? { branch: change.branch, headCommit: change.headCommit, url: change.url } : null,
          driveFailure:
            unfinished && drive_error
              ? {
                  message: drive_error,
                  failures: drive_failures,
                  nextAttemptAt: given_up || next_drive_at === null ? null : new Date(next_drive_at),
                }
              : null,
        };
      });
    },
  };
}
