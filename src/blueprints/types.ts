import type { StepKind } from '../core/events.ts';

/**
 * The normalized blueprint the run executor walks: every default filled in, durations in
 * milliseconds, one `kind` per step. Text fields are templates (see `template.ts`), rendered
 * by the executor just before the step runs.
 */
export interface Blueprint {
  name: string;
  description: string;
  /** Wall-clock limit of the whole run; null leaves it to the run's own timeout. */
  timeoutMs: number | null;
  steps: BlueprintStep[];
  /** Where it came from: `builtin:default` or a file path. */
  source: string;
}

export type BlueprintStep = RunStep | AgentStep | GateStep | PublishStep;

/** Whether a blueprint has an agent step: only then do its runs take follow-ups and stops. */
export function hasAgentStep(blueprint: Blueprint): boolean {
  return blueprint.steps.some((step) => step.kind === 'agent');
}

interface StepBase {
  /** Unique within the blueprint; defaults to the kind, made unique like `run-2`. */
  id: string;
  kind: StepKind;
  /** Time limit of the step; null means only the run's limit applies. */
  timeoutMs: number | null;
  /** When true, a failure of this step is recorded and the run carries on. */
  continueOnError: boolean;
  /** Extra environment variables (values are templates). */
  env: Record<string, string>;
}

/**
 * Shell command(s) run with `sh -ec` in the sandbox. When the rendered command is empty or
 * only whitespace (an environment without setup commands), the executor skips the step.
 */
export interface RunStep extends StepBase {
  kind: 'run';
  command: string;
  /** Receives the environment's secrets (only setup steps should). */
  secrets: boolean;
}

/** An agent works on `prompt` in the sandbox; gates may send it failures with `fixPrompt`. */
export interface AgentStep extends StepBase {
  kind: 'agent';
  prompt: string;
  /** Prompt for a fix round; may use `{{gate.command}}`, `{{gate.output}}`, `{{gate.round}}`. */
  fixPrompt: string;
  /** Harness to use; null means the run's (or the configured default). */
  harness: string | null;
  /** Model to use; null means the harness's default. */
  model: string | null;
}

/**
 * A check: `command` runs with `sh -ec`; exit code 0 passes. On failure, when `fix` names an
 * agent step, that agent gets the failure (its `fixPrompt`) and the gate runs again, at most
 * `maxRounds` times; without `fix` the run fails at once. An empty rendered command (a repo
 * with no test command) skips the gate.
 */
export interface GateStep extends StepBase {
  kind: 'gate';
  command: string;
  /** Id of an earlier agent step, or null. */
  fix: string | null;
  maxRounds: number;
}

/** Hands the work back as a change. Always the last step; runs outside the sandbox. */
export interface PublishStep extends StepBase {
  kind: 'publish';
  title: string;
  body: string;
  /**
   * Set by fleets, not written in YAML: the branch must not exist unless Nightshift pushed it
   * (the push is leased on the head it pushed last, or on no branch at all).
   */
  lease?: boolean;
  /** Set by fleets with a rollout rate: the change is opened when the rollout allows it. */
  deferOpen?: boolean;
  /** Set by fleets with `change.draft`: a pull request is opened as a draft. */
  draft?: boolean;
  /** Set by swarms for their facets: the branch is pushed, no change is opened for it. */
  branchOnly?: boolean;
  /**
   * Set by swarms for their converge run: the change is one commit on this commit (the swarm's
   * base), holding the workspace's files, instead of a commit on the run's own base (the merges).
   */
  onto?: string;
}

/** Defaults filled in when a blueprint leaves them out. */
export const STEP_DEFAULTS = {
  agentPrompt: '{{prompt}}',
  fixPrompt: 'The check `{{gate.command}}` failed with this output:\n{{gate.output}}\nFix the problem.',
  maxRounds: 2,
  publishTitle: '{{prompt | firstline}}',
  publishBody: '{{prompt}}\n\n---\nMade by Nightshift run {{run.id}}.',
} as const;
