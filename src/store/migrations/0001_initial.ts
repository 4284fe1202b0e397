/** Repos, runs, their events and changes, and the run queue. */
export const sql = `
CREATE TABLE repos (
  id text PRIMARY KEY,
  name text NOT NULL,
  url text NOT NULL UNIQUE,
  default_branch text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE runs (
  id text PRIMARY KEY,
  repo_id text NOT NULL REFERENCES repos(id),
  blueprint text NOT NULL,
  blueprint_spec jsonb NOT NULL,
  inputs jsonb NOT NULL,
  status text NOT NULL CHECK (status IN ('queued', 'provisioning', 'running', 'publishing', 'completed')),
  conclusion text CHECK (conclusion IN ('success', 'failure', 'no_changes', 'cancelled', 'timed_out',
    'policy_denied', 'budget_exceeded', 'error')),
  reason text,
  attempt integer NOT NULL DEFAULT 0,
  priority integer NOT NULL DEFAULT 0,
  timeout_ms integer NOT NULL,
  base_ref text,
  base_commit text,
  branch text,
  trigger text NOT NULL,
  author text,
  last_seq integer NOT NULL DEFAULT 0,
  created_at timestamptz NOT NULL DEFAULT now(),
  started_at timestamptz,
  finished_at timestamptz,
  cancel_requested_at timestamptz,
  CHECK ((status = 'completed') = (conclusion IS NOT NULL))
);
CREATE INDEX runs_created_idx ON runs (created_at DESC, id DESC);
CREATE INDEX runs_repo_idx ON runs (repo_id, created_at DESC);
CREATE INDEX runs_status_idx ON runs (status) WHERE status <> 'completed';

CREATE TABLE run_events (
  run_id text NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  seq integer NOT NULL,
  type text NOT NULL,
  data jsonb NOT NULL,
  at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (run_id, seq)
);

CREATE TABLE changes (
  id text PRIMARY KEY,
  run_id text NOT NULL UNIQUE REFERENCES runs(id) ON DELETE CASCADE,
  repo_id text NOT NULL REFERENCES repos(id),
  branch text NOT NULL,
  base_commit text NOT NULL,
  head_commit text NOT NULL,
  title text NOT NULL,
  body text NOT NULL,
  diffstat jsonb NOT NULL,
  diff text NOT NULL,
  state text NOT NULL,
  url text,
  created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE run_queue (
  run_id text PRIMARY KEY REFERENCES runs(id) ON DELETE CASCADE,
  repo_id text NOT NULL,
  priority integer NOT NULL DEFAULT 0,
  enqueued_at timestamptz NOT NULL DEFAULT now(),
  available_at timestamptz NOT NULL DEFAULT now(),
  lease_owner text,
  lease_expires_at timestamptz,
  attempts integer NOT NULL DEFAULT 0
);
CREATE INDEX run_queue_order_idx ON run_queue (priority DESC, enqueued_at);
CREATE INDEX run_queue_repo_idx ON run_queue (repo_id) WHERE lease_owner IS NOT NULL;
`;
