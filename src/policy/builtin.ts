/**
 * The built-in server policy, used for every field that `$NIGHTSHIFT_HOME/policy.yml` does not
 * set (or for all of them when there is no such file). Shown as `server default` by explain.
 */
export const BUILTIN_POLICY = `# Nightshift's built-in server policy (docs/policies.md)
filesystem:
  read_only: []
  hidden: []
executables:
  deny: []
  allow_exec_from: []
network:
  allow: []
  deny: []
resources:
  memory: 4GiB
  pids: 1024
  cpu: unlimited
  disk: 10GiB
  wall_time: 30m
budget:
  tokens: unlimited
  cost_usd: unlimited
publish:
  protected_paths: [".github/workflows/**"]
  allow_protected: false
  max_changed_files: unlimited
runs:
  max_children: 5
  max_depth: 1
  repos: []
`;
