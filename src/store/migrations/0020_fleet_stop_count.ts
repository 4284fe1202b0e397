/**
 * `stop_when` judges the runs concluded since the fleet was last applied, resumed or retried
 * (`stop_counted_from`): resuming a fleet `stop_when` paused starts counting again, instead of
 * pausing it at once over the failures that paused it.
 */
export const sql = `
ALTER TABLE fleets ADD COLUMN stop_counted_from timestamptz;
`;
