/**
 * Fleets (one spec over many repos, one row per repo with the input hash that decides a
 * rerun, counts over time for a burn-down), swarms, and runs started by other runs.
 */
export const sql = `
CREATE TABLE fleets (
  name text PRIMARY KEY,
  spec jsonb NOT NULL,
  state text NOT NULL CHECK (state IN ('active', 'paused', 'cancelled')),
  state_reason text,
  next_start_at timestamptz NOT NULL DEFAULT now(),
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE fleet_repos (
  fleet text NOT NULL REFERENCES fleets(name) ON DELETE CASCADE,
  repo_id text NOT NULL REFERENCES repos(id) ON DELETE CASCADE,
  position integer NOT NULL,
  input_hash text NOT NULL,
  branch text NOT NULL,
  run_id text REFERENCES runs(id) ON DELETE SET NULL,
  held boolean NOT NULL DEFAULT true,
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (fleet, repo_id)
);
CREATE UNIQUE INDEX fleet_repos_position_idx ON fleet_repos (fleet, position);
CREATE INDEX fleet_repos_run_idx ON fleet_repos (run_id);
CREATE INDEX fleet_repos_held_idx ON fleet_repos (fleet, position) WHERE held;

CREATE TABLE fleet_counts (
  fleet text NOT NULL REFERENCES fleets(name) ON DELETE CASCADE,
  at timestamptz NOT NULL DEFAULT now(),
  counts jsonb NOT NULL,
  PRIMARY KEY (fleet, at)
);

CREATE TABLE swarms (
  name text PRIMARY KEY,
  repo_id text NOT NULL REFERENCES repos(id) ON DELETE CASCADE,
  spec jsonb NOT NULL,
  state text NOT NULL,
  facets jsonb NOT NULL DEFAULT '[]',
  converge_run_id text REFERENCES runs(id) ON DELETE SET NULL,
  reason text,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE run_children (
  parent_run_id text NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  child_run_id text NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  depth integer NOT NULL,
  PRIMARY KEY (parent_run_id, child_run_id)
);
CREATE UNIQUE INDEX run_children_child_idx ON run_children (child_run_id);
`;
