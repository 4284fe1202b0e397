/**
 * Lookups the fleet rollout makes on every step, by index instead of by scan: a repo's earlier
 * changes on a branch (superseded when a fleet run records a new one, and the head a push
 * leases on), and the changes waiting for the rollout to open them.
 */
export const sql = `
CREATE INDEX changes_repo_branch_idx ON changes (repo_id, branch);
CREATE INDEX changes_pending_idx ON changes (run_id) WHERE state = 'pending';
`;
