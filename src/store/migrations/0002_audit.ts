/**
 * The audit log: one hash chain across all runs (see src/audit). `at` is hashed as its ISO
 * text with milliseconds, which timestamptz keeps exactly.
 */
export const sql = `
CREATE TABLE audit_log (
  seq bigint PRIMARY KEY,
  at timestamptz NOT NULL,
  kind text NOT NULL,
  run_id text,
  actor text,
  data jsonb NOT NULL,
  prev_hash text NOT NULL,
  hash text NOT NULL
);
CREATE INDEX audit_log_run_idx ON audit_log (run_id, seq) WHERE run_id IS NOT NULL;
CREATE INDEX audit_log_at_idx ON audit_log (at);
`;
