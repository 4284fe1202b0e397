/** Shapes of the Nightshift API as the dashboard reads them (see /openapi.json). */
export type RunStatus = 'queued' | 'provisioning' | 'running' | 'publishing' | 'completed';
export const STATUSES: RunStatus[] = ['queued', 'provisioning', 'running', 'publishing', 'completed'];
export const CONCLUSIONS = [
  'success',
  'failure',
  'no_changes',
  'cancelled',
  'timed_out',
  'policy_denied',
  'budget_exceeded',
  'error',
] as const;
export type RunConclusion = (typeof CONCLUSIONS)[number];

export interface Run {
  id: string;
  repoId: string;
  blueprint: string;
  inputs: { prompt?: string; script?: string; values?: Record<string, string> };
  status: RunStatus;
  conclusion: RunConclusion | null;
  reason: string | null;
  attempt: number;
  branch: string | null;
  trigger: string;
  author: string | null;
  continues: string | null;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
}

export interface Repo {
  id: string;
  name: string;
  url: string;
}

export interface Change {
  id: string;
  branch: string;
  headCommit: string;
  title: string;
  diffstat: { files: number; insertions: number; deletions: number };
  state: string;
  url: string | null;
}

export interface StepUsage {
  step: string;
  provider: string;
  model: string;
  calls: number;
  inputTokens: number;
  outputTokens: number;
  costUsd: number;
}

export interface RunDetails {
  run: Run;
  repo: Repo;
  change: Change | null;
  usage?: StepUsage[];
}

export interface RunEvent {
  runId: string;
  seq: number;
  at: string;
  type: string;
  // biome-ignore lint/suspicious/noExplicitAny: event data differs per type
  data: any;
}

export interface AuditEntry {
  seq: number;
  at: string;
  kind: string;
  run_id: string | null;
  actor: string | null;
  data: Record<string, unknown>;
}

export interface AuditVerification {
  ok: boolean;
  entries: number;
  head: { seq: number; hash: string } | null;
  firstBad?: { seq: number; problem: string; detail: string };
}

export interface UsageGroup {
  name: string;
  runs: number;
  tokens: number;
  costUsd: number;
}

export interface Insights {
  since: string;
  days: { day: string; counts: Record<string, number> }[];
  changes: { total: number; merged: number; mergedRate: number | null };
  medianMsToChange: number | null;
  byRepo: UsageGroup[];
  byAutomation: UsageGroup[];
  sandboxMinutes: number;
}

/** Fleets (branch feat/fleets: FleetStatus and FleetRepoRow). */
export type FleetRepoState =
  | 'pending'
  | 'queued'
  | 'running'
  | 'waiting'
  | 'succeeded'
  | 'no_changes'
  | 'failed'
  | 'cancelled';
export const FLEET_REPO_STATES: FleetRepoState[] = [
  'pending',
  'queued',
  'running',
  'waiting',
  'succeeded',
  'no_changes',
  'failed',
  'cancelled',
];
export interface Fleet {
  name: string;
  state: 'active' | 'paused' | 'cancelled';
  stateReason: string | null;
  createdAt: string;
  updatedAt: string;
}
export interface FleetStatus {
  fleet: Fleet;
  counts: Record<FleetRepoState, number>;
  total: number;
  failures: { reason: string; count: number; repos: string[] }[];
}
export interface FleetRepoRow {
  repo: string;
  branch: string;
  state: FleetRepoState;
  runId: string | null;
  conclusion: RunConclusion | null;
  reason: string | null;
  change: { state: string; url: string | null } | null;
}

/** Automations (branch feat/auto: AutomationView and AutomationFire). */
export interface AutomationView {
  automation: {
    name: string;
    description: string;
    enabled: boolean;
    trigger: { kind: string; cron?: string; timezone?: string; webhook?: string };
    targets: string[];
  };
  nextFireAt: string | null;
}
export interface AutomationFire {
  id: string;
  kind: string;
  slot: string | null;
  outcome: string;
  reason: string | null;
  runIds: string[];
  createdAt?: string;
}
