/**
 * Webhook deliveries of every source (GitHub, Slack, generic hooks): the dedup record and the
 * durable queue of accepted deliveries. A delivery that claimed its id holds it in
 * `delivery_id` (unique per source); rejected and duplicate attempts are recorded with a NULL
 * `delivery_id` (so a forged request can never take the id of a real delivery) and the id they
 * presented in `presented_id`.
 */
export const sql = `
CREATE TABLE webhook_deliveries (
  id text PRIMARY KEY,
  source text NOT NULL,
  delivery_id text,
  presented_id text,
  event text,
  outcome text NOT NULL CHECK (outcome IN ('accepted', 'duplicate', 'rejected_signature',
    'rejected_malformed', 'ignored', 'failed')),
  reason text,
  run_id text,
  payload jsonb,
  attempts integer NOT NULL DEFAULT 0,
  locked_until timestamptz,
  processed_at timestamptz,
  reported_at timestamptz,
  received_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (source, delivery_id)
);
CREATE INDEX webhook_deliveries_pending_idx ON webhook_deliveries (received_at)
  WHERE outcome = 'accepted' AND processed_at IS NULL;
CREATE INDEX webhook_deliveries_run_idx ON webhook_deliveries (run_id) WHERE run_id IS NOT NULL;
`;
