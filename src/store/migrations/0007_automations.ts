/**
 * Automations (synced from files or created through the API) and their fires. A fire is one
 * time an automation was triggered; `(automation, slot)` is unique so a scheduled slot is
 * claimed once across restarts and processes, and `(source, delivery_id)` of
 * `automation_deliveries` dedups webhook and Slack retries.
 */
export const sql = `
CREATE TABLE automations (
  name text PRIMARY KEY,
  source text NOT NULL,
  spec jsonb NOT NULL,
  enabled boolean NOT NULL,
  schedule_from timestamptz NOT NULL DEFAULT now(),
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE automation_fires (
  id text PRIMARY KEY,
  automation text NOT NULL REFERENCES automations(name) ON DELETE CASCADE,
  kind text NOT NULL,
  slot timestamptz,
  catch_up boolean NOT NULL DEFAULT false,
  outcome text NOT NULL,
  reason text,
  run_ids jsonb NOT NULL DEFAULT '[]',
  reply jsonb,
  notified_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (automation, slot)
);
CREATE INDEX automation_fires_history_idx ON automation_fires (automation, created_at DESC);
CREATE INDEX automation_fires_waiting_idx ON automation_fires (automation) WHERE outcome = 'waiting';
CREATE INDEX automation_fires_reply_idx ON automation_fires (created_at) WHERE reply IS NOT NULL AND notified_at IS NULL;
CREATE TABLE automation_deliveries (
  source text NOT NULL,
  delivery_id text NOT NULL,
  received_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (source, delivery_id)
);
`;
