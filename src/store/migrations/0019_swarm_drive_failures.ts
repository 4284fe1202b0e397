/**
 * A swarm whose drive failed (its merge could not reach the repository, the database went away)
 * keeps the failure: `swarm status` shows it, and servers take a durable one up again after a
 * backoff instead of at every look, and give up after a number of failures (until its spec runs
 * again).
 */
export const sql = `
ALTER TABLE swarms ADD COLUMN drive_error text;
ALTER TABLE swarms ADD COLUMN drive_failures integer NOT NULL DEFAULT 0;
ALTER TABLE swarms ADD COLUMN next_drive_at timestamptz;
`;
