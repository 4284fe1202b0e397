import type { RunConclusion, RunStatus } from '../core/run.ts';
import type { Queryable } from './db.ts';

/** A run related to another (its parent, or one of its children), as `show` lists it. */
export interface RunLink {
  id: string;
  blueprint: string;
  status: RunStatus;
  conclusion: RunConclusion | null;
  /** How deep the child is: 1 for a run started by a run nobody started. */
  depth: number;
}

const LINK = 'r.id, r.blueprint, r.status, r.conclusion, rc.depth';

/**
 * Runs started by runs (`run_children`): an agent's sub-runs (`start_run`), and the facets and
 * converge run of a swarm under its planner. Rows are written with the child (`NewRun.parent`).
 */
export function runChildrenQueries(db: Queryable) {
  return {
    /** The run that started `runId`, or null for a run nobody started. */
    async parent(runId: string): Promise<RunLink | null> {
      const rows = await db.query<RunLink>(
        `SELECT ${LINK} FROM run_children rc JOIN runs r ON r.id = rc.parent_run_id WHERE rc.child_run_id = $1`,
        [runId],
      );
      return rows[0] ?? null;
    },

    /** The runs `runId` started, oldest first (at most `limit`). */
    async children(runId: string, limit = 100): Promise<RunLink[]> {
      return db.query<RunLink>(
        `SELECT ${LINK} FROM run_children rc JOIN runs r ON r.id = rc.child_run_id
         WHERE rc.parent_run_id = $1 ORDER BY r.created_at, r.id LIMIT $2`,
        [runId, limit],
      );
    },
  };
}
