import type { Queryable } from '../../store/db.ts';

/**
 * The CI-fix round a failure of `headSha` would start: one more than the round of the
 * Nightshift fix run that made `headSha` (1 when a person or a first run made it), and the
 * run already started for this very commit, if any (check suites and check runs of one
 * commit start one fix run).
 */
export async function ciFixRound(
  db: Queryable,
  repoId: string,
  headSha: string,
): Promise<{ round: number; started: string | null }> {
  const started = await db.query<{ id: string }>(
    `SELECT id FROM runs WHERE repo_id = $1 AND inputs->'values'->>'ci_head_sha' = $2 LIMIT 1`,
    [repoId, headSha],
  );
  const made = await db.query<{ round: string | null }>(
    `SELECT r.inputs->'values'->>'ci_round' AS round FROM changes c JOIN runs r ON r.id = c.run_id
     WHERE c.repo_id = $1 AND c.head_commit = $2 ORDER BY c.created_at DESC LIMIT 1`,
    [repoId, headSha],
  );
  const previous = Number(made[0]?.round ?? 0) || 0;
  return { round: previous + 1, started: started[0]?.id ?? null };
}
