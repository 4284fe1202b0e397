/**
 * The checks of a change's head commit, as GitHub reports them (`check_suite` and `check_run`
 * webhooks, or a poll): one entry per suite or check (`run:test` → `passing`), from which the
 * change's overall checks state is derived; and when the state was last updated.
 */
export const sql = `
ALTER TABLE changes ADD COLUMN checks jsonb NOT NULL DEFAULT '{}';
ALTER TABLE changes ADD COLUMN state_updated_at timestamptz;
CREATE INDEX changes_head_commit_idx ON changes (head_commit);
`;
