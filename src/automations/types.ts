import type { SecretRef } from './schema.ts';

/** A cron trigger, normalized. */
export interface CronTrigger {
  kind: 'cron';
  cron: string;
  timezone: string;
  overlap: 'skip' | 'queue';
}

/** A generic webhook trigger, normalized. */
export interface WebhookTrigger {
  kind: 'webhook';
  webhook: string;
  secrets: SecretRef[];
  deliveryHeader: string;
  /** Template choosing a target from the payload; null means every target. */
  repo: string | null;
}

/** A Slack trigger: channel id → default target name. */
export interface SlackTrigger {
  kind: 'slack';
  channels: Record<string, string>;
}

export interface ManualTrigger {
  kind: 'manual';
}

export type AutomationTrigger = CronTrigger | WebhookTrigger | SlackTrigger | ManualTrigger;

export interface AutomationFilter {
  field: string;
  equals?: string | number | boolean;
  in?: (string | number | boolean)[];
  matches?: string;
}

/** An automation as Nightshift keeps it (the `spec` column of `automations`). */
export interface Automation {
  name: string;
  description: string;
  enabled: boolean;
  trigger: AutomationTrigger;
  filters: AutomationFilter[];
  /** Blueprint name or path; null picks `default` (prompt) or `script`. */
  blueprint: string | null;
  inputs: { prompt?: string; script?: string; values: Record<string, string> };
  targets: string[];
  /** A fleet spec file (absolute) applied on each fire instead of runs on `targets`; null for runs. */
  fleet: string | null;
  /** A swarm spec file (absolute) started on each fire instead of runs on `targets`; null for runs. */
  swarm: string | null;
  concurrency: number;
  /** The service account recorded as the author of its runs. */
  runAs: string;
  /** Where it came from: a file path, or `api`. */
  source: string;
  /** Directory relative blueprint paths and targets are resolved against. */
  cwd: string;
}

/** What fired an automation, recorded in `automation_fires.kind` and in the run's `trigger`. */
export type FireKind = 'cron' | 'webhook' | 'slack' | 'manual';

export const DEFAULT_DELIVERY_HEADER = 'X-Nightshift-Delivery';
