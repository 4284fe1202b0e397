/**
 * A swarm's record per execution (`nightshift swarm` run again under the same name keeps the
 * earlier one) with its planner run, and the runs of each execution with their role in it
 * (planner, facet, converge), so any of them shows the swarm it belongs to. Existing swarms
 * keep their facets and converge run.
 */
export const sql = `
ALTER TABLE swarms DROP CONSTRAINT swarms_pkey;
ALTER TABLE swarms ADD COLUMN id text;
UPDATE swarms SET id = 'swm_' || substr(md5(name), 1, 20);
ALTER TABLE swarms ALTER COLUMN id SET NOT NULL;
ALTER TABLE swarms ADD PRIMARY KEY (id);
ALTER TABLE swarms ADD COLUMN planner_run_id text REFERENCES runs(id) ON DELETE SET NULL;
CREATE INDEX swarms_name_idx ON swarms (name, created_at);

CREATE TABLE swarm_runs (
  run_id text PRIMARY KEY REFERENCES runs(id) ON DELETE CASCADE,
  swarm_id text NOT NULL REFERENCES swarms(id) ON DELETE CASCADE,
  role text NOT NULL CHECK (role IN ('planner', 'facet', 'converge')),
  facet text
);
CREATE INDEX swarm_runs_swarm_idx ON swarm_runs (swarm_id);

INSERT INTO swarm_runs (run_id, swarm_id, role, facet)
SELECT f->>'runId', s.id, 'facet', f->>'id' FROM swarms s CROSS JOIN jsonb_array_elements(s.facets) f
WHERE jsonb_typeof(s.facets) = 'array' AND EXISTS (SELECT 1 FROM runs r WHERE r.id = f->>'runId')
UNION ALL
SELECT converge_run_id, id, 'converge', NULL FROM swarms WHERE converge_run_id IS NOT NULL
ON CONFLICT (run_id) DO NOTHING;
`;
