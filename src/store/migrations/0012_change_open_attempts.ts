/**
 * Opening a deferred change (a fleet's pull request the rollout opens later): how many attempts
 * were made, the last failed attempt's message and time, and when the next attempt is due (a
 * backoff), so a failure shows in `fleet status` and is retried without hammering the SCM.
 */
export const sql = `
ALTER TABLE changes ADD COLUMN open_attempts integer NOT NULL DEFAULT 0;
ALTER TABLE changes ADD COLUMN open_error text;
ALTER TABLE changes ADD COLUMN open_failed_at timestamptz;
ALTER TABLE changes ADD COLUMN next_open_at timestamptz;
`;
