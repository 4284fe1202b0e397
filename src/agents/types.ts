import type { HarnessEvent } from '../core/events.ts';
import type { Sandbox } from '../sandbox/types.ts';

export interface HarnessContext {
  runId: string;
  /** The sandbox the agent works in; every command it runs goes through `sandbox.exec`. */
  sandbox: Sandbox;
  /** Environment the agent's processes get (model gateway URLs come here later). */
  env: Record<string, string>;
  /** `provider:model`, e.g. `anthropic:claude-sonnet-4-5`; each harness has its default. */
  model?: string;
  /**
   * The Unix socket of the run's model gateway, for harnesses that run on the host (the
   * built-in agent); undefined when no model provider is configured. Sandboxed programs use
   * the gateway URLs in `env` instead.
   */
  modelGatewaySocket?: string;
  /** Aborted when the run is cancelled or times out. */
  signal: AbortSignal;
}

/** One conversation with an agent, started by `Harness.start`. */
export interface HarnessSession {
  /** Normalized events until the agent finishes its turn (and every queued follow-up). */
  readonly events: AsyncIterable<HarnessEvent>;
  /**
   * Queues a message delivered when the current turn finishes, in order. Returns false (and
   * takes nothing) when the conversation has already ended or is stopping.
   */
  followUp(message: string, author: string | null): boolean;
  /** Halts the agent; the events stream ends soon after. */
  stop(by: string | null): Promise<void>;
}

/** The agent program driving a model inside the sandbox. Implementations live in `src/agents/<name>/`. */
export interface Harness {
  readonly name: string;
  /** Makes the agent program available in the sandbox; called once per run before `start`. */
  prepare?(context: HarnessContext): Promise<void>;
  start(prompt: string, context: HarnessContext): HarnessSession;
}
