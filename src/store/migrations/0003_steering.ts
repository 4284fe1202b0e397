/**
 * Steering a live run (follow-ups and stop requests from any process), runs that continue an
 * earlier one, and model usage per run and step as the gateway metered it.
 */
export const sql = `
ALTER TABLE runs ADD COLUMN continues text REFERENCES runs(id);

CREATE TABLE run_messages (
  id bigserial PRIMARY KEY,
  run_id text NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  kind text NOT NULL CHECK (kind IN ('follow_up', 'stop')),
  text text,
  author text,
  created_at timestamptz NOT NULL DEFAULT now(),
  delivered_at timestamptz
);
CREATE INDEX run_messages_pending_idx ON run_messages (run_id, id) WHERE delivered_at IS NULL;

CREATE TABLE run_usage (
  run_id text NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  step text NOT NULL,
  provider text NOT NULL,
  model text NOT NULL,
  calls integer NOT NULL DEFAULT 0,
  input_tokens bigint NOT NULL DEFAULT 0,
  output_tokens bigint NOT NULL DEFAULT 0,
  cost_usd double precision NOT NULL DEFAULT 0,
  PRIMARY KEY (run_id, step, provider, model)
);
`;
