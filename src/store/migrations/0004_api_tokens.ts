/**
 * API tokens of `nightshift serve`. Only the sha256 of a token's secret is kept; the token
 * itself is shown once, when created.
 */
export const sql = `
CREATE TABLE api_tokens (
  id text PRIMARY KEY,
  name text NOT NULL,
  scopes jsonb NOT NULL,
  secret_hash text NOT NULL,
  created_by text,
  created_at timestamptz NOT NULL DEFAULT now(),
  last_used_at timestamptz,
  revoked_at timestamptz
);
CREATE UNIQUE INDEX api_tokens_active_name_idx ON api_tokens (name) WHERE revoked_at IS NULL;
`;
