import type { Run, RunConclusion, RunInputs, RunStatus } from '../core/run.ts';
import type { Queryable } from './db.ts';
import type { RunLink } from './run-children.ts';

export interface RunRow {
  id: string;
  repo_id: string;
  blueprint: string;
  blueprint_spec: unknown;
  inputs: RunInputs;
  status: RunStatus;
  conclusion: RunConclusion | null;
  reason: string | null;
  attempt: number;
  priority: number;
  timeout_ms: number;
  base_ref: string | null;
  base_commit: string | null;
  branch: string | null;
  trigger: string;
  author: string | null;
  continues: string | null;
  created_at: Date;
  started_at: Date | null;
  finished_at: Date | null;
  cancel_requested_at: Date | null;
}

export function toRun(row: RunRow): Run {
  return {
    id: row.id,
    repoId: row.repo_id,
    blueprint: row.blueprint,
    inputs: row.inputs,
    status: row.status,
    conclusion: row.conclusion,
    reason: row.reason,
    attempt: row.attempt,
    priority: row.priority,
    timeoutMs: row.timeout_ms,
    baseRef: row.base_ref,
    baseCommit: row.base_commit,
    branch: row.branch,
    trigger: row.trigger,
    author: row.author,
    continues: row.continues,
    createdAt: row.created_at,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
    cancelRequestedAt: row.cancel_requested_at,
  };
}

export interface RunFilter {
  status?: RunStatus;
  conclusion?: RunConclusion;
  repoId?: string;
  trigger?: string;
  author?: string;
  /** Only runs created before this run id (cursor of the previous page). */
  before?: string;
  limit?: number;
}

/** What a run does in a swarm: propose the facets, work on one, or converge them into one change. */
export type SwarmRole = 'planner' | 'facet' | 'converge';

/** The swarm a run is part of (one execution of `nightshift swarm`) and its role there. */
export interface SwarmMembership {
  id: string;
  name: string;
  role: SwarmRole;
  /** The facet's id, for a facet run. */
  facet: string | null;
}

/** A run as lists show it: with the run that started it (`run_children`) and its swarm, each null when none. */
export interface ListedRun extends Run {
  parent: RunLink | null;
  swarm: SwarmMembership | null;
}

/**
 * Newest first, with a cursor: pass the last id of a page as `before` for the next. Each run's
 * parent and swarm come in the same query (a run has at most one of each).
 */
export async function listRuns(db: Queryable, filter: RunFilter = {}): Promise<ListedRun[]> {
  const where: string[] = [];
  const params: unknown[] = [];
  const add = (clause: string, value: unknown) => {
    params.push(value);
    where.push(clause.replace('?', `$${params.length}`));
  };
  if (filter.status) add('r.status = ?', filter.status);
  if (filter.conclusion) add('r.conclusion = ?', filter.conclusion);
  if (filter.repoId) add('r.repo_id = ?', filter.repoId);
  if (filter.trigger) add('r.trigger = ?', filter.trigger);
  if (filter.author) add('r.author = ?', filter.author);
  if (filter.before) add('r.id < ?', filter.before);
  params.push(Math.min(Math.max(filter.limit ?? 50, 1), 500));
  const rows = await db.query<RunRow & { parent: RunLink | null; swarm: SwarmMembership | null }>(
    `SELECT r.*,
       CASE WHEN p.id IS NULL THEN NULL ELSE json_build_object('id', p.id, 'blueprint', p.blueprint,
         'status', p.status, 'conclusion', p.conclusion, 'depth', rc.depth) END AS parent,
       CASE WHEN s.id IS NULL THEN NULL ELSE json_build_object('id', s.id, 'name', s.name,
         'role', sr.role, 'facet', sr.facet) END AS swarm
     FROM runs r
     LEFT JOIN run_children rc ON rc.child_run_id = r.id
     LEFT JOIN runs p ON p.id = rc.parent_run_id
     LEFT JOIN swarm_runs sr ON sr.run_id = r.id
     LEFT JOIN swarms s ON s.id = sr.swarm_id
     ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
     ORDER BY r.id DESC LIMIT $${params.length}`,
    params,
  );
  return rows.map((row) => ({ ...toRun(row), parent: row.parent, swarm: row.swarm }));
}
