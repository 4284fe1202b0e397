/**
 * Answers to where a run came from once it ended (a GitHub comment or review, a Slack reply in
 * the thread): how many attempts were made, the last failed attempt's message, and when the
 * next attempt is due (a backoff). An answer that fails is tried again later instead of being
 * dropped (GitHub) or retried on every pass ahead of all the others (Slack).
 */
export const sql = `
ALTER TABLE webhook_deliveries ADD COLUMN report_attempts integer NOT NULL DEFAULT 0;
ALTER TABLE webhook_deliveries ADD COLUMN report_error text;
ALTER TABLE webhook_deliveries ADD COLUMN next_report_at timestamptz;
CREATE INDEX webhook_deliveries_unreported_idx ON webhook_deliveries (received_at)
  WHERE source = 'github' AND run_id IS NOT NULL AND reported_at IS NULL;
ALTER TABLE automation_fires ADD COLUMN notify_attempts integer NOT NULL DEFAULT 0;
ALTER TABLE automation_fires ADD COLUMN notify_error text;
ALTER TABLE automation_fires ADD COLUMN next_notify_at timestamptz;
`;
