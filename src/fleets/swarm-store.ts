import { newId } from '../core/ids.ts';
import type { RunConclusion, RunStatus } from '../core/run.ts';
import type { Queryable } from '../store/db.ts';
import type { SwarmMembership, SwarmRole } from '../store/runs.ts';
import type { SwarmSpec } from './schema.ts';

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
  /** `planning`, `facets`, `converging`, `completed` or `failed`. */
  state: string;
  reason: string | null;
  /** The planner, the facets in the order they started, then the converge run. */
  runs: SwarmRunLink[];
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

/** Swarm records: one row per execution, with the runs it started and their roles. */
export function swarmQueries(db: Queryable) {
  return {
    /**
     * Records a new execution of `spec`, driven by `lease.driver`, and returns its id; null
     * when the swarm has an unfinished execution already (another process just recorded one).
     */
    async create(spec: SwarmSpec, repoId: string, state: string, lease: SwarmLease): Promise<string | null> {
      const rows = await db.query<{ id: string }>(
        `INSERT INTO swarms (id, name, repo_id, spec, state, driver, driven_until)
         VALUES ($1, $2, $3, $4, $5, $6, now() + $7 * interval '1 millisecond')
         ON CONFLICT (name, repo_id) WHERE state IN ('planning', 'facets', 'converging') DO NOTHING
         RETURNING id`,
        [newId('swm'), spec.name, repoId, JSON.stringify(spec), state, lease.driver, lease.ms],
      );
      return rows[0]?.id ?? null;
    },

    /**
     * Makes `lease.driver` the driver of unfinished execution `id` for `lease.ms`: when nobody
     * drives it, its lease expired, it drives it already, or `lease.exclusive` (no other
     * process can be driving it). False when another process does.
     */
    async claim(id: string, lease: SwarmLease): Promise<boolean> {
      const rows = await db.query(
        `UPDATE swarms SET driver = $2, driven_until = now() + $3 * interval '1 millisecond'
         WHERE id = $1 AND state IN ('planning', 'facets', 'converging')
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

    /** Where the swarm stands: its state, its facets (with their runs' outcomes) and why it failed. */
    async update(
      id: string,
      fields: { state: string; facets: unknown; convergeRunId: string | null; reason: string | null },
    ): Promise<void> {
      await db.query(
        'UPDATE swarms SET state = $2, facets = $3, converge_run_id = $4, reason = $5, updated_at = now() WHERE id = $1',
        [id, fields.state, JSON.stringify(fields.facets), fields.convergeRunId, fields.reason],
      );
    },

    /** Records a run the swarm started, with its role (the planner's is also kept on the swarm). */
    async addRun(id: string, runId: string, role: SwarmRole, facet: string | null = null): Promise<void> {
      await db.query('INSERT INTO swarm_runs (run_id, swarm_id, role, facet) VALUES ($1, $2, $3, $4)', [
        runId,
        id,
        role,
        facet,
      ]);
      if (role === 'planner')
        await db.query('UPDATE swarms SET planner_run_id = $2 WHERE id = $1', [id, runId]);
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
         WHERE name = $1 AND repo_id = $2 AND state IN ('planning', 'facets', 'converging')
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

    /** Ends an execution that will not go on (`failed`, with the reason). */
    async abandon(id: string, reason: string): Promise<void> {
      await db.query(
        "UPDATE swarms SET state = 'failed', reason = $2, driver = NULL, driven_until = NULL, updated_at = now() WHERE id = $1",
        [id, reason],
      );
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
      const runs = await db.query<SwarmRunLink>(
        `SELECT r.id, sr.role, sr.facet, r.status, r.conclusion FROM swarm_runs sr JOIN runs r ON r.id = sr.run_id
         WHERE sr.swarm_id = $1
         ORDER BY CASE sr.role WHEN 'planner' THEN 0 WHEN 'facet' THEN 1 ELSE 2 END, r.created_at, r.id`,
        [swarm.id],
      );
      const self = runs.find((run) => run.id === runId)!;
      return { ...swarm, role: self.role, facet: self.facet, runs };
    },
  };
}
