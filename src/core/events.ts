import type { RunConclusion, RunStatus } from './run.ts';

/** Normalized events a harness emits; the agent step stores each as a run event. */
export type HarnessEvent =
  | { type: 'agent.message'; data: { text: string } }
  | { type: 'agent.tool_call'; data: { id: string; name: string; input: unknown } }
  | { type: 'agent.tool_result'; data: { id: string; output: string; isError?: boolean } }
  | { type: 'agent.file_change'; data: { path: string; kind: 'added' | 'modified' | 'deleted' } }
  | { type: 'agent.usage'; data: { inputTokens: number; outputTokens: number; model?: string } }
  | { type: 'agent.result'; data: { text: string } }
  | { type: 'agent.error'; data: { message: string } };

export type StepKind = 'run' | 'agent' | 'gate' | 'publish';

/** Everything that can happen in a run, as stored in `run_events`. */
export type RunEventPayload =
  | {
      type: 'run.created';
      data: { blueprint: string; repo: string; trigger: string; continues?: string | null };
    }
  /** The run's status changed; `running` also names the base commit and branch it works on. */
  | { type: 'run.status'; data: { status: RunStatus; baseCommit?: string; branch?: string } }
  | { type: 'run.attempt'; data: { attempt: number; reason: string } }
  | { type: 'run.cancel_requested'; data: { by: string | null } }
  /** Someone sent the live agent a message; it is delivered when the agent's turn ends. */
  | { type: 'run.follow_up_requested'; data: { message: string; by: string | null } }
  | { type: 'run.stop_requested'; data: { by: string | null } }
  /** The queued follow-up was handed to the agent (in `step`). */
  | { type: 'agent.follow_up'; data: { step: string; message: string; by: string | null } }
  /** The agent was halted on request; later agent steps and fix rounds are skipped. */
  | { type: 'agent.stopped'; data: { step: string | null; by: string | null } }
  | { type: 'run.completed'; data: { conclusion: RunConclusion; reason: string | null } }
  | { type: 'workspace.ready'; data: { baseCommit: string; ms: number; cached: boolean } }
  | { type: 'step.started'; data: { step: string; kind: StepKind; round?: number } }
  | { type: 'step.output'; data: { step: string; stream: 'stdout' | 'stderr'; text: string } }
  | {
      type: 'step.finished';
      data: {
        step: string;
        kind: StepKind;
        ok: boolean;
        exitCode?: number | null;
        ms: number;
        error?: string;
        /** True when the step had nothing to run (its command rendered empty). */
        skipped?: boolean;
      };
    }
  | { type: 'gate.failed'; data: { step: string; round: number; maxRounds: number; fixStep: string | null } }
  | {
      type: 'policy.applied';
      data: { files: { server: string | null; repo: string | null }; warnings: string[] };
    }
  | {
      type: 'policy.denied';
      data: { what: 'egress' | 'publish' | 'budget' | 'exec' | 'sub-run'; reason: string };
    }
  | {
      type: 'model.call';
      data: {
        /** The step that was running when the call was made (null before the first step). */
        step: string | null;
        provider: string;
        model: string;
        inputTokens: number;
        outputTokens: number;
        costUsd: number;
        status: number;
      };
    }
  | { type: 'change.created'; data: { changeId: string; branch: string; headCommit: string; files: number } }
  | HarnessEvent;

export type RunEventType = RunEventPayload['type'];

/** A stored event: numbered per run, from 1, with no gaps. */
export type RunEvent = RunEventPayload & { runId: string; seq: number; at: Date };

/** An event to append, with when it happened when that was before it is written (a batched write). */
export type TimedEventPayload = RunEventPayload & { at?: Date };
