/**
 * Who drives each unfinished swarm execution (`driver`, a worker id) and until when its lease
 * holds (`driven_until`, renewed while it drives): with PostgreSQL several processes share the
 * database, and only one may drive an execution. One unfinished execution per swarm name and
 * repo: of earlier duplicates, all but the latest are ended.
 */
export const sql = `
ALTER TABLE swarms ADD COLUMN driver text;
ALTER TABLE swarms ADD COLUMN driven_until timestamptz;
UPDATE swarms s SET state = 'failed', reason = 'superseded: a later execution of the same swarm started',
  updated_at = now()
WHERE s.state IN ('planning', 'facets', 'converging') AND EXISTS (
  SELECT 1 FROM swarms t
  WHERE t.name = s.name AND t.repo_id = s.repo_id AND t.state IN ('planning', 'facets', 'converging')
    AND (t.created_at, t.id) > (s.created_at, s.id)
);
CREATE UNIQUE INDEX swarms_unfinished_idx ON swarms (name, repo_id)
  WHERE state IN ('planning', 'facets', 'converging');
`;
