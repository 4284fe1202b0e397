/** Run lifecycle. `conclusion` is set exactly when `status` becomes `completed`. */
export const RUN_STATUSES = ['queued', 'provisioning', 'running', 'publishing', 'completed'] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];

export const RUN_CONCLUSIONS = [
  'success',
  'failure',
  'no_changes',
  'cancelled',
  'timed_out',
  'policy_denied',
  'budget_exceeded',
  'error',
] as const;
export type RunConclusion = (typeof RUN_CONCLUSIONS)[number];

export const ACTIVE_STATUSES: readonly RunStatus[] = ['provisioning', 'running', 'publishing'];

export interface RunInputs {
  prompt?: string;
  script?: string;
  /** Free-form values a blueprint template can use as `{{inputs.name}}`. */
  values?: Record<string, string>;
  /** Harness for the run's agent steps that name none (default: the server's). */
  harness?: string;
  /** `provider:model` for the run's agent steps that name none (default: the harness's). */
  model?: string;
}

export interface Run {
  id: string;
  repoId: string;
  blueprint: string;
  inputs: RunInputs;
  status: RunStatus;
  conclusion: RunConclusion | null;
  /** Why the run concluded as it did, in one line a person can read. */
  reason: string | null;
  attempt: number;
  priority: number;
  timeoutMs: number;
  baseRef: string | null;
  baseCommit: string | null;
  branch: string | null;
  trigger: string;
  author: string | null;
  /** The run this one continues (same branch, the agent's conversation resumed), if any. */
  continues: string | null;
  createdAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
  cancelRequestedAt: Date | null;
}

export interface Repo {
  id: string;
  name: string;
  /** Where the source lives: an absolute path or a URL git understands. */
  url: string;
  defaultBranch: string;
  createdAt: Date;
}

export interface DiffStat {
  files: number;
  insertions: number;
  deletions: number;
  perFile: { path: string; insertions: number; deletions: number }[];
}

export interface Change {
  id: string;
  runId: string;
  repoId: string;
  branch: string;
  baseCommit: string;
  headCommit: string;
  title: string;
  body: string;
  diffstat: DiffStat;
  diff: string;
  /** `local` for a branch pushed to a local repo; later `open`, `merged`, `closed` for PRs. */
  state: string;
  url: string | null;
  createdAt: Date;
}

/** Process exit code of `nightshift run` and friends by conclusion, documented in `--help`. */
export const EXIT_CODES: Record<RunConclusion, number> = {
  success: 0,
  no_changes: 0,
  failure: 10,
  cancelled: 11,
  timed_out: 12,
  policy_denied: 13,
  budget_exceeded: 14,
  error: 15,
};
