/**
 * Fires that survive a crash. A fire is claimed with a lease (`lease_until`): a process that
 * dies between claiming a fire and settling it leaves the lease to expire, and another
 * scheduler takes the fire over. `delivery` ties a fire to the webhook or Slack delivery that
 * caused it, unique per automation, so a delivery processed again resumes its fire instead of
 * firing twice.
 */
export const sql = `
ALTER TABLE automation_fires ADD COLUMN lease_until timestamptz;
ALTER TABLE automation_fires ADD COLUMN delivery text;
CREATE UNIQUE INDEX automation_fires_delivery_idx ON automation_fires (automation, delivery)
  WHERE delivery IS NOT NULL;
CREATE INDEX automation_fires_claimed_idx ON automation_fires (lease_until) WHERE outcome = 'claimed';
CREATE INDEX runs_fire_idx ON runs ((inputs->'values'->>'fire')) WHERE inputs->'values' ? 'fire';
`;
