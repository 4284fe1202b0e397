/**
 * A run's details say how answering the Slack thread that started it went: its fire is found
 * from the run (the fires with a thread to answer, by the runs they started).
 */
export const sql = `
CREATE INDEX automation_fires_reply_runs_idx ON automation_fires USING gin (run_ids jsonb_path_ops)
  WHERE reply IS NOT NULL;
`;
