import type { Run, RunConclusion, RunInputs, RunStatus } from '../core/run.ts';
import type { Queryable } from './db.ts';

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

/** Newest first, with a cursor: pass the last id of a page as `before` for the next. */
export async function listRuns(db: Queryable, filter: RunFilter = {}): Promise<Run[]> {
  const where: string[] = [];
  const params: unknown[] = [];
  const add = (clause: string, value: unknown) => {
    params.push(value);
    where.push(clause.replace('?', `$${params.length}`));
  };
  if (filter.status) add('status = ?', filter.status);
  if (filter.conclusion) add('conclusion = ?', filter.conclusion);
  if (filter.repoId) add('repo_id = ?', filter.repoId);
  if (filter.trigger) add('trigger = ?', filter.trigger);
  if (filter.author) add('author = ?', filter.author);
  if (filter.before) add('id < ?', filter.before);
  params.push(Math.min(Math.max(filter.limit ?? 50, 1), 500));
  const rows = await db.query<RunRow>(
    `SELECT * FROM runs ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
     ORDER BY id DESC LIMIT $${params.length}`,
    params,
  );
  return rows.map(toRun);
}
